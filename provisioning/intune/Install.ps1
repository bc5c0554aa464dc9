<#
.SYNOPSIS
Intune install command of the DICOM gateway (Win32 app): installs or updates it, idempotently.

.DESCRIPTION
Runs from the unpacked .intunewin content (this script, IntuneCommon.ps1, gateway\ with the
package and its powershell\DicomGateway module, optionally gateway.template.json and sites\).
One Win32 app serves every site: the site's settings come from, in this order,
  -SiteFile <file>            a site file (JSON; see README, "Deploying with Intune"),
  -AeTitle ... parameters     the same settings as parameters,
  sites\<COMPUTERNAME>.json   the site file of this computer, packaged with the app.
They are checked whole before anything changes. No upstream is a failure unless -NoUpstream.
Checks the prerequisites, then runs Install-DicomGateway, which verifies the started agent
(C-ECHO, database, connectivity test). Secrets (token, proxy password) are stored protected
(DPAPI) in the data folder, never in gateway.json. The Microsoft Visual C++ 2015-2022 x64
runtime is not in this package: make the app depend on a Win32 app that installs it.
Logs to <DataPath>\logs\intune-install.log; the failing step is also printed on STDOUT.

Exit codes, as Intune reads them:
  0     installed and verified, nothing pending
  3010  installed; the agent starts at the next boot (soft reboot)
  1     failed (see STDOUT and the log), including a site file that is not valid
  2     a prerequisite failed (see the log); nothing was changed
It never restarts the computer itself, so never returns 1641.

.PARAMETER SiteFile
The site file. Relative paths are read from the package folder.

.PARAMETER AeTitle
The licensed AE title, exactly as issued (case-sensitive).

.PARAMETER Port
The DICOM port. Default 4104.

.PARAMETER RemoteAddress
Who may send DICOM, comma-separated: LocalSubnet (default), addresses, subnets, ranges or Any.

.PARAMETER UpstreamKind
stow-rs (with -UpstreamUrl) or dicom-tls (with -UpstreamHost, -UpstreamPort, -UpstreamAeTitle).

.PARAMETER UpstreamToken
The STOW-RS bearer token. A command line is visible in the Intune portal: prefer a site file.

.PARAMETER NoUpstream
Install a gateway that uploads nothing (no cloud yet).

.EXAMPLE
%SystemRoot%\Sysnative\WindowsPowerShell\v1.0\powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Install.ps1

.EXAMPLE
%SystemRoot%\Sysnative\WindowsPowerShell\v1.0\powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Install.ps1 -SiteFile sites\st-marys.json
#>
[CmdletBinding()]
param(
    [string]$SiteFile,

    [string]$AeTitle,

    [ValidateRange(1, 65535)]
    [int]$Port = 4104,

    [string]$RemoteAddress,

    [ValidateSet('', 'stow-rs', 'dicom-tls')]
    [string]$UpstreamKind = '',

    [string]$UpstreamUrl,

    [string]$UpstreamHost,

    [int]$UpstreamPort,

    [string]$UpstreamAeTitle,

    [string]$UpstreamToken,

    [string]$CaFile,

    [string]$CertFile,

    [string]$KeyFile,

    [string]$Proxy,

    [string]$ProxyPassword,

    [switch]$NoUpstream,

    [string]$InstallPath,

    [string]$DataPath,

    [string]$PackagePath = $(Join-Path $PSScriptRoot 'gateway'),

    [string]$ConfigTemplatePath = $(Join-Path $PSScriptRoot 'gateway.template.json'),

    [string]$ModulePath = $(Join-Path $PSScriptRoot 'gateway\powershell\DicomGateway\DicomGateway.psd1'),

    [switch]$SkipPrerequisiteCheck
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'IntuneCommon.ps1')

