function Test-DicomGatewayHealth {
    <#
    .SYNOPSIS
    Checks that the installed agent works: it answers C-ECHO, its database is up and, with an upstream, the cloud answers.

    .DESCRIPTION
    What Install-DicomGateway waits for after it starts the agent, and what an admin runs to see
    whether a site is healthy. Results:
    - AgentEcho: the agent answers C-ECHO on its DICOM port for its AE title (tried until
      TimeoutSeconds have passed: the agent starts its PostgreSQL first).
    - AgentDatabase: its API (GET /api/status on 127.0.0.1) reports the database up, within the
      same time.
    - UpstreamConnectivity: "gateway test-connectivity" passes (DNS, TCP, TLS, C-ECHO or an
      authenticated request to the cloud); NotApplicable when no upstream is configured.
    The folders default to those the install recorded in the registry.

    .PARAMETER InstallPath
    The install folder. Default: the recorded one, else C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default: the recorded one, else C:\ProgramData\DicomGateway.

    .PARAMETER TimeoutSeconds
    How long the agent may take to answer C-ECHO and report its database up. Default 180.

    .EXAMPLE
    Test-DicomGatewayHealth

    Checks the installed agent: C-ECHO, database, cloud.

    .EXAMPLE
    Test-DicomGatewayHealth -TimeoutSeconds 5 | Where-Object Status -ne 'Pass'

    Shows only what is wrong now, without waiting for a starting agent.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [string]$InstallPath,

        [string]$DataPath,

        [ValidateRange(1, 3600)]
        [int]$TimeoutSeconds = $script:DicomGatewayDefault.HealthTimeout
    )

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'AgentEcho', 'AgentDatabase', 'UpstreamConnectivity'
    }
    $folders = Resolve-DicomGatewayFolder -InstallPath $InstallPath -DataPath $DataPath
    $layout = Get-DicomGatewayLayout -InstallPath $folders.InstallPath -DataPath $folders.DataPath
    $config = $null
    try { $config = Read-DicomGatewayConfig -Path $layout.ConfigFile } catch { $config = $null }
    if ($null -eq $config) {
        foreach ($name in 'AgentEcho', 'AgentDatabase', 'UpstreamConnectivity') {
            New-DicomGatewayResult -Name $name -Status Fail -Detail ('No readable configuration {0}' -f $layout.ConfigFile)
        }
        return
    }
    $aeTitle = [string](Get-DicomGatewayConfigValue -Config $config -Key 'aeTitle')
    $port = [int](Get-DicomGatewayConfigValue -Config $config -Key 'port' -Default $script:DicomGatewayDefault.Port)

    $echo = Wait-DicomGatewayEcho -Layout $layout -AeTitle $aeTitle -Port $port -TimeoutSeconds $TimeoutSeconds
    if ($echo.Succeeded) {
        New-DicomGatewayResult -Name 'AgentEcho' -Status Pass -Detail ("The agent answers C-ECHO for '{0}' on port {1}" -f $aeTitle, $port)
    } else {
        New-DicomGatewayResult -Name 'AgentEcho' -Status Fail -Detail ("No C-ECHO answer for '{0}' on port {1} after {2} attempts in {3} s: {4}; the agent's logs are in {5}" -f $aeTitle, $port, $echo.Attempts, $TimeoutSeconds, $echo.Output, $layout.LogFolder)
    }

    $apiPort = [int](Get-DicomGatewayConfigValue -Config $config -Key 'api.port' -Default $script:DicomGatewayDefault.ApiPort)
    $uri = 'http://127.0.0.1:{0}/api/status' -f $apiPort
    $problem = ''
    $status = $null
    # Counted attempts, not a clock: the echo above may already have used the time of a slow start.
    $attempts = [Math]::Max(1, [int][Math]::Ceiling($TimeoutSeconds / 2.0))
    for ($attempt = 1; $attempt -le $attempts; $attempt++) {
        try {
            $status = Invoke-DgwLocalApi -Uri $uri
            $problem = $(if ($status.database.ok) { '' } else { 'the API reports the database down: {0}' -f $status.database.error })
        } catch {
            $problem = 'the API at {0} does not answer: {1}' -f $uri, $_.Exception.Message
        }
        if (-not $problem) { break }
        if ($attempt -lt $attempts) { Start-Sleep -Seconds 2 }
    }
    if ($problem) {
        New-DicomGatewayResult -Name 'AgentDatabase' -Status Fail -Detail ('{0}; the logs are in {1}' -f $problem, $layout.LogFolder)
    } else {
        New-DicomGatewayResult -Name 'AgentDatabase' -Status Pass -Detail ('Agent {0} reports its database up ({1})' -f $status.version, $uri)
    }

    if (-not (Get-DicomGatewayConfigValue -Config $config -Key 'upstream')) {
        New-DicomGatewayResult -Name 'UpstreamConnectivity' -Status NotApplicable -Detail ('{0} has no upstream (installed with -NoUpstream): nothing is uploaded' -f $layout.ConfigFile)
        return
    }
    $run = Invoke-DgwGatewayCli -ExecutablePath $layout.Executable -ArgumentList @('test-connectivity', '--json', '--config', $layout.ConfigFile)
    if ($run.ExitCode -eq 0) {
        New-DicomGatewayResult -Name 'UpstreamConnectivity' -Status Pass -Detail 'gateway test-connectivity passed: the cloud answers'
    } else {
        $report = @($run.Output, $run.ErrorOutput | Where-Object { $_ }) -join ' '
        if ($report.Length -gt 500) { $report = $report.Substring(0, 500) + '...' }
        New-DicomGatewayResult -Name 'UpstreamConnectivity' -Status Fail -Detail ('gateway test-connectivity exited with {0}: {1}' -f $run.ExitCode, $report)
    }
}
