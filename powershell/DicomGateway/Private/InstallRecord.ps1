function Get-DicomGatewayInstallRecord {
    <#
    .SYNOPSIS
    The install this computer has, as Install-DicomGateway recorded it under HKLM: InstallPath, DataPath, Version; $null when none.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    $values = Get-DgwRegistryValue -Key $script:DicomGatewayDefault.RegistryKey
    if (-not $values -or -not $values['InstallPath'] -or -not $values['DataPath']) { return $null }
    [pscustomobject]@{ InstallPath = [string]$values['InstallPath']; DataPath = [string]$values['DataPath']; Version = [string]$values['Version'] }
}

function Resolve-DicomGatewayFolder {
    <#
    .SYNOPSIS
    The install and data folders to use: those given, else the recorded install's, else the defaults.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [string]$InstallPath,

        [string]$DataPath
    )

    $record = $null
    if (-not $InstallPath -or -not $DataPath) { $record = Get-DicomGatewayInstallRecord }
    if (-not $InstallPath) { $InstallPath = $(if ($record) { $record.InstallPath } else { $script:DicomGatewayDefault.InstallPath }) }
    if (-not $DataPath) { $DataPath = $(if ($record) { $record.DataPath } else { $script:DicomGatewayDefault.DataPath }) }
    [pscustomobject]@{ InstallPath = $InstallPath; DataPath = $DataPath }
}

function Get-DicomGatewayInstallRecordDefinition {
    <#
    .SYNOPSIS
    The registry values of an install: its record, and its entry in Programs and Features.

    .DESCRIPTION
    The entry's uninstall command imports the installed module and runs Uninstall-DicomGateway
    for these folders (it asks for confirmation; the quiet one does not), so it works whatever
    folders the install chose. The data folder is kept, as with every uninstall without -RemoveData.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout,

        [Parameter(Mandatory)]
        [string]$Version
    )

    $systemRoot = if ($env:SystemRoot) { $env:SystemRoot } else { 'C:\Windows' }
    $powershell = [System.IO.Path]::Combine($systemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe')
    $module = [System.IO.Path]::Combine($Layout.InstallPath, 'powershell', 'DicomGateway', 'DicomGateway.psd1')
    $command = "Import-Module '{0}'; Uninstall-DicomGateway -InstallPath '{1}' -DataPath '{2}'" -f $module, $Layout.InstallPath, $Layout.DataPath
    $uninstall = '"{0}" -NoProfile -ExecutionPolicy Bypass -Command "{1}"' -f $powershell, $command
    [pscustomobject]@{
        Record = @{ InstallPath = $Layout.InstallPath; DataPath = $Layout.DataPath; Version = $Version; ConfigFile = $Layout.ConfigFile }
        Entry  = @{
            DisplayName          = $script:DicomGatewayDefault.DisplayName
            DisplayVersion       = $Version
            Publisher            = $script:DicomGatewayDefault.Publisher
            InstallLocation      = $Layout.InstallPath
            DisplayIcon          = $Layout.Executable
            UninstallString      = $uninstall
            QuietUninstallString = '"{0}" -NoProfile -ExecutionPolicy Bypass -Command "{1} -Confirm:$false"' -f $powershell, $command
            NoModify             = 1
            NoRepair             = 1
        }
    }
}

function Test-DicomGatewayRegistryValue {
    <#
    .SYNOPSIS
    The names of the wanted values that the key lacks or holds otherwise (all of them when there is no key).
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param(
        [Parameter(Mandatory)]
        [string]$Key,

        [Parameter(Mandatory)]
        [hashtable]$Wanted
    )

    $existing = Get-DgwRegistryValue -Key $Key
    @($Wanted.Keys | Where-Object { -not $existing -or -not $existing.ContainsKey($_) -or [string]$existing[$_] -cne [string]$Wanted[$_] } | Sort-Object)
}
