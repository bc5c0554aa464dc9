function Get-DicomGatewayUpstreamEndpoint {
    <#
    .SYNOPSIS
    The host and port the gateway connects to for uploads: its proxy when it has one, else the upstream.

    .DESCRIPTION
    Reads the upstream section of the configuration: the proxy URL, the STOW-RS URL, or the
    DICOM-TLS host and port. $null when no upstream is configured.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [AllowNull()]
        [object]$Config,

        [int]$DefaultPort = $script:DicomGatewayDefault.UpstreamPort
    )

    $upstream = Get-DicomGatewayConfigValue -Config $Config -Key 'upstream'
    if (-not $upstream) { return $null }

    $proxy = [string](Get-DicomGatewayConfigValue -Config $upstream -Key 'proxy')
    if ($proxy) {
        if ($proxy -notmatch '://') { $proxy = 'http://' + $proxy }
        $proxyUri = [uri]$proxy
        return [pscustomobject]@{ Host = $proxyUri.Host; Port = $proxyUri.Port; Via = ('proxy {0}' -f $proxy) }
    }
    $url = [string](Get-DicomGatewayConfigValue -Config $upstream -Key 'url')
    if ((Get-DicomGatewayConfigValue -Config $upstream -Key 'kind') -eq 'stow-rs' -or ($url -and -not (Get-DicomGatewayConfigValue -Config $upstream -Key 'host'))) {
        if (-not $url) { return $null }
        $uri = [uri]$url
        return [pscustomobject]@{ Host = $uri.Host; Port = $uri.Port; Via = ('STOW-RS {0}' -f $url) }
    }
    $hostName = [string](Get-DicomGatewayConfigValue -Config $upstream -Key 'host')
    if (-not $hostName) { return $null }
    [pscustomobject]@{
        Host = $hostName
        Port = [int](Get-DicomGatewayConfigValue -Config $upstream -Key 'port' -Default $DefaultPort)
        Via  = 'DICOM-TLS'
    }
}
