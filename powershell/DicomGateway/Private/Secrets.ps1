# The secrets the configuration may hold, kept out of gateway.json in <data>\secrets.json instead:
# { "format": 1, "protection": "dpapi-machine", "values": { "<name>": "<base64 DPAPI blob>" } }.
# The agent reads the same file (agent/config/secrets.ts).

function Get-DicomGatewayConfigSecret {
    <#
    .SYNOPSIS
    The secrets written in clear in a configuration, by name: upstream.token, upstream.proxyPassword and
    database.password (the password in database.url).
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [AllowNull()]
        [object]$Config
    )

    $found = @{}
    $token = [string](Get-DicomGatewayConfigValue -Config $Config -Key 'upstream.token')
    if ($token) { $found['upstream.token'] = $token }
    $proxy = [string](Get-DicomGatewayConfigValue -Config $Config -Key 'upstream.proxy')
    if ($proxy -match '^(?<scheme>[a-z]+://)(?<user>[^:@/]*):(?<password>[^@/]*)@') {
        $found['upstream.proxyPassword'] = [System.Uri]::UnescapeDataString($Matches.password)
    }
    $database = [string](Get-DicomGatewayConfigValue -Config $Config -Key 'database.url')
    if ($database -match '^(?<scheme>[a-z]+://)(?<user>[^:@/]*):(?<password>[^@/]*)@') {
        $found['database.password'] = [System.Uri]::UnescapeDataString($Matches.password)
    }
    $found
}

function Remove-DicomGatewayConfigSecret {
    <#
    .SYNOPSIS
    Takes the secrets out of a configuration object, in place: the token goes, the proxy and database URLs keep
    their user names.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Config
    )

    $upstream = Get-DicomGatewayConfigValue -Config $Config -Key 'upstream'
    if ($null -ne $upstream -and $upstream.PSObject.Properties['token']) { $upstream.PSObject.Properties.Remove('token') }
    foreach ($section in @($upstream, (Get-DicomGatewayConfigValue -Config $Config -Key 'database'))) {
        if ($null -eq $section) { continue }
        foreach ($key in 'proxy', 'url') {
            $url = $section.PSObject.Properties[$key]
            if ($url -and [string]$url.Value -match '^([a-z]+://[^:@/]*):[^@/]*@') {
                $url.Value = [string]$url.Value -replace '^([a-z]+://[^:@/]*):[^@/]*@', '$1@'
            }
        }
    }
}

function Read-DicomGatewaySecretStore {
    <#
    .SYNOPSIS
    The secrets in <data>\secrets.json, opened, by name; empty when there is no file.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    $values = @{}
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $values }
    $store = [System.IO.File]::ReadAllText($Path) | ConvertFrom-Json
    if ($store.protection -ne 'dpapi-machine') { throw ('{0} is protected as "{1}", not dpapi-machine' -f $Path, $store.protection) }
    foreach ($property in $store.values.PSObject.Properties) {
        $values[$property.Name] = Unprotect-DgwSecret -Name $property.Name -Protected ([string]$property.Value)
    }
    $values
}

function Write-DicomGatewaySecretStore {
    <#
    .SYNOPSIS
    Writes the secrets, each protected with DPAPI, to <data>\secrets.json (replacing it whole).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Path,

        [Parameter(Mandatory)]
        [hashtable]$Values
    )

    $protected = [ordered]@{}
    foreach ($name in @($Values.Keys | Sort-Object)) { $protected[$name] = Protect-DgwSecret -Name $name -Value $Values[$name] }
    $json = [pscustomobject]@{ format = 1; protection = 'dpapi-machine'; values = [pscustomobject]$protected } | ConvertTo-Json -Depth 4
    [System.IO.File]::WriteAllText($Path, $json, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
}
