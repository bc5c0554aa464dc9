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

function Get-DgwVisualCppRuntime {
    # The VC++ 2015-2022 x64 runtime as Windows records it, and which of its DLLs are in System32.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string[]]$DllName
    )

    $key = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64' -ErrorAction SilentlyContinue
    $system32 = Join-Path $env:SystemRoot 'System32'
    [pscustomobject]@{
        Installed = [bool]($key -and $key.PSObject.Properties['Installed'] -and [int]$key.Installed -eq 1)
        Version   = $(if ($key -and $key.PSObject.Properties['Version']) { [string]$key.Version } else { '' })
        Present   = @($DllName | Where-Object { Test-Path -LiteralPath (Join-Path $system32 $_) -PathType Leaf })
    }
}
