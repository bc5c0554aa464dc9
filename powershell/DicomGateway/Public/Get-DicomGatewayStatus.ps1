function Get-DicomGatewayStatus {
    <#
    .SYNOPSIS
    Reads the running agent's status from its local API.

    .DESCRIPTION
    Asks http://127.0.0.1:<api.port>/api/status (api.port from <DataPath>\gateway.json, 4180
    when not set) and returns the agent's answer as an object: its state, queue, recent studies
    and connectivity as the agent reports them. The API listens on the loopback address only.
    When the agent does not answer, a warning (a terminating error with -EnableException).
    Works on any host where the agent runs.

    .PARAMETER DataPath
    The data folder, where gateway.json is. Default: the recorded install's, else C:\ProgramData\DicomGateway.

    .PARAMETER ApiPort
    The API port, instead of the one in the configuration.

    .PARAMETER EnableException
    Throw a terminating error when the agent does not answer, instead of a warning.

    .EXAMPLE
    Get-DicomGatewayStatus

    Shows the status of the agent installed with the default data folder.

    .EXAMPLE
    Get-DicomGatewayStatus -ApiPort 4181 -EnableException | ConvertTo-Json -Depth 6

    Reads an agent whose API listens on port 4181 and prints its status as JSON; throws if it is down.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [string]$DataPath,

        [ValidateRange(1, 65535)]
        [int]$ApiPort,

        [switch]$EnableException
    )

    $folders = Resolve-DicomGatewayFolder -DataPath $DataPath
    $layout = Get-DicomGatewayLayout -InstallPath $folders.InstallPath -DataPath $folders.DataPath
    if (-not $ApiPort) {
        try {
            $config = Read-DicomGatewayConfig -Path $layout.ConfigFile
        } catch {
            Stop-DicomGatewayFunction -Message 'Cannot find the API port' -ErrorRecord $_ -Category InvalidData -Target $layout.ConfigFile -EnableException:$EnableException
            return
        }
        $ApiPort = [int](Get-DicomGatewayConfigValue -Config $config -Key 'api.port' -Default $script:DicomGatewayDefault.ApiPort)
    }
    $uri = 'http://127.0.0.1:{0}/api/status' -f $ApiPort
    try {
        Invoke-DgwLocalApi -Uri $uri
    } catch {
        Stop-DicomGatewayFunction -Message ('The agent did not answer at {0}; is it running? Its logs are in {1}' -f $uri, $layout.LogFolder) -ErrorRecord $_ -Category ConnectionError -Target $uri -EnableException:$EnableException
        return
    }
}
