function Compare-DicomGatewayFirewallRule {
    <#
    .SYNOPSIS
    How an existing firewall rule differs from the wanted one: one text per difference, none when equal.
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param(
        [Parameter(Mandatory)]
        [object]$Existing,

        [Parameter(Mandatory)]
        [object]$Wanted
    )

    $differences = New-Object System.Collections.Generic.List[string]
    if (-not $Existing.Enabled) { $differences.Add('the rule is disabled') }
    foreach ($property in 'Direction', 'Action', 'Protocol', 'LocalPort', 'Program', 'Profile') {
        $have = [string]$Existing.$property
        $want = [string]$Wanted.$property
        if (-not $have.Equals($want, [System.StringComparison]::OrdinalIgnoreCase)) {
            $differences.Add(("{0} is '{1}', wanted '{2}'" -f $property, $have, $want))
        }
    }
    $haveAddress = @(ConvertTo-DicomGatewayFirewallAddress -Address $Existing.RemoteAddress) -join ', '
    $wantAddress = @(ConvertTo-DicomGatewayFirewallAddress -Address $Wanted.RemoteAddress) -join ', '
    if (-not $haveAddress.Equals($wantAddress, [System.StringComparison]::OrdinalIgnoreCase)) {
        $differences.Add(("RemoteAddress is '{0}', wanted '{1}'" -f $haveAddress, $wantAddress))
    }
    $differences.ToArray()
}
