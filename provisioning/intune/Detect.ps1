<#
.SYNOPSIS
Intune detection script of the DICOM gateway (Win32 app, custom detection script).

.DESCRIPTION
Detected (exit 0 with a line on standard output) only for a running, healthy agent of at least
MinimumVersion: the install recorded in HKLM\SOFTWARE\DicomGateway (whatever folders it chose),
its service DicomGateway running, and its API on 127.0.0.1 answering with the database up, the
DICOM receiver listening and a version at least MinimumVersion. Otherwise exit 1 with nothing on
standard output, so Intune runs the install (which upgrades, repairs or reports why not).
Intune runs it without arguments; the packaging build stamps MinimumVersion with the packaged
version. It stands alone (Intune uploads it on its own) and runs in Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [string]$RegistryKey = 'HKLM:\SOFTWARE\DicomGateway',

    [string]$MinimumVersion = '0.1.0',

    [int]$TimeoutSeconds = 5
)

$ErrorActionPreference = 'Stop'
try {
    $record = Get-ItemProperty -LiteralPath $RegistryKey -ErrorAction SilentlyContinue
    if (-not $record -or -not $record.PSObject.Properties['DataPath']) { exit 1 }
    $service = Get-Service -Name 'DicomGateway' -ErrorAction SilentlyContinue
    if (-not $service -or [string]$service.Status -ne 'Running') { exit 1 }
    $configFile = Join-Path $record.DataPath 'gateway.json'
    if (-not (Test-Path -LiteralPath $configFile -PathType Leaf)) { exit 1 }
    $config = [System.IO.File]::ReadAllText($configFile) | ConvertFrom-Json
    $apiPort = 4180
    if ($config.PSObject.Properties['api'] -and $config.api.PSObject.Properties['port'] -and [int]$config.api.port -gt 0) { $apiPort = [int]$config.api.port }
    $status = Invoke-RestMethod -Uri ('http://127.0.0.1:{0}/api/status' -f $apiPort) -TimeoutSec $TimeoutSeconds -UseBasicParsing
    if (-not $status.database.ok -or -not $status.receiver.listening) { exit 1 }
    if ([string]$status.version -notmatch '^(\d+\.\d+\.\d+)') { exit 1 }
    $runningVersion = [version]$Matches[1]
    if ($runningVersion -lt [version]$MinimumVersion) { exit 1 }
    Write-Output ('DICOM Gateway {0} running and healthy ({1})' -f $runningVersion, $record.InstallPath)
    exit 0
} catch {
    Write-Debug $_.Exception.Message
    exit 1
}
