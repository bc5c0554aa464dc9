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

    if (-not $Existing.Enabled) { 'the rule is disabled' }
    Compare-DicomGatewayProperty -Property 'Direction', 'Action', 'Protocol', 'LocalPort', 'Program', 'Profile' -Existing $Existing -Wanted $Wanted
    # Windows reports IPv4 prefixes as masks and keeps the order it was given: compare the normal forms.
    $addressOf = { param($Rule) [pscustomobject]@{ RemoteAddress = @(ConvertTo-DicomGatewayFirewallAddress -Address $Rule.RemoteAddress) -join ', ' } }
    Compare-DicomGatewayProperty -Property 'RemoteAddress' -Existing (& $addressOf $Existing) -Wanted (& $addressOf $Wanted)
}
