function Compare-DicomGatewayProperty {
    <#
    .SYNOPSIS
    How the named properties of an existing object differ from the wanted one: one text per difference, none when equal.

    .DESCRIPTION
    Compares the values as strings: without regard to case (as Windows compares names, paths and
    keywords), or exactly with -CaseSensitive. Each difference reads "<Property> is '<found>',
    wanted '<wanted>'".
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string[]]$Property,

        [Parameter(Mandatory)]
        [object]$Existing,

        [Parameter(Mandatory)]
        [object]$Wanted,

        [switch]$CaseSensitive
    )

    foreach ($name in $Property) {
        $have = [string]$Existing.$name
        $want = [string]$Wanted.$name
        $equal = if ($CaseSensitive) { $have -ceq $want } else { $have.Equals($want, [System.StringComparison]::OrdinalIgnoreCase) }
        if (-not $equal) { "{0} is '{1}', wanted '{2}'" -f $name, $have, $want }
    }
}
