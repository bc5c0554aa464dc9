function ConvertFrom-DicomGatewayPowerCfgQuery {
    <#
    .SYNOPSIS
    The AC and DC values from the text of "powercfg /query <scheme> <subgroup> <setting>".

    .DESCRIPTION
    powercfg's labels are translated, but its numbers are not: the last two hexadecimal values of
    the output are always the current AC and DC indexes.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [AllowEmptyCollection()]
        [string[]]$Text
    )

    $values = @([regex]::Matches(($Text -join "`n"), '0x([0-9a-fA-F]+)') | ForEach-Object { [Convert]::ToInt64($_.Groups[1].Value, 16) })
    if ($values.Count -lt 2) {
        throw ('Unexpected powercfg output: {0}' -f (($Text -join ' ').Trim()))
    }
    [pscustomobject]@{
        Ac = $values[$values.Count - 2]
        Dc = $values[$values.Count - 1]
    }
}
