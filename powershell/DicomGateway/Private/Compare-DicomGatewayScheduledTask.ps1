function Compare-DicomGatewayScheduledTask {
    <#
    .SYNOPSIS
    How a registered task differs from its definition: one text per difference, none when equal.
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
    foreach ($property in 'Execute', 'Arguments', 'Triggers', 'PrincipalSid') {
        $have = [string]$Existing.$property
        $want = [string]$Wanted.$property
        $equal = if ($property -eq 'Execute') { $have.Equals($want, [System.StringComparison]::OrdinalIgnoreCase) } else { $have -ceq $want }
        if (-not $equal) { $differences.Add(("{0} is '{1}', wanted '{2}'" -f $property, $have, $want)) }
    }
    $differences.ToArray()
}
