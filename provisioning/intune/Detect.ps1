<#
.SYNOPSIS
Intune detection script of the DICOM gateway (Win32 app, custom detection script).

.DESCRIPTION
Detected (exit 0 with a line on standard output) when gateway.exe, its configuration and the
agent's service (DicomGateway) are there and "gateway.exe version" is at least MinimumVersion. Otherwise exit 1
with nothing on standard output. Intune runs it without arguments, so the defaults are the
installed locations; the packaging build sets MinimumVersion to the packaged version.
#>
[CmdletBinding()]
param(
    [string]$InstallPath = $(if ($env:ProgramW6432) { Join-Path $env:ProgramW6432 'DicomGateway' } else { Join-Path $env:ProgramFiles 'DicomGateway' }),

    [string]$DataPath = $(Join-Path $env:ProgramData 'DicomGateway'),

    [string]$MinimumVersion = '0.1.0'
)

$ErrorActionPreference = 'Stop'
try {
    $executable = Join-Path $InstallPath 'gateway.exe'
    if (-not (Test-Path -LiteralPath $executable -PathType Leaf)) { exit 1 }
    if (-not (Test-Path -LiteralPath (Join-Path $DataPath 'gateway.json') -PathType Leaf)) { exit 1 }
    # An install of an earlier version (agent as a scheduled task) is not detected: Intune installs this one over it.
    if (-not (Get-Service -Name 'DicomGateway' -ErrorAction SilentlyContinue)) { exit 1 }
    $versionText = (& $executable version 2>$null) -join ' '
    if ($versionText -notmatch '(\d+\.\d+\.\d+)') { exit 1 }
    $installedVersion = [version]$Matches[1]
    if ($installedVersion -lt [version]$MinimumVersion) { exit 1 }
    Write-Output ('DICOM Gateway {0} detected in {1}' -f $installedVersion, $InstallPath)
    exit 0
} catch {
    exit 1
}
