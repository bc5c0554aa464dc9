# A site's settings (site file or Install-DicomGateway's parameters), checked whole before an
# install changes anything. The site file has the keys of $script:DicomGatewaySiteKeys; the
# upstream section is gateway.json's, plus proxyPassword; relative certificate paths are read
# from the site file's folder.

$script:DicomGatewaySiteKeys = @('aeTitle', 'port', 'installPath', 'dataPath', 'remoteAddresses', 'restrictReceiverToRemoteAddresses', 'upstream', 'noUpstream')
$script:DicomGatewayUpstreamKeys = @('kind', 'host', 'port', 'calledAeTitle', 'url', 'caFile', 'certFile', 'keyFile', 'token', 'proxy', 'proxyPassword', 'storageCommitment')
# Certificates are copied into <data>\certs under these names, so gateway.json never points outside the protected folder.
$script:DicomGatewayCertificateNames = [ordered]@{ caFile = 'upstream-ca.pem'; certFile = 'upstream-cert.pem'; keyFile = 'upstream-key.pem' }

function Read-DicomGatewaySiteFile {
    <#
    .SYNOPSIS
    The site file as a dictionary of its settings, and the folder its relative paths start from.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { throw ('the site file {0} does not exist' -f $Path) }
    $fullPath = (Resolve-Path -LiteralPath $Path).ProviderPath
    try {
        $parsed = [System.IO.File]::ReadAllText($fullPath) | ConvertFrom-Json
    } catch {
        throw ('the site file {0} is not valid JSON: {1}' -f $Path, $_.Exception.Message)
    }
    $settings = @{}
    foreach ($property in $parsed.PSObject.Properties) { $settings[$property.Name] = $property.Value }
    [pscustomobject]@{ Settings = $settings; BaseFolder = (Split-Path -Path $fullPath -Parent) }
}

