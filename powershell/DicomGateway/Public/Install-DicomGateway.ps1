function Install-DicomGateway {
    <#
    .SYNOPSIS
    Installs the gateway, or brings an installed gateway to the given package and settings.

    .DESCRIPTION
    The site's settings come from -SiteFile (one JSON file per site) or from the parameters, and
    are checked whole before anything is changed: the AE title, the ports, the remote addresses,
    the upstream (kind, URL or host/port/called AE title, certificate files that exist, proxy).
    Without an upstream (given, in the existing configuration or in the template) the install
    refuses, unless -NoUpstream. Checks the prerequisites (Test-DicomGatewayPrerequisite; a Fail
    stops the install unless -SkipPrerequisiteCheck). An install or data folder that already exists and is owned by
    someone other than SYSTEM or Administrators is refused in any case. Then, each step only
    when needed:
    - InstallFolderAccess, DataFolderAccess, TrayFolderAccess: creates the folders with their
      permissions (Set-DicomGatewayFolderAccess), before anything is written into them.
    - Package: copies the package's files whose content (SHA-256) differs into the install folder
      (stopping the agent, its PostgreSQL and the trays first). The files it replaces are kept
      in <InstallPath>.previous until the new agent is found healthy.
    - Certificates: copies the upstream's certificate files into <DataPath>\certs (the protected
      data folder); gateway.json points at the copies.
    - Secrets: stores the cloud token and proxy password (the site's, the parameters, or found in
      clear in the existing configuration or the template) protected with DPAPI in
      <DataPath>\secrets.json.
    - Configuration: writes <DataPath>\gateway.json with the AE title exactly as given (never
      trimmed or upper-cased: it is case-sensitive and must match the licence), the DICOM port
      the data folder, the site's upstream and the firewall's remote addresses (firewall.
      remoteAddresses; with -RestrictReceiverToRemoteAddress also allowedSourceAddresses), and
      without any secret. An existing configuration keeps everything else (compression rules,
      database; its upstream unless the site gives one); a new one starts from
      -ConfigTemplatePath. The agent runs the database migrations itself when it starts.
    - InstallRecord, UninstallEntry: the folders and version under HKLM\SOFTWARE\DicomGateway,
      and the entry in Programs and Features whose uninstall command runs Uninstall-DicomGateway.
    - AgentTask: removes the scheduled task of an earlier version (the service replaces it).
    - AgentService: the Windows service DicomGateway (WinSW hosting "gateway run") as
      NT SERVICE\DicomGateway, automatic start, restarted within seconds after a failure.
      TrayTask: a scheduled task that runs "gateway-tray.exe tray" (gateway.exe with the GUI
      subsystem: no console window) at each user logon. StartMenuShortcut: the tray in every
      user's Start menu, carrying the AppUserModelID its notifications use (else Windows does
      not show them).
    - EventLogSource: the source DicomGateway in the Application log, where the agent writes
      its warnings and errors.
    - FirewallRule (the DICOM port and the DICOM-TLS port when configured), FirewallScope (a
      warning when LocalSubnet would block senders on other subnets), InstallFolderExclusion, DatabaseFolderExclusion, DataFolderNotExcluded,
      SleepTimeout and Hibernation, through Set-DicomGatewayFirewallRule,
      Set-DicomGatewayAntivirusExclusion and Set-DicomGatewayPowerPolicy.
    - AgentRunning: (re)starts the service when it is not running or when its files,
      configuration, secrets or registration changed. When it cannot be started now the result
      is Warn: it starts at the next boot.
    - AgentEcho, AgentDatabase, UpstreamConnectivity: Test-DicomGatewayHealth waits (at most
      -HealthTimeoutSeconds) until the agent answers C-ECHO and reports its database up, then
      runs the connectivity test when there is an upstream. A Fail is the install's failure.
    - Rollback: when an upgraded agent does not answer C-ECHO or has no database, the previous
      files are put back and the agent restarted; the result is Fail, naming both versions.
    Returns one result per step, with Changed and Previous; a second run with the same
    arguments changes nothing and every step's result says "No change".

    .PARAMETER AeTitle
    The licensed AE title, exactly as issued: 1 to 16 characters, case-sensitive. The alias
    GATEWAY is accepted as well, always.

    .PARAMETER SiteFile
    A JSON file with the site's settings: aeTitle, port, installPath, dataPath, remoteAddresses,
    restrictReceiverToRemoteAddresses, upstream (kind, url | host, port, calledAeTitle, caFile,
    certFile, keyFile, token, proxy, proxyPassword, storageCommitment), noUpstream. Relative
    certificate paths are read from the file's folder.

    .PARAMETER PackagePath
    The folder holding the gateway package (gateway.exe, version.txt, postgres\, powershell\ ...).

    .PARAMETER Port
    The DICOM port. Default 4104.

    .PARAMETER InstallPath
    The install folder. Default: the site file's installPath, else the folder an earlier install
    recorded in the registry, else C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder (configuration, spool, database, logs). Default: the site file's dataPath,
    else the recorded one, else C:\ProgramData\DicomGateway.

    .PARAMETER RemoteAddress
    Who may send DICOM: addresses, subnets (10.1.2.0/24), ranges, Any or LocalSubnet. Saved in
    gateway.json (firewall.remoteAddresses). Default: the saved ones, else LocalSubnet, which
    blocks senders on other subnets (the FirewallScope result warns).

    .PARAMETER ConfigTemplatePath
    A gateway.json with the site's upstream and other settings, used when there is no
    configuration yet.

    .PARAMETER Upstream
    The upstream section, as in gateway.json (kind, url | host, port, calledAeTitle, caFile,
    certFile, keyFile, proxy, storageCommitment); certificate files are copied into the data folder.

    .PARAMETER NoUpstream
    Install without an upstream: the agent receives and keeps studies but uploads nothing.

    .PARAMETER RestrictReceiverToRemoteAddress
    Also let only the -RemoteAddress entries (addresses and subnets) associate, in the agent
    itself (allowedSourceAddresses), not only in the firewall.

    .PARAMETER HealthTimeoutSeconds
    How long the started agent may take to answer C-ECHO and report its database up. Default 180.

    .PARAMETER UpstreamToken
    The cloud's bearer token (STOW-RS), stored protected; never written to gateway.json.

    .PARAMETER ProxyPassword
    The password of the user named in upstream.proxy, stored protected.

    .PARAMETER SkipPrerequisiteCheck
    Install even when a prerequisite fails.

    .PARAMETER EnableException
    Throw a terminating error when a step fails, instead of a warning.

    .EXAMPLE
    Install-DicomGateway -AeTitle 'StMarysCT' -PackagePath 'E:\DicomGateway-0.1.0'

    Installs with the AE title StMarysCT (as licensed, mixed case kept) on port 4104.

    .EXAMPLE
    Install-DicomGateway -AeTitle 'RAD_GW1' -Port 11112 -DataPath 'D:\DicomGateway' -PackagePath .\gateway -ConfigTemplatePath .\gateway.template.json -RemoteAddress '10.20.0.0/16' -NoUpstream

    Installs with its data on D:, DICOM on port 11112 from one subnet, the template's other
    settings, and no upstream yet.

    .EXAMPLE
    Install-DicomGateway -SiteFile .\sites\st-marys.json -PackagePath .\gateway

    Installs with the site's settings: AE title, upstream, certificates, token, remote addresses.

    .EXAMPLE
    Install-DicomGateway -AeTitle 'StMarysCT' -PackagePath 'E:\DicomGateway-0.1.0' -WhatIf

    Shows what the install would do, and does nothing.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Parameters')]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Parameters')]
        [AllowEmptyString()]
        [string]$AeTitle,

        [Parameter(Mandatory, ParameterSetName = 'SiteFile')]
        [ValidateNotNullOrEmpty()]
        [string]$SiteFile,

        [Parameter(Mandatory)]
        [ValidateNotNullOrEmpty()]
        [string]$PackagePath,

        [Parameter(ParameterSetName = 'Parameters')]
        [ValidateRange(1, 65535)]
        [int]$Port = $script:DicomGatewayDefault.Port,

        [ValidateNotNullOrEmpty()]
        [string]$InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath,

        [Parameter(ParameterSetName = 'Parameters')]
        [ValidateNotNullOrEmpty()]
        [string[]]$RemoteAddress,

        [Parameter(ParameterSetName = 'Parameters')]
        [switch]$RestrictReceiverToRemoteAddress,

        [Parameter(ParameterSetName = 'Parameters')]
        [System.Collections.IDictionary]$Upstream,

        [Parameter(ParameterSetName = 'Parameters')]
        [switch]$NoUpstream,

        [string]$ConfigTemplatePath,

        [securestring]$UpstreamToken,

        [securestring]$ProxyPassword,

        [ValidateRange(1, 3600)]
        [int]$HealthTimeoutSeconds = $script:DicomGatewayDefault.HealthTimeout,

        [switch]$SkipPrerequisiteCheck,

        [switch]$EnableException
    )

    if (-not (Test-DgwWindows)) {
        Stop-DicomGatewayFunction -Message 'Install-DicomGateway runs on Windows only' -Category NotImplemented -EnableException:$EnableException
        return
    }
    # Everything is checked before the first change: the site, the package, the template, the upstream.
    try {
        if ($PSCmdlet.ParameterSetName -eq 'SiteFile') {
            $siteFileRead = Read-DicomGatewaySiteFile -Path $SiteFile
            $settings = $siteFileRead.Settings
            $baseFolder = $siteFileRead.BaseFolder
        } else {
            $settings = @{ aeTitle = $AeTitle; port = $Port; upstream = $Upstream; noUpstream = [bool]$NoUpstream; restrictReceiverToRemoteAddresses = [bool]$RestrictReceiverToRemoteAddress }
            if ($RemoteAddress) { $settings.remoteAddresses = $RemoteAddress }
            $baseFolder = $ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath
        }
        if (-not $InstallPath -and $settings['installPath']) { $InstallPath = [string]$settings['installPath'] }
        if (-not $DataPath -and $settings['dataPath']) { $DataPath = [string]$settings['dataPath'] }
        # An upgrade finds the folders the first install chose in its registry record.
        $folders = Resolve-DicomGatewayFolder -InstallPath $InstallPath -DataPath $DataPath
        # The folders end up in the configuration and the service: make them absolute.
        $InstallPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($folders.InstallPath)
        $DataPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($folders.DataPath)
        $PackagePath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($PackagePath)
        $site = ConvertTo-DicomGatewaySite -Settings $settings -BaseFolder $baseFolder -DataPath $DataPath
    } catch {
        Stop-DicomGatewayFunction -Message 'Cannot install' -ErrorRecord $_ -Category InvalidArgument -Target $SiteFile -EnableException:$EnableException
        return
    }
    $AeTitle = $site.AeTitle
    $Port = $site.Port
    $packageExecutable = [System.IO.Path]::Combine($PackagePath, $script:DicomGatewayDefault.ExecutableName)
    $packageVersion = Get-DicomGatewayPackageVersion -Path $PackagePath
    if (-not (Test-Path -LiteralPath $packageExecutable -PathType Leaf) -or -not $packageVersion) {
        Stop-DicomGatewayFunction -Message ('Cannot install: the package {0} has no {1} or no version.txt' -f $PackagePath, $script:DicomGatewayDefault.ExecutableName) -Category ObjectNotFound -Target $PackagePath -EnableException:$EnableException
        return
    }
    $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath
    try {
        $template = $null
        if ($ConfigTemplatePath) { $template = Read-DicomGatewayConfig -Path $ConfigTemplatePath }
        if ($ConfigTemplatePath -and $null -eq $template) { throw ('the configuration template {0} does not exist' -f $ConfigTemplatePath) }
        $existingConfig = Read-DicomGatewayConfig -Path $layout.ConfigFile
    } catch {
        Stop-DicomGatewayFunction -Message 'Cannot install' -ErrorRecord $_ -Category InvalidData -Target $ConfigTemplatePath -EnableException:$EnableException
        return
    }
    $baseConfig = $(if ($null -ne $existingConfig) { $existingConfig } else { $template })
    $hasUpstream = $null -ne $site.Upstream -or [bool](Get-DicomGatewayConfigValue -Config $baseConfig -Key 'upstream')
    if (-not $hasUpstream -and -not $site.NoUpstream) {
        Stop-DicomGatewayFunction -Message ('Cannot install: no upstream (the cloud to upload to) in the site settings, {0} or the template; give one, or -NoUpstream (noUpstream in a site file) to install a gateway that uploads nothing' -f $layout.ConfigFile) -Category InvalidArgument -EnableException:$EnableException
        return
    }
    # The firewall admits what the site says, else what an earlier install saved, else the local subnet.
    $remote = $site.RemoteAddress
    if ($null -eq $remote) { $remote = @(Get-DicomGatewayConfigValue -Config $existingConfig -Key 'firewall.remoteAddresses' | Where-Object { $_ }) }
    if (@($remote).Count -eq 0) { $remote = $script:DicomGatewayDefault.RemoteAddress }
    $RemoteAddress = @($remote)
    if (-not $SkipPrerequisiteCheck) {
        $prerequisites = @(Test-DicomGatewayPrerequisite -Port $Port -DataPath $DataPath -InstallPath $InstallPath)
        foreach ($warning in @($prerequisites | Where-Object { $_.Status -eq 'Warn' })) {
            Write-Warning -Message ('{0}: {1}' -f $warning.Name, $warning.Detail)
        }
        $failed = @($prerequisites | Where-Object { $_.Status -eq 'Fail' })
        if ($failed.Count -gt 0) {
            $reasons = ($failed | ForEach-Object { '{0}: {1}' -f $_.Name, $_.Detail }) -join '; '
            Stop-DicomGatewayFunction -Message ('Cannot install, prerequisites not met (or use -SkipPrerequisiteCheck): {0}' -f $reasons) -Category NotInstalled -EnableException:$EnableException
            return
        }
    }

    $installer = (Get-DgwCurrentIdentity).Sid
    foreach ($folder in $layout.InstallPath, $layout.DataPath) {
        $ownerProblem = Test-DicomGatewayFolderOwner -Path $folder -Existing (Get-DgwFolderAccess -Path $folder) -InstallerSid $installer
        if ($ownerProblem) {
            Stop-DicomGatewayFunction -Message ('Cannot install: {0}' -f $ownerProblem) -Category PermissionDenied -Target $folder -EnableException:$EnableException
            return
        }
    }
    $service = Get-DicomGatewayServiceDefinition -Layout $layout
    $legacyTask = Get-DicomGatewayTaskDefinition -Role Agent -Layout $layout
    $trayTask = Get-DicomGatewayTaskDefinition -Role Tray -Layout $layout
    $givenSecrets = @{}
    foreach ($name in $site.Secrets.Keys) { $givenSecrets[$name] = $site.Secrets[$name] }
    if ($UpstreamToken) { $givenSecrets['upstream.token'] = [System.Net.NetworkCredential]::new('', $UpstreamToken).Password }
    if ($ProxyPassword) { $givenSecrets['upstream.proxyPassword'] = [System.Net.NetworkCredential]::new('', $ProxyPassword).Password }
    $configSettings = @{ AeTitle = $AeTitle; Port = $Port; DataPath = $DataPath; Upstream = $site.Upstream; RemoteAddress = $RemoteAddress; RestrictReceiver = $site.RestrictReceiver }
    $installedVersion = $(if (Test-Path -LiteralPath $layout.Executable -PathType Leaf) { [string](Get-DicomGatewayInstallRecord | ForEach-Object { $_.Version }) } else { '' })
    $records = Get-DicomGatewayInstallRecordDefinition -Layout $layout -Version $packageVersion
    # Steps that change what the running agent uses ask for its restart here; Package leaves its backup.
    $state = @{ RestartAgent = $false; Backup = $null }

    try {
        Set-DicomGatewayFolderAccess -InstallPath $layout.InstallPath -DataPath $layout.DataPath -EnableException

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $layout.InstallPath -Action ('copy the gateway package {0} from {1}' -f $packageVersion, $PackagePath) `
            -TestScript {
                $package = Compare-DicomGatewayPackage -Source $PackagePath -Destination $layout.InstallPath
                if ($package.Changed.Count -eq 0) {
                    New-DicomGatewayResult -Name 'Package' -Status Pass -Detail ('All {0} files of the package {1} are in {2}' -f $package.FileCount, $packageVersion, $layout.InstallPath)
                } else {
                    New-DicomGatewayResult -Name 'Package' -Status Fail -Detail ('{0} of {1} files of the package {2} are missing or different in {3}' -f $package.Changed.Count, $package.FileCount, $packageVersion, $layout.InstallPath)
                }
            } `
            -ChangeScript {
                $package = Compare-DicomGatewayPackage -Source $PackagePath -Destination $layout.InstallPath
                $null = Stop-DicomGatewayAgent -Layout $layout -IncludeTray
                $state.Backup = Backup-DicomGatewayPackageFile -Layout $layout -RelativePath $package.Changed -Version $installedVersion
                Copy-DicomGatewayPackageFile -SourceRoot $package.SourceRoot -Destination $layout.InstallPath -RelativePath $package.Changed
                $state.RestartAgent = $true
            }

        $certificateFolder = [System.IO.Path]::Combine($layout.DataPath, 'certs')
        if ($site.Certificates.Count -gt 0) {
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $certificateFolder -Action ('copy {0}' -f (@($site.Certificates.Values) -join ', ')) `
                -TestScript {
                    $names = @($site.Certificates.Keys)
                    $different = @($names | Where-Object {
                            $copy = [System.IO.Path]::Combine($certificateFolder, $_)
                            -not (Test-Path -LiteralPath $copy -PathType Leaf) -or (Get-FileHash -LiteralPath $copy -Algorithm SHA256).Hash -ne (Get-FileHash -LiteralPath $site.Certificates[$_] -Algorithm SHA256).Hash
                        })
                    if ($different.Count -gt 0) {
                        New-DicomGatewayResult -Name 'Certificates' -Status Fail -Detail ('{0} missing or different in {1}' -f ($different -join ', '), $certificateFolder)
                    } else {
                        New-DicomGatewayResult -Name 'Certificates' -Status Pass -Detail ('{0} holds {1}, as the site gives them' -f $certificateFolder, ($names -join ', '))
                    }
                } `
                -ChangeScript {
                    $null = New-Item -Path $certificateFolder -ItemType Directory -Force
                    foreach ($name in $site.Certificates.Keys) { Copy-Item -LiteralPath $site.Certificates[$name] -Destination ([System.IO.Path]::Combine($certificateFolder, $name)) -Force }
                    $state.RestartAgent = $true
                }
        }

        # Secrets in clear in the configuration (an earlier version, or the template) move to the store.
        $secrets = Get-DicomGatewayConfigSecret -Config $baseConfig
        foreach ($name in $givenSecrets.Keys) { $secrets[$name] = $givenSecrets[$name] }
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $layout.SecretsFile -Action ('store {0} protected' -f (@($secrets.Keys | Sort-Object) -join ', ')) `
            -TestScript {
                $stored = Read-DicomGatewaySecretStore -Path $layout.SecretsFile
                $missing = @($secrets.Keys | Where-Object { -not $stored.ContainsKey($_) -or $stored[$_] -cne $secrets[$_] } | Sort-Object)
                if ($missing.Count -gt 0) {
                    New-DicomGatewayResult -Name 'Secrets' -Status Fail -Detail ('{0} not stored in {1} yet' -f ($missing -join ', '), $layout.SecretsFile)
                } else {
                    $names = if ($stored.Count -gt 0) { @($stored.Keys | Sort-Object) -join ', ' } else { 'no secret' }
                    New-DicomGatewayResult -Name 'Secrets' -Status Pass -Detail ('{0} holds {1}, protected with DPAPI' -f $layout.SecretsFile, $names)
                }
            } `
            -ChangeScript {
                $stored = Read-DicomGatewaySecretStore -Path $layout.SecretsFile
                foreach ($name in $secrets.Keys) { $stored[$name] = $secrets[$name] }
                Write-DicomGatewaySecretStore -Path $layout.SecretsFile -Values $stored
                $state.RestartAgent = $true
            }

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $layout.ConfigFile -Action ("write the AE title '{0}', port {1} and the site's settings" -f $AeTitle, $Port) `
            -TestScript {
                $existing = Read-DicomGatewayConfig -Path $layout.ConfigFile
                $wanted = New-DicomGatewayConfig -Existing $existing -Template $template @configSettings
                if ($null -eq $existing) {
                    New-DicomGatewayResult -Name 'Configuration' -Status Fail -Detail ('There is no configuration {0} yet' -f $layout.ConfigFile)
                } elseif ((ConvertTo-DicomGatewayConfigJson -Config $existing) -cne (ConvertTo-DicomGatewayConfigJson -Config $wanted)) {
                    New-DicomGatewayResult -Name 'Configuration' -Status Fail -Detail ("{0} holds AE title '{1}', port {2}, data folder {3}{4}, or other site settings" -f $layout.ConfigFile, (Get-DicomGatewayConfigValue $existing 'aeTitle'), (Get-DicomGatewayConfigValue $existing 'port'), (Get-DicomGatewayConfigValue $existing 'dataDir'), $(if ((Get-DicomGatewayConfigSecret -Config $existing).Count -gt 0) { ' and a secret in clear' } else { '' }))
                } elseif (-not (Get-DicomGatewayUpstreamEndpoint -Config $existing)) {
                    New-DicomGatewayResult -Name 'Configuration' -Status Pass -Detail ("{0} holds AE title '{1}' and port {2}, and no upstream (-NoUpstream): nothing is uploaded" -f $layout.ConfigFile, $AeTitle, $Port)
                } else {
                    New-DicomGatewayResult -Name 'Configuration' -Status Pass -Detail ("{0} holds AE title '{1}', port {2} and the upstream {3}" -f $layout.ConfigFile, $AeTitle, $Port, (Get-DicomGatewayUpstreamEndpoint -Config $existing).Via)
                }
            } `
            -ChangeScript {
                $wanted = New-DicomGatewayConfig -Existing (Read-DicomGatewayConfig -Path $layout.ConfigFile) -Template $template @configSettings
                $null = New-Item -Path $layout.LogFolder -ItemType Directory -Force
                Write-DicomGatewayConfig -Path $layout.ConfigFile -Config $wanted
                $state.RestartAgent = $true
            }

        foreach ($registryStep in @(
                @{ Name = 'InstallRecord'; Key = $script:DicomGatewayDefault.RegistryKey; Values = $records.Record }
                @{ Name = 'UninstallEntry'; Key = $script:DicomGatewayDefault.UninstallKey; Values = $records.Entry })) {
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $registryStep.Key -Action ('record version {0} in {1}' -f $packageVersion, $layout.InstallPath) `
                -TestScript {
                    $different = @(Test-DicomGatewayRegistryValue -Key $registryStep.Key -Wanted $registryStep.Values)
                    if ($different.Count -gt 0) {
                        New-DicomGatewayResult -Name $registryStep.Name -Status Fail -Detail ('{0}: {1} missing or different' -f $registryStep.Key, ($different -join ', '))
                    } else {
                        New-DicomGatewayResult -Name $registryStep.Name -Status Pass -Detail ('{0} records version {1} in {2}' -f $registryStep.Key, $packageVersion, $layout.InstallPath)
                    }
                } `
                -ChangeScript { Set-DgwRegistryValue -Key $registryStep.Key -Values $registryStep.Values }
        }

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('scheduled task {0}{1}' -f $legacyTask.TaskPath, $legacyTask.TaskName) -Action 'stop and unregister it (the service replaces it)' `
            -TestScript {
                if (Get-DgwScheduledTask -TaskPath $legacyTask.TaskPath -TaskName $legacyTask.TaskName) {
                    New-DicomGatewayResult -Name 'AgentTask' -Status Fail -Detail ('The task {0}{1} of an earlier version still runs the agent' -f $legacyTask.TaskPath, $legacyTask.TaskName)
                } else {
                    New-DicomGatewayResult -Name 'AgentTask' -Status Pass -Detail 'No scheduled task runs the agent'
                }
            } `
            -ChangeScript {
                $null = Stop-DicomGatewayAgent -Layout $layout
                Unregister-DgwScheduledTask -TaskPath $legacyTask.TaskPath -TaskName $legacyTask.TaskName
                $state.RestartAgent = $true
            }

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('service {0}' -f $service.ServiceName) -Action ('register it to run "{0}" {1} {2} as {3}' -f $service.Executable, $service.StartArguments, $service.Arguments, $service.Account) `
            -TestScript { Test-DicomGatewayServiceRegistration -Definition $service } `
            -ChangeScript {
                $null = New-Item -Path $layout.ServiceLogFolder -ItemType Directory -Force
                Register-DgwService -Definition $service
                $state.RestartAgent = $true
            }

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('scheduled task {0}{1}' -f $trayTask.TaskPath, $trayTask.TaskName) -Action ('register it to run "{0}" {1}' -f $trayTask.Execute, $trayTask.Arguments) `
            -TestScript { Test-DicomGatewayTask -Definition $trayTask } `
            -ChangeScript { Register-DgwScheduledTask -Definition $trayTask }

        $shortcut = Get-DicomGatewayShortcutDefinition -Layout $layout
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $shortcut.Path -Action ('create it for "{0}" {1} with the AppUserModelID {2}' -f $shortcut.Target, $shortcut.Arguments, $shortcut.AppUserModelId) `
            -TestScript {
                $existing = Get-DgwShortcut -Path $shortcut.Path
                $differences = @(if ($existing) { Compare-DicomGatewayProperty -Property 'Target', 'Arguments', 'AppUserModelId' -Existing $existing -Wanted $shortcut })
                if (-not $existing) {
                    New-DicomGatewayResult -Name 'StartMenuShortcut' -Status Fail -Detail ('There is no Start-menu shortcut {0}' -f $shortcut.Path)
                } elseif ($differences.Count -gt 0) {
                    New-DicomGatewayResult -Name 'StartMenuShortcut' -Status Fail -Detail ('The shortcut {0} differs: {1}' -f $shortcut.Path, ($differences -join '; '))
                } else {
                    New-DicomGatewayResult -Name 'StartMenuShortcut' -Status Pass -Detail ("{0} starts the tray and carries the AppUserModelID '{1}' its notifications use" -f $shortcut.Path, $shortcut.AppUserModelId)
                }
            } `
            -ChangeScript { Set-DgwShortcut -Definition $shortcut }

        $eventSource = $script:DicomGatewayDefault.EventLogSource
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('event log source {0}' -f $eventSource) -Action 'register it in the Application log' `
            -TestScript {
                if (Test-DgwEventLogSource -Source $eventSource) {
                    New-DicomGatewayResult -Name 'EventLogSource' -Status Pass -Detail ('The agent writes its warnings and errors to the Application log as {0}' -f $eventSource)
                } else {
                    New-DicomGatewayResult -Name 'EventLogSource' -Status Fail -Detail ('The Application log has no source {0}' -f $eventSource)
                }
            } `
            -ChangeScript { Register-DgwEventLogSource -Source $eventSource }

        Set-DicomGatewayFirewallRule -Port $Port -TlsPort (Get-DicomGatewayTlsPort -ConfigFile $layout.ConfigFile) -InstallPath $InstallPath -DataPath $DataPath -RemoteAddress $RemoteAddress -EnableException
        Get-DicomGatewayFirewallScopeResult -RemoteAddress $RemoteAddress
        Set-DicomGatewayAntivirusExclusion -InstallPath $InstallPath -DataPath $DataPath -EnableException
        Set-DicomGatewayPowerPolicy -EnableException
    } catch {
        Stop-DicomGatewayFunction -Message 'Install-DicomGateway stopped' -ErrorRecord $_ -EnableException:$EnableException
        return
    }

    $running = Start-DicomGatewayInstalledAgent -Cmdlet $PSCmdlet -Service $service -Layout $layout -State $state
    $running
    if ($running.Status -ne 'Pass' -or $WhatIfPreference) { return }
    $health = @(Test-DicomGatewayHealth -InstallPath $InstallPath -DataPath $DataPath -TimeoutSeconds $HealthTimeoutSeconds)
    $health
    $unhealthy = @($health | Where-Object { $_.Name -ne 'UpstreamConnectivity' -and $_.Status -eq 'Fail' })
    if ($unhealthy.Count -gt 0 -and $state.Backup) {
        Undo-DicomGatewayUpgrade -Layout $layout -Service $service -Backup $state.Backup -NewVersion $packageVersion -Reason ($unhealthy[0].Name)
    } elseif ($state.Backup) {
        Remove-Item -LiteralPath $state.Backup.Folder -Recurse -Force -ErrorAction SilentlyContinue
    }
}
