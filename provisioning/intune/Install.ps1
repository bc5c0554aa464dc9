<#
.SYNOPSIS
Intune install command of the DICOM gateway (Win32 app): installs or updates it, idempotently.

.DESCRIPTION
Runs from the unpacked .intunewin content (this script, IntuneCommon.ps1, gateway\ with the
package and its powershell\DicomGateway module, optionally gateway.template.json). Checks the
prerequisites, then runs Install-DicomGateway. A cloud token or proxy password in the template
is stored protected (DPAPI) in the data folder and never written to gateway.json. The
Microsoft Visual C++ 2015-2022 x64 runtime is not in this package: make the app depend on a
Win32 app that installs it; without it the VisualCppRuntime prerequisite fails and this exits 2. Logs to <DataPath>\logs\intune-install.log.

Exit codes, as Intune reads them:
  0     installed, nothing pending
  3010  installed; the agent starts at the next boot (soft reboot)
  1     failed (see the log)
  2     a prerequisite failed (see the log); nothing was changed
It never restarts the computer itself, so never returns 1641.

.PARAMETER AeTitle
The licensed AE title, exactly as issued (case-sensitive).

.PARAMETER Port
The DICOM port. Default 4104.

.PARAMETER RemoteAddress
Who may send DICOM, comma-separated: LocalSubnet (default), addresses, subnets, ranges or Any.

.EXAMPLE
%SystemRoot%\Sysnative\WindowsPowerShell\v1.0\powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Install.ps1 -AeTitle "StMarysCT"
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string]$AeTitle,

    [ValidateRange(1, 65535)]
    [int]$Port = 4104,

    [string]$RemoteAddress = 'LocalSubnet',

    [string]$InstallPath = $(if ($env:ProgramW6432) { Join-Path $env:ProgramW6432 'DicomGateway' } else { Join-Path $env:ProgramFiles 'DicomGateway' }),

    [string]$DataPath = $(Join-Path $env:ProgramData 'DicomGateway'),

    [string]$PackagePath = $(Join-Path $PSScriptRoot 'gateway'),

    [string]$ConfigTemplatePath = $(Join-Path $PSScriptRoot 'gateway.template.json'),

    [string]$ModulePath = $(Join-Path $PSScriptRoot 'gateway\powershell\DicomGateway\DicomGateway.psd1'),

    [switch]$SkipPrerequisiteCheck
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'IntuneCommon.ps1')

$logMessage = "AE title '{0}', port {1}, install folder {2}, data folder {3}, package {4}" -f $AeTitle, $Port, $InstallPath, $DataPath, $PackagePath
exit (Invoke-IntuneCommand -Invocation $MyInvocation -ModulePath $ModulePath -LogFolder (Join-Path $DataPath 'logs') -Message $logMessage -Command {
        $prerequisites = @(Test-DicomGatewayPrerequisite -Port $Port -DataPath $DataPath -InstallPath $InstallPath)
        Write-IntuneResult -Result $prerequisites
        if (-not $SkipPrerequisiteCheck -and @($prerequisites | Where-Object { $_.Status -eq 'Fail' }).Count -gt 0) {
            Write-IntuneLog -Message 'Install.ps1: prerequisites not met, nothing changed; exit code 2'
            exit 2
        }

        $installParameters = @{
            AeTitle               = $AeTitle
            Port                  = $Port
            RemoteAddress         = @($RemoteAddress.Split(',') | ForEach-Object { $_.Trim() } | Where-Object { $_ })
            InstallPath           = $InstallPath
            DataPath              = $DataPath
            PackagePath           = $PackagePath
            SkipPrerequisiteCheck = $true
            EnableException       = $true
            Confirm               = $false
        }
        if ($ConfigTemplatePath -and (Test-Path -LiteralPath $ConfigTemplatePath -PathType Leaf)) {
            $installParameters.ConfigTemplatePath = $ConfigTemplatePath
        }
        Install-DicomGateway @installParameters
    })
