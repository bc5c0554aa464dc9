function Test-DicomGatewayConnectivity {
    <#
    .SYNOPSIS
    Checks that the gateway can reach its upstream: DNS, TCP, then the gateway's own connectivity test.

    .DESCRIPTION
    Returns three results:
    - UpstreamDns: the upstream host name resolves.
    - UpstreamTcp: a TCP connection to the upstream port (443 by default) opens, so the firewall
      lets the gateway out.
    - GatewayConnectivityTest: "gateway test-connectivity --json" succeeds (TLS, certificates,
      credentials and a DICOM or HTTP round trip). NotApplicable while the gateway is not installed.
    The upstream comes from the configuration (<DataPath>\gateway.json); with a proxy configured,
    the proxy is what DNS and TCP are tested against. Give -ComputerName to test a host before the
    gateway is configured. Off Windows every result is NotApplicable.

    .PARAMETER ComputerName
    Upstream host to test instead of the configured one.

    .PARAMETER Port
    TCP port on ComputerName. Default 443. The configured upstream brings its own port.

    .PARAMETER InstallPath
    The install folder, where gateway.exe is. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder, where gateway.json is. Default C:\ProgramData\DicomGateway.

    .PARAMETER TimeoutSeconds
    How long to wait for the TCP connection. Default 5.

    .EXAMPLE
    Test-DicomGatewayConnectivity

    Tests the upstream of the installed gateway and runs its connectivity test.

    .EXAMPLE
    Test-DicomGatewayConnectivity -ComputerName 'upload.example-cloud-pacs.com'

    Before installing: checks that the cloud's host resolves and that TCP 443 to it is allowed.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [string]$ComputerName,

        [ValidateRange(1, 65535)]
        [int]$Port = $script:DicomGatewayDefault.UpstreamPort,

        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [ValidateRange(1, 300)]
        [int]$TimeoutSeconds = 5
    )

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'UpstreamDns', 'UpstreamTcp', 'GatewayConnectivityTest'
    }
    $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath

    $endpoint = $null
    $noEndpoint = ''
    if ($ComputerName) {
        $endpoint = [pscustomobject]@{ Host = $ComputerName; Port = $Port; Via = 'given host' }
    } else {
        try {
            $endpoint = Get-DicomGatewayUpstreamEndpoint -Config (Read-DicomGatewayConfig -Path $layout.ConfigFile)
            if (-not $endpoint) { $noEndpoint = 'No upstream is configured in {0}; give -ComputerName to test a host' -f $layout.ConfigFile }
        } catch {
            $noEndpoint = $_.Exception.Message
        }
    }

    $resolved = $false
    if (-not $endpoint) {
        New-DicomGatewayResult -Name 'UpstreamDns' -Status Fail -Detail $noEndpoint
        New-DicomGatewayResult -Name 'UpstreamTcp' -Status Fail -Detail $noEndpoint
    } else {
        $parsedAddress = $null
        if ($endpoint.Host -match '^[\d.]+$|:' -and [System.Net.IPAddress]::TryParse($endpoint.Host, [ref]$parsedAddress)) {
            $resolved = $true
            New-DicomGatewayResult -Name 'UpstreamDns' -Status Pass -Detail ('{0} ({1}) is an IP address; no DNS needed' -f $endpoint.Host, $endpoint.Via)
        } else {
            try {
                $addresses = @(Resolve-DgwHostName -Name $endpoint.Host)
                $resolved = $addresses.Count -gt 0
                if ($resolved) {
                    New-DicomGatewayResult -Name 'UpstreamDns' -Status Pass -Detail ('{0} ({1}) resolves to {2}' -f $endpoint.Host, $endpoint.Via, ($addresses -join ', '))
                } else {
                    New-DicomGatewayResult -Name 'UpstreamDns' -Status Fail -Detail ('{0} ({1}) resolves to no address' -f $endpoint.Host, $endpoint.Via)
                }
            } catch {
                New-DicomGatewayResult -Name 'UpstreamDns' -Status Fail -Detail ('{0} ({1}) does not resolve: {2}' -f $endpoint.Host, $endpoint.Via, $_.Exception.Message)
            }
        }
        if (-not $resolved) {
            New-DicomGatewayResult -Name 'UpstreamTcp' -Status Fail -Detail ('Not tried: {0} does not resolve' -f $endpoint.Host)
        } else {
            $connection = Test-DgwTcpConnection -ComputerName $endpoint.Host -Port $endpoint.Port -TimeoutMilliseconds ($TimeoutSeconds * 1000)
            if ($connection.Connected) {
                New-DicomGatewayResult -Name 'UpstreamTcp' -Status Pass -Detail ('TCP connection to {0}:{1} opened' -f $endpoint.Host, $endpoint.Port)
            } else {
                New-DicomGatewayResult -Name 'UpstreamTcp' -Status Fail -Detail ('TCP connection to {0}:{1} failed: {2}; check that the firewall lets this computer out' -f $endpoint.Host, $endpoint.Port, $connection.Error)
            }
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'GatewayConnectivityTest' -CheckScript {
        if (-not (Test-Path -LiteralPath $layout.Executable -PathType Leaf)) {
            New-DicomGatewayResult -Name 'GatewayConnectivityTest' -Status NotApplicable -Detail ('The gateway is not installed ({0} not found)' -f $layout.Executable)
            return
        }
        $run = Invoke-DgwGatewayCli -ExecutablePath $layout.Executable -ArgumentList @('test-connectivity', '--json', '--config', $layout.ConfigFile)
        $report = $run.Output
        try { $report = $run.Output | ConvertFrom-Json | ConvertTo-Json -Compress -Depth 4 } catch { $report = $run.Output }
        if (-not $report) { $report = $run.ErrorOutput }
        if ($report.Length -gt 500) { $report = $report.Substring(0, 500) + '...' }
        $status = if ($run.ExitCode -eq 0) { 'Pass' } else { 'Fail' }
        New-DicomGatewayResult -Name 'GatewayConnectivityTest' -Status $status -Detail ('gateway test-connectivity exited with {0}: {1}' -f $run.ExitCode, $report)
    }
}
