# Microsoft Defender wrappers. Get- throws when Defender cannot be asked (not installed, or its
# exclusions hidden from a non-administrator).

function Get-DgwDefenderExclusionPath {
    [CmdletBinding()]
    [OutputType([string[]])]
    param()

    $preference = Get-MpPreference -ErrorAction Stop
    $paths = @($preference.ExclusionPath | Where-Object { $_ })
    if (@($paths | Where-Object { $_ -like 'N/A*' }).Count -gt 0) {
        throw 'Microsoft Defender shows its exclusions to administrators only'
    }
    $paths
}

function Add-DgwDefenderExclusionPath {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    Add-MpPreference -ExclusionPath $Path -ErrorAction Stop
}

function Remove-DgwDefenderExclusionPath {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    Remove-MpPreference -ExclusionPath $Path -ErrorAction Stop
}
