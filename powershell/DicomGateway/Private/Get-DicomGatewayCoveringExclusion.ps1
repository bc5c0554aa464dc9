function Get-DicomGatewayCoveringExclusion {
    <#
    .SYNOPSIS
    The exclusion that covers a folder (the folder itself or a parent of it), or $null.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string]$Path,

        [AllowEmptyCollection()]
        [string[]]$Exclusion = @()
    )

    $wanted = $Path.Replace('/', '\').TrimEnd('\')
    foreach ($candidate in $Exclusion) {
        if (-not $candidate) { continue }
        $expanded = [System.Environment]::ExpandEnvironmentVariables($candidate).Replace('/', '\').TrimEnd('\')
        if ($wanted.Equals($expanded, [System.StringComparison]::OrdinalIgnoreCase) -or
            $wanted.StartsWith($expanded + '\', [System.StringComparison]::OrdinalIgnoreCase)) {
            return $candidate
        }
    }
    return $null
}
