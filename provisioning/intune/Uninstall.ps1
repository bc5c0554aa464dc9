<#
.SYNOPSIS
Intune uninstall command of the DICOM gateway (Win32 app). Keeps the data unless -RemoveData.

.DESCRIPTION
Runs Uninstall-DicomGateway on the folders the install recorded in HKLM\SOFTWARE\DicomGateway:
stops and deletes the agent's service and the tray task, removes the firewall rule, the
Defender exclusions, the event log source, the registry record, the Programs and Features
entry and the install folder. The data folder (configuration, logs, studies not yet uploaded)
is kept, so a reinstall carries on where this one stopped.
Logs to <DataPath>\logs\intune-uninstall.log (to the temporary folder with -RemoveData).

Exit codes: 0 removed (or was not installed), 1 failed (see the log).

.PARAMETER RemoveData
Also delete the data folder; refused (exit 1, nothing changed) while the cloud has not
confirmed every study.

.PARAMETER Force
With -RemoveData: delete it even with unconfirmed studies (they are lost).

.EXAMPLE
%SystemRoot%\Sysnative\WindowsPowerShell\v1.0\powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Uninstall.ps1
#>
[CmdletBinding()]
param(
    [string]$InstallPath,

    [string]$DataPath,

    [string]$ModulePath = $(Join-Path $PSScriptRoot 'gateway\powershell\DicomGateway\DicomGateway.psd1'),

    [switch]$RemoveData,

    [switch]$Force
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'IntuneCommon.ps1')

# With -RemoveData the data folder goes, so the log goes to the temporary folder.
$logFolder = if ($RemoveData) { [System.IO.Path]::GetTempPath() } elseif ($DataPath) { Join-Path $DataPath 'logs' } else { [System.IO.Path]::Combine((Get-IntuneRecordedDataPath), 'logs') }
$logMessage = 'install folder {0}, data folder {1} (empty: as recorded), remove data: {2}' -f $InstallPath, $DataPath, [bool]$RemoveData
exit (Invoke-IntuneCommand -Invocation $MyInvocation -ModulePath $ModulePath -LogFolder $logFolder -Message $logMessage -Command {
        $folders = @{}
        if ($InstallPath) { $folders.InstallPath = $InstallPath }
        if ($DataPath) { $folders.DataPath = $DataPath }
        Uninstall-DicomGateway @folders -RemoveData:$RemoveData -Force:$Force -EnableException -Confirm:$false
    })
