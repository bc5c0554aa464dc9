# Thin wrappers around Windows: nothing here decides anything, so tests mock these and nothing else.

function Test-DgwWindows {
    # Windows PowerShell 5.1 has no $IsWindows and runs only on Windows.
    [CmdletBinding()]
    [OutputType([bool])]
    param()

    if ($PSVersionTable.PSEdition -eq 'Desktop') { return $true }
    [bool](Get-Variable -Name IsWindows -ValueOnly -ErrorAction SilentlyContinue)
}

function Get-DgwSystemDrive {
    [CmdletBinding()]
    [OutputType([string])]
    param()

    if ($env:SystemDrive) { return $env:SystemDrive.ToUpperInvariant() }
    'C:'
}
