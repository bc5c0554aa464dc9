function ConvertTo-DicomGatewayFirewallAddress {
    <#
    .SYNOPSIS
    Remote addresses in the form Windows Firewall reports them, so a rule can be compared.

    .DESCRIPTION
    Windows stores an IPv4 prefix as a mask (10.1.2.0/24 reads back as 10.1.2.0/255.255.255.0)
    and a /32 as the bare address. Keywords (LocalSubnet, Any ...) and ranges are kept.
    The result is sorted so that two lists compare with -join.
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param(
        [AllowEmptyCollection()]
        [string[]]$Address = @()
    )

    $normalized = foreach ($entry in $Address) {
        if (-not $entry) { continue }
        $text = $entry.Trim()
        if ($text -eq '*') { $text = 'Any' }
        if ($text -match '^(\d{1,3}(?:\.\d{1,3}){3})/(\d{1,2})$') {
            $prefix = [int]$Matches[2]
            if ($prefix -eq 32) {
                $text = $Matches[1]
            } else {
                $octets = foreach ($index in 0..3) {
                    $bits = [Math]::Min(8, [Math]::Max(0, $prefix - 8 * $index))
                    256 - [Math]::Pow(2, 8 - $bits)
                }
                $mask = $octets -join '.'
                $text = '{0}/{1}' -f $Matches[1], $mask
            }
        }
        $text
    }
    $normalized | Sort-Object -Unique
}
