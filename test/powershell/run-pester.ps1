<#
.SYNOPSIS
Runs the Pester suite of the DicomGateway module and the Intune scripts (test/powershell/*.Tests.ps1).

.DESCRIPTION
Uses the Pester that install-pester.sh put into test/powershell/.modules (or any Pester 5+ on
PSModulePath), prints a closing line "Pester: N passed, N failed, N skipped" and exits non-zero
when a test, a block or a file failed, or when no test ran.

.EXAMPLE
pwsh -NoProfile -File test/powershell/run-pester.ps1

.EXAMPLE
pwsh -NoProfile -File test/powershell/run-pester.ps1 -Path test/powershell/Install-DicomGateway.Tests.ps1 -Output Detailed
#>
[CmdletBinding()]
param(
    [string[]]$Path = @($PSScriptRoot),

    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')]
    [string]$Output = 'Normal',

    # Also write the results as JUnit XML to this file.
    [string]$ResultPath
)

$ErrorActionPreference = 'Stop'
$localModules = Join-Path $PSScriptRoot '.modules'
if (Test-Path -LiteralPath $localModules) {
    $env:PSModulePath = $localModules + [System.IO.Path]::PathSeparator + $env:PSModulePath
}
Import-Module -Name Pester -MinimumVersion 5.0.0
Write-Host ('PowerShell {0}, Pester {1}' -f $PSVersionTable.PSVersion, (Get-Module -Name Pester).Version)

# pwsh -File passes "a,b" as one string.
$Path = @($Path | ForEach-Object { $_.Split(',') } | Where-Object { $_ })

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = $Output
if ($ResultPath) {
    $configuration.TestResult.Enabled = $true
    $configuration.TestResult.OutputFormat = 'JUnitXml'
    $configuration.TestResult.OutputPath = $ResultPath
}
$run = Invoke-Pester -Configuration $configuration
if ($null -eq $run) {
    Write-Host 'Pester: did not run (see the error above)'
    exit 1
}

$failed = $run.FailedCount + $run.FailedBlocksCount + $run.FailedContainersCount
Write-Host ('Pester: {0} passed, {1} failed, {2} skipped' -f $run.PassedCount, $failed, $run.SkippedCount)
if ($run.TotalCount -eq 0) {
    Write-Host 'Pester: no test ran'
    exit 1
}
if ($failed -gt 0) { exit 1 }
exit 0
