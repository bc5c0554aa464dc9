function Start-DicomGatewayInstalledAgent {
    <#
    .SYNOPSIS
    Install's AgentRunning step: (re)starts the service when it is not running or State.RestartAgent asks.

    .DESCRIPTION
    When the service cannot be started now the result is Warn: it starts at the next boot.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]$Cmdlet,

        [Parameter(Mandatory)]
        [object]$Service,

        [Parameter(Mandatory)]
        [object]$Layout,

        [Parameter(Mandatory)]
        [hashtable]$State
    )

    try {
        Invoke-DicomGatewayChange -Cmdlet $Cmdlet -Target ('service {0}' -f $Service.ServiceName) -Action 'start the agent' `
            -TestScript {
                $registered = Get-DgwService -Name $Service.ServiceName
                if (-not $registered) {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Fail -Detail ('The service {0} is not registered' -f $Service.ServiceName)
                } elseif ($registered.State -ne 'Running') {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Fail -Detail ('The agent is not running (service {0} is {1}); its logs are in {2}' -f $Service.ServiceName, $registered.State, $Layout.LogFolder)
                } elseif ($State.RestartAgent) {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Fail -Detail 'The agent runs with the previous files, configuration or registration'
                } else {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Pass -Detail ('The agent is running (service {0})' -f $Service.ServiceName)
                }
            } `
            -ChangeScript {
                $null = Stop-DicomGatewayAgent -Layout $Layout
                Start-DgwService -Name $Service.ServiceName
                $State.RestartAgent = $false
            }
    } catch {
        New-DicomGatewayResult -Name 'AgentRunning' -Status Warn -Changed $false -Previous '' `
            -Detail ('The agent could not be started now ({0}); the service starts it at the next boot' -f $_.Exception.Message)
    }
}

function Undo-DicomGatewayUpgrade {
    <#
    .SYNOPSIS
    Puts the previous version's files back after an upgraded agent did not come up healthy, and restarts it.

    .DESCRIPTION
    The configuration and the data stay as they are. Returns the Rollback result, a Fail in any
    case: the upgrade did not happen, and Intune must report it.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout,

        [Parameter(Mandatory)]
        [object]$Service,

        [Parameter(Mandatory)]
        [object]$Backup,

        [Parameter(Mandatory)]
        [string]$NewVersion,

        [Parameter(Mandatory)]
        [string]$Reason
    )

    $previous = $(if ($Backup.Version) { $Backup.Version } else { 'the previous version' })
    try {
        $null = Stop-DicomGatewayAgent -Layout $Layout
        Restore-DicomGatewayPackageFile -Layout $Layout -Backup $Backup
        if ($Backup.Version) {
            Set-DgwRegistryValue -Key $script:DicomGatewayDefault.RegistryKey -Values @{ Version = $Backup.Version }
            Set-DgwRegistryValue -Key $script:DicomGatewayDefault.UninstallKey -Values @{ DisplayVersion = $Backup.Version }
        }
        Start-DgwService -Name $Service.ServiceName
        Remove-Item -LiteralPath $Backup.Folder -Recurse -Force -ErrorAction SilentlyContinue
        $detail = 'The agent {0} failed {1}: the files of {2} are back in {3} and the agent restarted; configuration and data kept' -f $NewVersion, $Reason, $previous, $Layout.InstallPath
    } catch {
        $detail = 'The agent {0} failed {1}, and putting back {2} from {3} failed too: {4}' -f $NewVersion, $Reason, $previous, $Backup.Folder, $_.Exception.Message
    }
    New-DicomGatewayResult -Name 'Rollback' -Status Fail -Changed $true -Previous ('version {0}' -f $NewVersion) -Detail $detail
}
