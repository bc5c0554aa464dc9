<#
.SYNOPSIS
Intune uninstall command of the DICOM gateway (Win32 app). Keeps the data unless -RemoveData.

.DESCRIPTION
Runs Uninstall-DicomGateway: stops and unregisters the agent and tray tasks, removes the
firewall rule, the Defender exclusions and the install folder. The data folder (configuration,
logs, studies not yet uploaded) is kept, so a reinstall carries on where this one stopped.
Logs to <DataPath>\logs\intune-uninstall.log (to the temporary folder with -RemoveData).

Exit codes: 0 removed (or was not installed), 1 failed (see the log).

.PARAMETER RemoveData
Also delete the data folder: studies not yet uploaded are lost.

.EXAMPLE
%SystemRoot%\Sysnative\WindowsPowerShell\v1.0\powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Uninstall.ps1
#>
[CmdletBinding()]
param(
    [string]$InstallPath = $(if ($env:ProgramW6432) { Join-Path $env:ProgramW6432 'DicomGateway' } else { Join-Path $env:ProgramFiles 'DicomGateway' }),

    [string]$DataPath = $(Join-Path $env:ProgramData 'DicomGateway'),

    [string]$ModulePath = $(Join-Path $PSScriptRoot 'gateway\powershell\DicomGateway\DicomGateway.psd1'),

    [switch]$RemoveData
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'IntuneCommon.ps1')

# With -RemoveData the data folder goes, so the log goes to the temporary folder.
$logFolder = if ($RemoveData) { [System.IO.Path]::GetTempPath() } else { Join-Path $DataPath 'logs' }
$logMessage = 'install folder {0}, data folder {1}, remove data: {2}' -f $InstallPath, $DataPath, [bool]$RemoveData
exit (Invoke-IntuneCommand -Invocation $MyInvocation -ModulePath $ModulePath -LogFolder $logFolder -Message $logMessage -Command {
        Uninstall-DicomGateway -InstallPath $InstallPath -DataPath $DataPath -RemoveData:$RemoveData -EnableException -Confirm:$false
    })
