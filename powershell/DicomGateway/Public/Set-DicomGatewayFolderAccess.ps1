function Set-DicomGatewayFolderAccess {
    <#
    .SYNOPSIS
    Creates the gateway's install, data and tray folders with their permissions, or sets them again.

    .DESCRIPTION
    Install folder: SYSTEM and Administrators full control, Users read and execute. Data folder:
    SYSTEM, Administrators and the agent's account NT SERVICE\DicomGateway only. Tray folder
    (<data>\tray): as the data folder, plus read for interactive users (the API port and token
    the tray needs). Inheritance is off for the install and data folders and every folder is
    owned by Administrators. When the data folder's permissions had to change, everything in it
    is given to Administrators and made to inherit again, so that no file keeps permissions of
    its own from before (an earlier version set none). An existing folder owned by someone else
    is refused (see Test-DicomGatewayPrerequisite, FolderOwner). Returns the three results with
    Changed and Previous; a second run changes nothing.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default C:\ProgramData\DicomGateway.

    .PARAMETER EnableException
    Throw a terminating error when a folder is refused or cannot be set, instead of a warning.

    .EXAMPLE
    Set-DicomGatewayFolderAccess

    Sets the permissions of the default folders.

    .EXAMPLE
    Set-DicomGatewayFolderAccess -DataPath 'D:\DicomGateway' -WhatIf

    Shows what would change for a data folder on D:, and changes nothing.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [switch]$EnableException
    )

    if (-not (Test-DgwWindows)) {
        Stop-DicomGatewayFunction -Message 'Set-DicomGatewayFolderAccess runs on Windows only' -Category NotImplemented -EnableException:$EnableException
        return
    }
    $definitions = @(Get-DicomGatewayFolderAccessDefinition -Layout (Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath))
    $installer = (Get-DgwCurrentIdentity).Sid
    foreach ($definition in $definitions) {
        $ownerProblem = Test-DicomGatewayFolderOwner -Path $definition.Path -Existing (Get-DgwFolderAccess -Path $definition.Path) -InstallerSid $installer
        if ($ownerProblem) {
            Stop-DicomGatewayFunction -Message ('Cannot set the permissions: {0}' -f $ownerProblem) -Category PermissionDenied -Target $definition.Path -EnableException:$EnableException
            return
        }
        try {
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $definition.Path -Action 'set the owner and permissions' `
                -TestScript { Test-DicomGatewayFolderAccessDefinition -Definition $definition } `
                -ChangeScript { Set-DgwFolderAccess -Definition $definition -ResetChildren:($definition.Name -eq 'DataFolderAccess') }
        } catch {
            Stop-DicomGatewayFunction -Message ('Could not set the permissions of {0}' -f $definition.Path) -ErrorRecord $_ -Target $definition.Path -EnableException:$EnableException
            return
        }
    }
}