function ConvertTo-DicomGatewaySite {
    <#
    .SYNOPSIS
    Checks a site's settings and returns them ready to install, or throws naming every problem.

    .DESCRIPTION
    Settings is a dictionary with the site file's keys (values may be $null = not given).
    Returns AeTitle, Port, InstallPath, DataPath, RemoteAddress (or $null), RestrictReceiver,
    NoUpstream, Upstream (gateway.json's upstream section without secrets, its certificates
    pointing at their copies in DataPath\certs; $null when not given), Certificates (copy name
    -> source file) and Secrets (name -> value).
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary]$Settings,

        [Parameter(Mandatory)]
        [string]$BaseFolder,

        [Parameter(Mandatory)]
        [string]$DataPath
    )

    $problems = New-Object System.Collections.Generic.List[string]
    foreach ($key in @($Settings.Keys | Where-Object { $script:DicomGatewaySiteKeys -cnotcontains $_ })) {
        $problems.Add(('unknown setting "{0}" (known: {1})' -f $key, ($script:DicomGatewaySiteKeys -join ', ')))
    }
    $aeTitle = [string]$Settings['aeTitle']
    $aeTitleProblem = Get-DicomGatewayAeTitleProblem -AeTitle $aeTitle
    if ($aeTitleProblem) { $problems.Add(('aeTitle: {0}' -f $aeTitleProblem)) }
    $port = $script:DicomGatewayDefault.Port
    if ($null -ne $Settings['port']) {
        $port = $Settings['port'] -as [int]
        if ($null -eq $port -or $port -lt 1 -or $port -gt 65535) { $problems.Add(('port "{0}" is not a TCP port (1-65535)' -f $Settings['port'])) }
    }
    $remoteAddress = $null
    if ($null -ne $Settings['remoteAddresses']) {
        $remoteAddress = @(@($Settings['remoteAddresses']) | ForEach-Object { ([string]$_).Split(',') } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        try { $null = ConvertTo-DicomGatewayFirewallAddress -Address $remoteAddress } catch { $problems.Add(('remoteAddresses: {0}' -f $_.Exception.Message)) }
    }
    $restrictReceiver = [bool]$Settings['restrictReceiverToRemoteAddresses']
    if ($restrictReceiver) {
        $notAddress = @(@($remoteAddress) | Where-Object { -not (Test-DicomGatewayAddressOrCidr -Address $_) })
        if ($null -eq $remoteAddress -or $notAddress.Count -gt 0) {
            $problems.Add(('restrictReceiverToRemoteAddresses needs remoteAddresses made of IP addresses and subnets (a.b.c.d/nn) only; not: {0}' -f $(if ($null -eq $remoteAddress) { '(none given)' } else { $notAddress -join ', ' })))
        }
    }
    $noUpstream = [bool]$Settings['noUpstream']

    $upstream = $null
    $certificates = [ordered]@{}
    $secrets = @{}
    if ($null -ne $Settings['upstream']) {
        $given = @{}
        if ($Settings['upstream'] -is [System.Collections.IDictionary]) {
            foreach ($key in $Settings['upstream'].Keys) { $given[[string]$key] = $Settings['upstream'][$key] }
        } else {
            foreach ($property in $Settings['upstream'].PSObject.Properties) { $given[$property.Name] = $property.Value }
        }
        foreach ($key in @($given.Keys | Where-Object { $script:DicomGatewayUpstreamKeys -cnotcontains $_ })) {
            $problems.Add(('unknown upstream setting "{0}" (known: {1})' -f $key, ($script:DicomGatewayUpstreamKeys -join ', ')))
        }
        $upstream = [ordered]@{ kind = [string]$given['kind'] }
        if ($upstream.kind -eq 'dicom-tls') {
            if (-not $given['host']) { $problems.Add('upstream.host is needed for dicom-tls') } else { $upstream.host = [string]$given['host'] }
            $upstreamPort = $given['port'] -as [int]
            if ($null -eq $upstreamPort -or $upstreamPort -lt 1 -or $upstreamPort -gt 65535) { $problems.Add(('upstream.port "{0}" is not a TCP port (1-65535)' -f $given['port'])) } else { $upstream.port = $upstreamPort }
            $calledProblem = Get-DicomGatewayAeTitleProblem -AeTitle ([string]$given['calledAeTitle'])
            if ($calledProblem) { $problems.Add(('upstream.calledAeTitle: {0}' -f $calledProblem)) } else { $upstream.calledAeTitle = [string]$given['calledAeTitle'] }
        } elseif ($upstream.kind -eq 'stow-rs') {
            if ([string]$given['url'] -notmatch '^https://[^/\s]+') { $problems.Add(('upstream.url "{0}" is not an https:// URL (the STOW-RS base)' -f $given['url'])) } else { $upstream.url = [string]$given['url'] }
        } else {
            $problems.Add(('upstream.kind must be dicom-tls or stow-rs (got "{0}")' -f $given['kind']))
        }
        foreach ($key in $script:DicomGatewayCertificateNames.Keys) {
            if (-not $given[$key]) { continue }
            $source = [string]$given[$key]
            if (-not [System.IO.Path]::IsPathRooted($source)) { $source = [System.IO.Path]::Combine($BaseFolder, $source) }
            if (-not (Test-Path -LiteralPath $source -PathType Leaf)) {
                $problems.Add(('upstream.{0}: the file {1} does not exist' -f $key, $source))
                continue
            }
            $certificates[$script:DicomGatewayCertificateNames[$key]] = $source
            $upstream[$key] = [System.IO.Path]::Combine($DataPath, 'certs', $script:DicomGatewayCertificateNames[$key])
        }
        if ([bool]$given['certFile'] -ne [bool]$given['keyFile']) { $problems.Add('upstream.certFile and upstream.keyFile go together') }
        if ($given['proxy']) {
            $proxy = [string]$given['proxy']
            if ($proxy -notmatch '^https?://[^/\s]+:\d+/?$') { $problems.Add(('upstream.proxy "{0}" is not http://[user[:password]@]host:port' -f ($proxy -replace ':[^:@/]*@', ':***@'))) }
            $inline = Get-DicomGatewayConfigSecret -Config ([pscustomobject]@{ upstream = [pscustomobject]@{ proxy = $proxy } })
            if ($inline.ContainsKey('upstream.proxyPassword')) {
                $secrets['upstream.proxyPassword'] = $inline['upstream.proxyPassword']
                $proxy = $proxy -replace '^([a-z]+://[^:@/]*):[^@/]*@', '$1@'
            }
            $upstream.proxy = $proxy
        }
        if ($given['proxyPassword']) {
            if ([string]$given['proxy'] -notmatch '://[^:@/]+(:[^@/]*)?@') { $problems.Add('upstream.proxyPassword needs a user name in upstream.proxy (http://user@host:port)') }
            $secrets['upstream.proxyPassword'] = [string]$given['proxyPassword']
        }
        if ($given['token']) {
            if ($upstream.kind -ne 'stow-rs') { $problems.Add('upstream.token is for stow-rs only') }
            $secrets['upstream.token'] = [string]$given['token']
        }
        if ($null -ne $given['storageCommitment']) { $upstream.storageCommitment = [bool]$given['storageCommitment'] }
        if ($noUpstream) { $problems.Add('noUpstream and an upstream were both given') }
        $upstream = [pscustomobject]$upstream
    }
    if ($problems.Count -gt 0) { throw ('the site settings are not valid: {0}' -f ($problems -join '; ')) }

    [pscustomobject]@{
        AeTitle          = $aeTitle
        Port             = $port
        InstallPath      = [string]$Settings['installPath']
        DataPath         = [string]$Settings['dataPath']
        RemoteAddress    = $remoteAddress
        RestrictReceiver = $restrictReceiver
        NoUpstream       = $noUpstream
        Upstream         = $upstream
        Certificates     = $certificates
        Secrets          = $secrets
    }
}

function Test-DicomGatewayAddressOrCidr {
    <#
    .SYNOPSIS
    Whether an entry is an IP address or a CIDR block, as the agent's allowedSourceAddresses takes.
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param(
        [Parameter(Mandatory)]
        [string]$Address
    )

    $parts = $Address.Split('/')
    if ($parts.Count -gt 2) { return $false }
    $ip = $null
    if (-not [System.Net.IPAddress]::TryParse($parts[0], [ref]$ip)) { return $false }
    if ($parts.Count -eq 1) { return $true }
    $bits = $parts[1] -as [int]
    $maximum = if ($ip.AddressFamily -eq 'InterNetworkV6') { 128 } else { 32 }
    ($parts[1] -match '^\d+$') -and $bits -le $maximum
}
