function Set-DicomGatewayAeTitle {
    <#
    .SYNOPSIS
    Changes the gateway's AE title: validates it, stops the agent, updates the configuration,
    restarts the agent and verifies with C-ECHO.

    .DESCRIPTION
    The procedure for an AE title entered wrongly at install, or changed by the cloud PACS:
    1. validates the new title (1 to 16 characters of the DICOM default repertoire, no
       backslash, no leading or trailing spaces); it is kept exactly as given, case included;
    2. stops the agent's service (orderly: "gateway stop" waits for the agent and its PostgreSQL);
    3. writes the title into <DataPath>\gateway.json, keeping everything else;
    4. starts the service again;
    5. sends C-ECHO to the agent with the new title as called AE ("gateway echo"), retrying
       while the agent starts, for up to -TimeoutSeconds.
    Returns two results: AeTitle (Changed, Previous) and DicomEcho (Pass when the agent
    answered, Fail when it did not). When the title is already the given one (compared
    case-sensitively) nothing is stopped or written and the AeTitle result says "No change".
    Remember to give the PACS and modalities the new title (or let them use GATEWAY).

    .PARAMETER AeTitle
    The new AE title, exactly as licensed.

    .PARAMETER InstallPath
    The install folder. Default: the recorded install's, else C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder, where gateway.json is. Default: the recorded install's, else C:\ProgramData\DicomGateway.

    .PARAMETER TimeoutSeconds
    How long to keep trying C-ECHO after the restart. Default 120.

    .PARAMETER EnableException
    Throw a terminating error when the title is invalid or a step fails, instead of a warning.

    .EXAMPLE
    Set-DicomGatewayAeTitle -AeTitle 'StMarysCT'

    Changes the AE title to StMarysCT (asks for confirmation first) and verifies it with C-ECHO.

    .EXAMPLE
    Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' -Confirm:$false | ConvertTo-Json

    The same without the confirmation prompt, as a deployment script or the agent's bridge runs it.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [AllowEmptyString()]
        [string]$AeTitle,

        [string]$InstallPath,

        [string]$DataPath,

        [ValidateRange(1, 3600)]
        [int]$TimeoutSeconds = 120,

        [switch]$EnableException
    )

    if (-not (Test-DgwWindows)) {
        Stop-DicomGatewayFunction -Message 'Set-DicomGatewayAeTitle runs on Windows only' -Category NotImplemented -EnableException:$EnableException
        return
    }
    $aeTitleProblem = Get-DicomGatewayAeTitleProblem -AeTitle $AeTitle
    if ($aeTitleProblem) {
        Stop-DicomGatewayFunction -Message ('Cannot change the AE title: {0}' -f $aeTitleProblem) -Category InvalidArgument -Target $AeTitle -EnableException:$EnableException
        return
    }
    $folders = Resolve-DicomGatewayFolder -InstallPath $InstallPath -DataPath $DataPath
    $layout = Get-DicomGatewayLayout -InstallPath $folders.InstallPath -DataPath $folders.DataPath
    $serviceName = $script:DicomGatewayDefault.ServiceName
    try {
        $config = Read-DicomGatewayConfig -Path $layout.ConfigFile
        if ($null -eq $config) { throw ('there is no configuration {0}; install the gateway first' -f $layout.ConfigFile) }
        if (-not (Get-DgwService -Name $serviceName)) {
            throw ('the service {0} is not registered; install the gateway first' -f $serviceName)
        }
    } catch {
        Stop-DicomGatewayFunction -Message 'Cannot change the AE title' -ErrorRecord $_ -Category ObjectNotFound -Target $layout.ConfigFile -EnableException:$EnableException
        return
    }
    $port = [int](Get-DicomGatewayConfigValue -Config $config -Key 'port' -Default $script:DicomGatewayDefault.Port)

    try {
        $result = Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $layout.ConfigFile `
            -Action ("change the AE title to '{0}' and restart the agent" -f $AeTitle) `
            -TestScript {
                $current = [string](Get-DicomGatewayConfigValue -Config (Read-DicomGatewayConfig -Path $layout.ConfigFile) -Key 'aeTitle')
                if ($current -ceq $AeTitle) {
                    New-DicomGatewayResult -Name 'AeTitle' -Status Pass -Detail ("The AE title is '{0}'" -f $current)
                } else {
                    New-DicomGatewayResult -Name 'AeTitle' -Status Fail -Detail ("The AE title is '{0}', not '{1}'" -f $current, $AeTitle)
                }
            } `
            -ChangeScript {
                $null = Stop-DicomGatewayAgent -Layout $layout
                $updated = Read-DicomGatewayConfig -Path $layout.ConfigFile
                Set-DicomGatewayConfigValue -Config $updated -Key 'aeTitle' -Value $AeTitle
                Write-DicomGatewayConfig -Path $layout.ConfigFile -Config $updated
                Start-DgwService -Name $serviceName
            }
    } catch {
        Stop-DicomGatewayFunction -Message ("Could not change the AE title to '{0}'" -f $AeTitle) -ErrorRecord $_ -Target $layout.ConfigFile -EnableException:$EnableException
        return
    }
    $result
    if (-not $result.Changed) { return }

    $echo = Wait-DicomGatewayEcho -Layout $layout -AeTitle $AeTitle -Port $port -TimeoutSeconds $TimeoutSeconds
    if ($echo.Succeeded) {
        New-DicomGatewayResult -Name 'DicomEcho' -Status Pass -Detail ("The agent answered C-ECHO for '{0}' on port {1}" -f $AeTitle, $port)
    } else {
        New-DicomGatewayResult -Name 'DicomEcho' -Status Fail -Detail ("The agent did not answer C-ECHO for '{0}' on port {1} within {2} s: {3}; see the logs in {4}" -f $AeTitle, $port, $TimeoutSeconds, $echo.Output, $layout.LogFolder)
    }
}
