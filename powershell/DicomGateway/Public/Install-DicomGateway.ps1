function Install-DicomGateway {
    <#
    .SYNOPSIS
    Installs the gateway, or brings an installed gateway to the given package and settings.

    .DESCRIPTION
    Checks the prerequisites (Test-DicomGatewayPrerequisite; a Fail stops the install unless
    -SkipPrerequisiteCheck). An install or data folder that already exists and is owned by
    someone other than SYSTEM or Administrators is refused in any case. Then, each step only
    when needed:
    - InstallFolderAccess, DataFolderAccess, TrayFolderAccess: creates the folders with their
      permissions (Set-DicomGatewayFolderAccess), before anything is written into them.
    - Package: copies the package's files into the install folder (stopping the agent, its
      PostgreSQL and the trays first when files must be replaced).
    - Secrets: stores the cloud token and proxy password (the parameters, or found in clear in
      the existing configuration or the template) protected with DPAPI in <DataPath>\secrets.json.
    - Configuration: writes <DataPath>\gateway.json with the AE title exactly as given (never
      trimmed or upper-cased: it is case-sensitive and must match the licence), the DICOM port
      and the data folder, and without any secret. An existing configuration keeps everything
      else (upstream, compression rules, database); a new one starts from -ConfigTemplatePath.
    - AgentTask: removes the scheduled task of an earlier version (the service replaces it).
    - AgentService: the Windows service DicomGateway (WinSW hosting "gateway run") as
      NT SERVICE\DicomGateway, automatic start, restarted within seconds after a failure.
      TrayTask: a scheduled task that runs "gateway tray" at each user logon.
    - FirewallRule, InstallFolderExclusion, DatabaseFolderExclusion, DataFolderNotExcluded,
      SleepTimeout and Hibernation, through Set-DicomGatewayFirewallRule,
      Set-DicomGatewayAntivirusExclusion and Set-DicomGatewayPowerPolicy.
    - AgentRunning: (re)starts the service when it is not running or when its files,
      configuration, secrets or registration changed. When it cannot be started now the result
      is Warn: it starts at the next boot.
    Returns one result per step, with Changed and Previous; a second run with the same
    arguments changes nothing and every result says "No change".

    .PARAMETER AeTitle
    The licensed AE title, exactly as issued: 1 to 16 characters, case-sensitive. The alias
    GATEWAY is accepted as well, always.

    .PARAMETER PackagePath
    The folder holding the gateway package (gateway.exe, postgres\, powershell\ ...).

    .PARAMETER Port
    The DICOM port. Default 4104.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder (configuration, spool, database, logs). Default C:\ProgramData\DicomGateway.

    .PARAMETER RemoteAddress
    Who may send DICOM: LocalSubnet (default), addresses, subnets (10.1.2.0/24), ranges or Any.

    .PARAMETER ConfigTemplatePath
    A gateway.json with the site's upstream and other settings, used when there is no
    configuration yet.

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
    Install-DicomGateway -AeTitle 'RAD_GW1' -Port 11112 -DataPath 'D:\DicomGateway' -PackagePath .\gateway -ConfigTemplatePath .\gateway.template.json -RemoteAddress '10.20.0.0/16'

    Installs with its data on D:, DICOM on port 11112 from one subnet, and the upstream settings
    of the template.

    .EXAMPLE
    Install-DicomGateway -AeTitle 'StMarysCT' -PackagePath 'E:\DicomGateway-0.1.0' -WhatIf

    Shows what the install would do, and does nothing.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [AllowEmptyString()]
        [string]$AeTitle,

        [Parameter(Mandatory)]
        [ValidateNotNullOrEmpty()]
        [string]$PackagePath,

        [ValidateRange(1, 65535)]
        [int]$Port = $script:DicomGatewayDefault.Port,

        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [ValidateNotNullOrEmpty()]
        [string[]]$RemoteAddress = $script:DicomGatewayDefault.RemoteAddress,

        [string]$ConfigTemplatePath,

        [securestring]$UpstreamToken,

        [securestring]$ProxyPassword,

        [switch]$SkipPrerequisiteCheck,

        [switch]$EnableException
    )

    if (-not (Test-DgwWindows)) {
        Stop-DicomGatewayFunction -Message 'Install-DicomGateway runs on Windows only' -Category NotImplemented -EnableException:$EnableException
        return
    }
    # The folders end up in the configuration and the tasks: make them absolute.
    $InstallPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($InstallPath)
    $DataPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($DataPath)
    $PackagePath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($PackagePath)
    $aeTitleProblem = Get-DicomGatewayAeTitleProblem -AeTitle $AeTitle
    if ($aeTitleProblem) {
        Stop-DicomGatewayFunction -Message ('Cannot install: {0}' -f $aeTitleProblem) -Category InvalidArgument -Target $AeTitle -EnableException:$EnableException
        return
    }
    $packageExecutable = [System.IO.Path]::Combine($PackagePath, $script:DicomGatewayDefault.ExecutableName)
    if (-not (Test-Path -LiteralPath $packageExecutable -PathType Leaf)) {
        Stop-DicomGatewayFunction -Message ('Cannot install: the package {0} has no {1}' -f $PackagePath, $script:DicomGatewayDefault.ExecutableName) -Category ObjectNotFound -Target $PackagePath -EnableException:$EnableException
        return
    }
    try {
        $template = $null
        if ($ConfigTemplatePath) { $template = Read-DicomGatewayConfig -Path $ConfigTemplatePath }
        if ($ConfigTemplatePath -and $null -eq $template) { throw ('the configuration template {0} does not exist' -f $ConfigTemplatePath) }
    } catch {
        Stop-DicomGatewayFunction -Message 'Cannot install' -ErrorRecord $_ -Category InvalidData -Target $ConfigTemplatePath -EnableException:$EnableException
        return
    }
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

    $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath
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
    if ($UpstreamToken) { $givenSecrets['upstream.token'] = [System.Net.NetworkCredential]::new('', $UpstreamToken).Password }
    if ($ProxyPassword) { $givenSecrets['upstream.proxyPassword'] = [System.Net.NetworkCredential]::new('', $ProxyPassword).Password }
    # Steps that change what the running agent uses ask for its restart here.
    $state = @{ RestartAgent = $false }

    try {
        Set-DicomGatewayFolderAccess -InstallPath $layout.InstallPath -DataPath $layout.DataPath -EnableException

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $layout.InstallPath -Action ('copy the gateway package from {0}' -f $PackagePath) `
            -TestScript {
                $package = Compare-DicomGatewayPackage -Source $PackagePath -Destination $layout.InstallPath
                if ($package.Changed.Count -eq 0) {
                    New-DicomGatewayResult -Name 'Package' -Status Pass -Detail ('All {0} files of the package are in {1}' -f $package.FileCount, $layout.InstallPath)
                } else {
                    New-DicomGatewayResult -Name 'Package' -Status Fail -Detail ('{0} of {1} files of the package are missing or different in {2}' -f $package.Changed.Count, $package.FileCount, $layout.InstallPath)
                }
            } `
            -ChangeScript {
                $package = Compare-DicomGatewayPackage -Source $PackagePath -Destination $layout.InstallPath
                $null = Stop-DicomGatewayAgent -Layout $layout -IncludeTray
                Copy-DicomGatewayPackageFile -SourceRoot $package.SourceRoot -Destination $layout.InstallPath -RelativePath $package.Changed
                $state.RestartAgent = $true
            }

        # Secrets in clear in the configuration (an earlier version, or the template) move to the store.
        $secrets = Get-DicomGatewayConfigSecret -Config $(if (Test-Path -LiteralPath $layout.ConfigFile) { Read-DicomGatewayConfig -Path $layout.ConfigFile } else { $template })
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

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $layout.ConfigFile -Action ("write the AE title '{0}' and port {1}" -f $AeTitle, $Port) `
            -TestScript {
                $existing = Read-DicomGatewayConfig -Path $layout.ConfigFile
                $wanted = New-DicomGatewayConfig -Existing $existing -Template $template -AeTitle $AeTitle -Port $Port -DataPath $DataPath
                if ($null -eq $existing) {
                    New-DicomGatewayResult -Name 'Configuration' -Status Fail -Detail ('There is no configuration {0} yet' -f $layout.ConfigFile)
                } elseif ((ConvertTo-DicomGatewayConfigJson -Config $existing) -cne (ConvertTo-DicomGatewayConfigJson -Config $wanted)) {
                    New-DicomGatewayResult -Name 'Configuration' -Status Fail -Detail ("{0} holds AE title '{1}', port {2}, data folder {3}{4}" -f $layout.ConfigFile, (Get-DicomGatewayConfigValue $existing 'aeTitle'), (Get-DicomGatewayConfigValue $existing 'port'), (Get-DicomGatewayConfigValue $existing 'dataDir'), $(if ((Get-DicomGatewayConfigSecret -Config $existing).Count -gt 0) { ' and a secret in clear' } else { '' }))
                } elseif (-not (Get-DicomGatewayUpstreamEndpoint -Config $existing)) {
                    New-DicomGatewayResult -Name 'Configuration' -Status Warn -Detail ("{0} holds AE title '{1}' and port {2}, but no upstream yet: add it, then run Test-DicomGatewayConnectivity" -f $layout.ConfigFile, $AeTitle, $Port)
                } else {
                    New-DicomGatewayResult -Name 'Configuration' -Status Pass -Detail ("{0} holds AE title '{1}' and port {2}" -f $layout.ConfigFile, $AeTitle, $Port)
                }
            } `
            -ChangeScript {
                $wanted = New-DicomGatewayConfig -Existing (Read-DicomGatewayConfig -Path $layout.ConfigFile) -Template $template -AeTitle $AeTitle -Port $Port -DataPath $DataPath
                $null = New-Item -Path $layout.LogFolder -ItemType Directory -Force
                Write-DicomGatewayConfig -Path $layout.ConfigFile -Config $wanted
                $state.RestartAgent = $true
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

        Set-DicomGatewayFirewallRule -Port $Port -InstallPath $InstallPath -RemoteAddress $RemoteAddress -EnableException
        Set-DicomGatewayAntivirusExclusion -InstallPath $InstallPath -DataPath $DataPath -EnableException
        Set-DicomGatewayPowerPolicy -EnableException
    } catch {
        Stop-DicomGatewayFunction -Message 'Install-DicomGateway stopped' -ErrorRecord $_ -EnableException:$EnableException
        return
    }

    try {
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('service {0}' -f $service.ServiceName) -Action 'start the agent' `
            -TestScript {
                $registered = Get-DgwService -Name $service.ServiceName
                if (-not $registered) {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Fail -Detail ('The service {0} is not registered' -f $service.ServiceName)
                } elseif ($registered.State -ne 'Running') {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Fail -Detail ('The agent is not running (service {0} is {1}); its logs are in {2}' -f $service.ServiceName, $registered.State, $layout.LogFolder)
                } elseif ($state.RestartAgent) {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Fail -Detail 'The agent runs with the previous files, configuration or registration'
                } else {
                    New-DicomGatewayResult -Name 'AgentRunning' -Status Pass -Detail ('The agent is running (service {0})' -f $service.ServiceName)
                }
            } `
            -ChangeScript {
                $null = Stop-DicomGatewayAgent -Layout $layout
                Start-DgwService -Name $service.ServiceName
                $state.RestartAgent = $false
            }
    } catch {
        New-DicomGatewayResult -Name 'AgentRunning' -Status Warn -Changed $false -Previous '' `
            -Detail ('The agent could not be started now ({0}); the service starts it at the next boot' -f $_.Exception.Message)
    }
}
