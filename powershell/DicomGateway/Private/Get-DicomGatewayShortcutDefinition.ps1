function Get-DicomGatewayShortcutDefinition {
    <#
    .SYNOPSIS
    The Start-menu shortcut of every user: the tray, carrying the AppUserModelID its toasts use.

    .DESCRIPTION
    AppUserModelId must equal the appID tray/notifications.ts gives node-notifier ('DICOM Gateway').
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout
    )

    $programData = if ($env:ProgramData) { $env:ProgramData } else { 'C:\ProgramData' }
    [pscustomobject]@{
        Path             = [System.IO.Path]::Combine($programData, 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'DICOM Gateway.lnk')
        Target           = $Layout.TrayExecutable
        Arguments        = 'tray --data-dir "{0}"' -f $Layout.DataPath
        WorkingDirectory = $Layout.InstallPath
        Description      = 'DICOM Gateway: state, connectivity test, status page and logs'
        AppUserModelId   = 'DICOM Gateway'
    }
}
