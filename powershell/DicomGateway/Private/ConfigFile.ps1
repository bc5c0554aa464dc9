function Read-DicomGatewayConfig {
    <#
    .SYNOPSIS
    The gateway's JSON configuration as an object, or $null when the file does not exist.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $null }
    $text = [System.IO.File]::ReadAllText((Resolve-Path -LiteralPath $Path).ProviderPath)
    try {
        $text | ConvertFrom-Json
    } catch {
        throw ('The configuration {0} is not valid JSON: {1}' -f $Path, $_.Exception.Message)
    }
}

function ConvertTo-DicomGatewayConfigJson {
    <#
    .SYNOPSIS
    The configuration object as the JSON text written to gateway.json (also used to compare two).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [object]$Config
    )

    $Config | ConvertTo-Json -Depth 20
}

function Write-DicomGatewayConfig {
    <#
    .SYNOPSIS
    Writes the configuration as UTF-8 without a byte order mark (Node's JSON.parse refuses one).
    Callers have already asked ShouldProcess.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Path,

        [Parameter(Mandatory)]
        [object]$Config
    )

    $fullPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
    $folder = Split-Path -Path $fullPath -Parent
    if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -Path $folder -ItemType Directory -Force }
    $json = ConvertTo-DicomGatewayConfigJson -Config $Config
    [System.IO.File]::WriteAllText($fullPath, $json, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
}

function Get-DicomGatewayConfigValue {
    <#
    .SYNOPSIS
    One value of the configuration ('api.port' for a nested one), or the default when it is absent.
    #>
    [CmdletBinding()]
    param(
        [AllowNull()]
        [object]$Config,

        [Parameter(Mandatory)]
        [string]$Key,

        [object]$Default
    )

    $value = $Config
    foreach ($part in $Key.Split('.')) {
        if ($null -eq $value) { break }
        $property = $value.PSObject.Properties[$part]
        if ($null -eq $property) { $value = $null } else { $value = $property.Value }
    }
    if ($null -eq $value) { return $Default }
    return $value
}

function New-DicomGatewayConfig {
    <#
    .SYNOPSIS
    The configuration to write: the existing one (else the template, else an empty one) with the
    site's settings, and no secret.

    .DESCRIPTION
    Sets the AE title exactly as given, the port, the data folder, the firewall's remote
    addresses (firewall.remoteAddresses, read by the later checks), the upstream when the site
    gives one, and allowedSourceAddresses when RestrictReceiver. Secrets (the cloud token, the
    proxy password) go to the protected store instead (Write-DicomGatewaySecretStore).
    Everything else (compression rules, database) is kept as the site has it. Values are
    replaced in place so that an unchanged file serializes to the same text.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [AllowNull()]
        [object]$Existing,

        [AllowNull()]
        [object]$Template,

        [Parameter(Mandatory)]
        [string]$AeTitle,

        [Parameter(Mandatory)]
        [int]$Port,

        [Parameter(Mandatory)]
        [string]$DataPath,

        [AllowNull()]
        [object]$Upstream,

        [string[]]$RemoteAddress = $script:DicomGatewayDefault.RemoteAddress,

        [bool]$RestrictReceiver
    )

    $base = $Existing
    if ($null -eq $base) { $base = $Template }
    if ($null -eq $base) {
        $config = New-Object -TypeName psobject
    } else {
        $config = ConvertTo-DicomGatewayConfigJson -Config $base | ConvertFrom-Json
    }
    Set-DicomGatewayConfigValue -Config $config -Key 'aeTitle' -Value $AeTitle
    Set-DicomGatewayConfigValue -Config $config -Key 'port' -Value $Port
    Set-DicomGatewayConfigValue -Config $config -Key 'dataDir' -Value $DataPath
    if ($null -ne $Upstream) { Set-DicomGatewayConfigValue -Config $config -Key 'upstream' -Value ($Upstream | ConvertTo-Json -Depth 5 | ConvertFrom-Json) }
    Set-DicomGatewayConfigValue -Config $config -Key 'firewall' -Value ([pscustomobject]@{ remoteAddresses = @($RemoteAddress) })
    if ($RestrictReceiver) { Set-DicomGatewayConfigValue -Config $config -Key 'allowedSourceAddresses' -Value @($RemoteAddress) }
    Remove-DicomGatewayConfigSecret -Config $config
    $config
}

function Set-DicomGatewayConfigValue {
    <#
    .SYNOPSIS
    Sets one top-level value of a configuration object, in place when the key exists (its order kept).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Config,

        [Parameter(Mandatory)]
        [string]$Key,

        [Parameter(Mandatory)]
        [object]$Value
    )

    $property = $Config.PSObject.Properties[$Key]
    if ($property) {
        $property.Value = $Value
    } else {
        $Config | Add-Member -NotePropertyName $Key -NotePropertyValue $Value
    }
}
