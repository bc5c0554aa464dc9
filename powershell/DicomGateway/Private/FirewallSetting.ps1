function Resolve-DicomGatewayFirewallSetting {
    <#
    .SYNOPSIS
    The port, DICOM-TLS port, HL7 port and remote addresses a firewall check uses: those given, else the configuration's.

    .DESCRIPTION
    Bound is the caller's $PSBoundParameters. What was not given comes from <DataPath>\gateway.json
    (port, tls.port, firewall.remoteAddresses as the install saved them; hl7.port, 2575 by default,
    when the configuration has an hl7 section), else the defaults, so
    that "gateway doctor" and the tray check the rule the install made.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary]$Bound,

        [Parameter(Mandatory)]
        [string]$DataPath
    )

    $config = $null
    try { $config = Read-DicomGatewayConfig -Path ([System.IO.Path]::Combine($DataPath, $script:DicomGatewayDefault.ConfigFileName)) } catch { $config = $null }
    $saved = @(Get-DicomGatewayConfigValue -Config $config -Key 'firewall.remoteAddresses' | Where-Object { $_ })
    [pscustomobject]@{
        Port          = $(if ((@($Bound.Keys) -contains 'Port')) { [int]$Bound['Port'] } else { [int](Get-DicomGatewayConfigValue -Config $config -Key 'port' -Default $script:DicomGatewayDefault.Port) })
        TlsPort       = $(if ((@($Bound.Keys) -contains 'TlsPort')) { [int]$Bound['TlsPort'] } else { [int](Get-DicomGatewayConfigValue -Config $config -Key 'tls.port' -Default 0) })
        Hl7Port       = $(if ($null -eq (Get-DicomGatewayConfigValue -Config $config -Key 'hl7')) { 0 } else { [int](Get-DicomGatewayConfigValue -Config $config -Key 'hl7.port' -Default $script:DicomGatewayDefault.Hl7Port) })
        RemoteAddress = $(if ((@($Bound.Keys) -contains 'RemoteAddress')) { @($Bound['RemoteAddress']) } elseif ($saved.Count -gt 0) { $saved } else { $script:DicomGatewayDefault.RemoteAddress })
    }
}

function Get-DicomGatewayTlsPort {
    <#
    .SYNOPSIS
    The DICOM-TLS port of a configuration file, 0 when it has none (or there is no file yet).
    #>
    [CmdletBinding()]
    [OutputType([int])]
    param(
        [Parameter(Mandatory)]
        [string]$ConfigFile
    )

    [int](Get-DicomGatewayConfigValue -Config (Read-DicomGatewayConfig -Path $ConfigFile) -Key 'tls.port' -Default 0)
}

function Get-DicomGatewayFirewallScopeResult {
    <#
    .SYNOPSIS
    FirewallScope: a warning when the rule admits only the local subnet, which blocks senders on other subnets (VLANs).
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string[]]$RemoteAddress
    )

    if (@($RemoteAddress | Where-Object { $_ -match '^LocalSubnet' }).Count -eq 0) {
        return New-DicomGatewayResult -Name 'FirewallScope' -Status Pass -Detail ('The firewall admits {0}' -f ($RemoteAddress -join ', '))
    }
    $own = @(Get-DgwIPConfiguration | ForEach-Object { $_.IPv4Address } | Where-Object { $_ })
    New-DicomGatewayResult -Name 'FirewallScope' -Status Warn -Detail ('The firewall admits LocalSubnet only: the subnets of this computer ({0}). PACS and modalities on other subnets or VLANs are blocked; name them with -RemoteAddress (remoteAddresses in the site file), e.g. 10.20.0.0/16' -f ($own -join ', '))
}