if (-not $SiteFile -and -not $AeTitle) { $SiteFile = Join-Path $PSScriptRoot ('sites\{0}.json' -f $env:COMPUTERNAME) }
if ($SiteFile -and -not [System.IO.Path]::IsPathRooted($SiteFile)) { $SiteFile = Join-Path $PSScriptRoot $SiteFile }
# The prerequisites and the log need the site's port and folders before the module checks the site file whole.
if ($SiteFile -and (Test-Path -LiteralPath $SiteFile -PathType Leaf)) {
    $site = $null
    try { $site = [System.IO.File]::ReadAllText($SiteFile) | ConvertFrom-Json } catch { $site = $null }
    if ($site) {
        if ($site.PSObject.Properties['port'] -and ($site.port -as [int])) { $Port = [int]$site.port }
        if (-not $InstallPath -and $site.PSObject.Properties['installPath']) { $InstallPath = [string]$site.installPath }
        if (-not $DataPath -and $site.PSObject.Properties['dataPath']) { $DataPath = [string]$site.dataPath }
    }
}
# Before the log folder is known: the data folder may be the site's.
$logDataPath = $DataPath
if (-not $logDataPath) { $logDataPath = Get-IntuneRecordedDataPath }
$logMessage = "site {0}, package {1}" -f $(if ($SiteFile) { $SiteFile } else { "AE title '$AeTitle', port $Port" }), $PackagePath
exit (Invoke-IntuneCommand -Invocation $MyInvocation -ModulePath $ModulePath -LogFolder ([System.IO.Path]::Combine($logDataPath, 'logs')) -Message $logMessage -Command {
        if ($SiteFile -and -not (Test-Path -LiteralPath $SiteFile -PathType Leaf)) {
            throw ('no site file {0}: add this computer''s site file to the package (sites\<COMPUTERNAME>.json), or give -SiteFile or -AeTitle' -f $SiteFile)
        }
        $installParameters = @{ PackagePath = $PackagePath; SkipPrerequisiteCheck = $true; EnableException = $true; Confirm = $false }
        if ($SiteFile) {
            $installParameters.SiteFile = $SiteFile
        } else {
            $installParameters.AeTitle = $AeTitle
            $installParameters.Port = $Port
            $installParameters.NoUpstream = $NoUpstream
            if ($RemoteAddress) { $installParameters.RemoteAddress = @($RemoteAddress.Split(',') | ForEach-Object { $_.Trim() } | Where-Object { $_ }) }
            if ($UpstreamKind) {
                $upstream = @{ kind = $UpstreamKind }
                $given = @{ url = $UpstreamUrl; host = $UpstreamHost; calledAeTitle = $UpstreamAeTitle; caFile = $CaFile; certFile = $CertFile; keyFile = $KeyFile; proxy = $Proxy }
                foreach ($key in $given.Keys) { if ($given[$key]) { $upstream[$key] = $given[$key] } }
                if ($UpstreamPort) { $upstream.port = $UpstreamPort }
                $installParameters.Upstream = $upstream
            }
            if ($UpstreamToken) { $installParameters.UpstreamToken = ConvertTo-SecureString -String $UpstreamToken -AsPlainText -Force }
            if ($ProxyPassword) { $installParameters.ProxyPassword = ConvertTo-SecureString -String $ProxyPassword -AsPlainText -Force }
        }
        if ($InstallPath) { $installParameters.InstallPath = $InstallPath }
        if ($DataPath) { $installParameters.DataPath = $DataPath }
        if ($ConfigTemplatePath -and (Test-Path -LiteralPath $ConfigTemplatePath -PathType Leaf)) {
            $installParameters.ConfigTemplatePath = $ConfigTemplatePath
        }

        $prerequisiteParameters = @{ Port = $Port }
        if ($InstallPath) { $prerequisiteParameters.InstallPath = $InstallPath }
        if ($DataPath) { $prerequisiteParameters.DataPath = $DataPath }
        $prerequisites = @(Test-DicomGatewayPrerequisite @prerequisiteParameters)
        Write-IntuneResult -Result $prerequisites
        if (-not $SkipPrerequisiteCheck -and @($prerequisites | Where-Object { $_.Status -eq 'Fail' }).Count -gt 0) {
            Write-IntuneFailure -Result $prerequisites
            Write-IntuneLog -Message 'Install.ps1: prerequisites not met, nothing changed; exit code 2'
            exit 2
        }
        Install-DicomGateway @installParameters
    })
