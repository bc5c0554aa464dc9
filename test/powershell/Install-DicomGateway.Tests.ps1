BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
    $script:StepNames = @('InstallFolderAccess', 'DataFolderAccess', 'TrayFolderAccess', 'Package', 'Secrets', 'Configuration', 'InstallRecord', 'UninstallEntry', 'AgentTask', 'AgentService', 'TrayTask', 'StartMenuShortcut', 'EventLogSource', 'FirewallRule', 'FirewallScope', 'InstallFolderExclusion', 'DatabaseFolderExclusion', 'DataFolderNotExcluded', 'SleepTimeout', 'Hibernation', 'AgentRunning', 'AgentEcho', 'AgentDatabase', 'UpstreamConnectivity')
    # Checks that run at every install, changing nothing: they carry no Changed.
    $script:CheckNames = @('FirewallScope', 'AgentEcho', 'AgentDatabase', 'UpstreamConnectivity')
    $script:StepCount = $script:StepNames.Count

    function New-Package {
        param([string]$Path, [string]$Version = '0.2.0')
        $null = New-Item -Path $Path -ItemType Directory -Force
        Set-Content -LiteralPath (Join-Path $Path 'version.txt') -Value $Version
        foreach ($file in 'gateway.exe', 'postgres/bin/postgres.exe', 'postgres/share/postgresql.conf.sample', 'powershell/DicomGateway/DicomGateway.psd1') {
            $target = Join-Path $Path $file
            $null = New-Item -Path (Split-Path -Path $target -Parent) -ItemType Directory -Force
            Set-Content -LiteralPath $target -Value "content of $file"
        }
    }

    function Get-WrittenConfig {
        Get-Content -LiteralPath (Join-Path $script:DataPath 'gateway.json') -Raw | ConvertFrom-Json
    }
}

Describe 'Install-DicomGateway' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        Mock -ModuleName DicomGateway Test-DicomGatewayPrerequisite { [pscustomobject]@{ Name = 'Memory'; Status = 'Pass'; Detail = '32.0 GB installed'; Requirement = 'test' } }
        $root = New-TestFolder
        $script:PackagePath = Join-Path $root 'package'
        $script:InstallPath = Join-Path $root 'Program Files/DicomGateway'
        $script:DataPath = Join-Path $root 'ProgramData/DicomGateway'
        $script:TemplatePath = Join-Path $root 'gateway.template.json'
        New-Package -Path $script:PackagePath
        Set-Content -LiteralPath $script:TemplatePath -Value '{ "upstream": { "kind": "stow-rs", "url": "https://upload.cloud.example/dicom-web" }, "compression": { "rules": [ { "modality": "US", "action": "keep" } ] } }'
        $script:Install = @{
            AeTitle = 'StMarysCT'; PackagePath = $script:PackagePath; InstallPath = $script:InstallPath; DataPath = $script:DataPath
            ConfigTemplatePath = $script:TemplatePath; Confirm = $false
        }
    }

    Context 'a first install' {
        BeforeEach { $script:Results = @(Install-DicomGateway @script:Install) }

        It 'goes through every step, in order, and each one passes' {
            $script:Results.Name | Should -Be $script:StepNames
            # LocalSubnet, the default, warns that other subnets are blocked.
            $script:Results.Status | Should -Be (@('Pass') * 14 + @('Warn') + @('Pass') * 9)
            foreach ($result in $script:Results) { $result.Requirement | Should -Not -BeNullOrEmpty }
        }

        It 'changes what needed it (no secret given, no earlier task, no data folder exclusion to remove)' {
            $changed = @($script:Results | Where-Object { $_.Changed }).Name
            $changed | Should -Be @('InstallFolderAccess', 'DataFolderAccess', 'TrayFolderAccess', 'Package', 'Configuration', 'InstallRecord', 'UninstallEntry', 'AgentService', 'TrayTask', 'StartMenuShortcut', 'EventLogSource', 'FirewallRule', 'InstallFolderExclusion', 'DatabaseFolderExclusion', 'SleepTimeout', 'Hibernation', 'AgentRunning')
        }

        It 'locks the folders before it writes into them: data for SYSTEM, Administrators and the agent account only' {
            Should -Invoke -ModuleName DicomGateway Set-DgwFolderAccess -Times 3 -Exactly -Scope It
            $data = $script:Machine.FolderAccess[$script:DataPath]
            $data.Protected | Should -BeTrue
            $data.Owner | Should -Be 'S-1-5-32-544'
            @($data.Rules.Sid) | Should -Be @('S-1-5-18', 'S-1-5-32-544', 'S-1-5-80-3591495228-4217445067-214464481-3871279578-3610738999')
            $script:Machine.FolderAccess[$script:InstallPath].Rules[2].Rights | Should -Be 'ReadAndExecute'
            $script:Machine.FolderAccess[(Join-Path $script:DataPath 'tray')].Rules[0].Sid | Should -Be 'S-1-5-4'
        }

        It 'copies the package into the install folder' {
            Get-Content -LiteralPath (Join-Path $script:InstallPath 'postgres/bin/postgres.exe') | Should -Be 'content of postgres/bin/postgres.exe'
            Test-Path -LiteralPath (Join-Path $script:InstallPath 'gateway.exe') | Should -BeTrue
        }

        It 'writes the AE title exactly as given, the port and the data folder, and keeps the template settings' {
            $config = Get-WrittenConfig
            $config.aeTitle | Should -BeExactly 'StMarysCT'
            $config.port | Should -Be 4104
            $config.dataDir | Should -Be $script:DataPath
            $config.upstream.url | Should -Be 'https://upload.cloud.example/dicom-web'
            $config.compression.rules[0].modality | Should -Be 'US'
        }

        It 'writes UTF-8 without a byte order mark, which Node reads' {
            $bytes = [System.IO.File]::ReadAllBytes((Join-Path $script:DataPath 'gateway.json'))
            $bytes[0] | Should -Be ([byte][char]'{')
        }

        It 'creates the logs folder' {
            Test-Path -LiteralPath (Join-Path $script:DataPath 'logs') -PathType Container | Should -BeTrue
        }

        It 'registers the service: WinSW runs "gateway run", stops it with "gateway stop", as NT SERVICE\DicomGateway, restarting it within seconds' {
            $service = $script:Machine.Services['DicomGateway']
            $service.Account | Should -Be 'NT SERVICE\DicomGateway'
            $service.StartMode | Should -Be 'Auto'
            $service.PathName | Should -Be ('"{0}"' -f (Join-Path $script:InstallPath 'gateway-service.exe'))
            $service.FailureActions | Should -Be 'restart/5000/restart/5000/restart/30000'
            [xml]$xml = Get-Content -LiteralPath (Join-Path $script:InstallPath 'gateway-service.xml') -Raw
            $xml.service.id | Should -Be 'DicomGateway'
            $xml.service.executable | Should -Be (Join-Path $script:InstallPath 'gateway.exe')
            $xml.service.stopexecutable | Should -Be (Join-Path $script:InstallPath 'gateway.exe')
            # WinSW appends <arguments> to both: "run --config X" and "stop --config X".
            $xml.service.arguments | Should -Be ('--config "{0}"' -f (Join-Path $script:DataPath 'gateway.json'))
            # WinSW 1.17 reads the singular elements only (the plural ones are 2.0's).
            $xml.service.startargument | Should -Be 'run'
            $xml.service.stopargument | Should -Be 'stop'
            $xml.service.startmode | Should -Be 'Automatic'
            $xml.service.logpath | Should -Be ([System.IO.Path]::Combine($script:DataPath, 'logs', 'service'))
            $script:Machine.Tasks.ContainsKey('\DicomGateway\DicomGateway Agent') | Should -BeFalse
        }

        It 'registers "gateway tray" at the logon of any user' {
            $task = $script:Machine.Tasks['\DicomGateway\DicomGateway Tray']
            # The GUI-subsystem copy of gateway.exe: no console window at logon.
            $task.Execute | Should -Be (Join-Path $script:InstallPath 'gateway-tray.exe')
            $task.Arguments | Should -Be ('tray --data-dir "{0}"' -f $script:DataPath)
            $task.Triggers | Should -Be 'AtLogOn'
            $task.PrincipalSid | Should -Be 'S-1-5-32-545'
        }

        It 'puts the tray in the Start menu of every user, with the AppUserModelID its notifications use' {
            $shortcut = @($script:Machine.Shortcuts.Values)[0]
            $shortcut.Path | Should -Match 'Microsoft.Windows.Start Menu.Programs.DICOM Gateway\.lnk$'
            $shortcut.Target | Should -Be (Join-Path $script:InstallPath 'gateway-tray.exe')
            $shortcut.Arguments | Should -Be ('tray --data-dir "{0}"' -f $script:DataPath)
            $notifications = Get-Content -LiteralPath (Join-Path $script:RepositoryRoot 'tray/notifications.ts') -Raw
            $notifications | Should -Match ("appID: '{0}'" -f [regex]::Escape($shortcut.AppUserModelId))
        }

        It 'declares the shortcut interop in C# that compiles (Add-Type; Windows PowerShell 5.1 compiles it the same way)' {
            $module = Get-Module -Name DicomGateway
            $source = & $module { $script:DgwShortcutInterop }
            $assembly = Join-Path $TestDrive 'interop.dll'
            Add-Type -TypeDefinition $source -OutputAssembly $assembly -OutputType Library
            Test-Path -LiteralPath $assembly | Should -BeTrue
        }

        It 'opens the DICOM port for gateway.exe from the local subnet, excludes the folders and keeps the computer awake' {
            $rule = $script:Machine.FirewallRules['DicomGateway-DICOM-TCP-In']
            $rule.LocalPort | Should -Be '4104'
            $rule.Program | Should -Be (Join-Path $script:InstallPath 'gateway.exe')
            $rule.RemoteAddress | Should -Be @('LocalSubnet')
            @($script:Machine.Exclusions) | Should -Be @($script:InstallPath, (Join-Path $script:DataPath 'postgres'))
            $script:Machine.SleepAcSeconds | Should -Be 0
            $script:Machine.Hibernation | Should -BeFalse
        }

        It 'starts the agent' {
            $script:Machine.Services['DicomGateway'].State | Should -Be 'Running'
        }
    }

    Context 'run twice with the same arguments' {
        It 'changes nothing the second time, says so on every step and calls no setter' {
            $null = Install-DicomGateway @script:Install
            $configFile = Join-Path $script:DataPath 'gateway.json'
            $configWritten = (Get-Item -LiteralPath $configFile).LastWriteTimeUtc
            $executableWritten = (Get-Item -LiteralPath (Join-Path $script:InstallPath 'gateway.exe')).LastWriteTimeUtc
            $second = @(Install-DicomGateway @script:Install)
            $second.Name | Should -Be $script:StepNames
            $steps = @($second | Where-Object { $script:CheckNames -notcontains $_.Name })
            $steps.Status | Should -Be (@('Pass') * $steps.Count)
            $steps.Changed | Should -Be (@($false) * $steps.Count)
            foreach ($result in $steps) { $result.Detail | Should -Match '^No change: ' }
            (Get-Item -LiteralPath $configFile).LastWriteTimeUtc | Should -Be $configWritten
            (Get-Item -LiteralPath (Join-Path $script:InstallPath 'gateway.exe')).LastWriteTimeUtc | Should -Be $executableWritten
            Should -Invoke -ModuleName DicomGateway Register-DgwScheduledTask -Times 1 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Register-DgwService -Times 1 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Start-DgwService -Times 1 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Set-DgwFolderAccess -Times 3 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway New-DgwFirewallRule -Times 1 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Add-DgwDefenderExclusionPath -Times 2 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Set-DgwSleepTimeout -Times 1 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Disable-DgwHibernation -Times 1 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Stop-DgwService -Times 0 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Set-DgwFirewallRule -Times 0 -Exactly -Scope It
        }
    }

    Context 'an update' {
        BeforeEach {
            $null = Install-DicomGateway @script:Install
            $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 11; Name = 'gateway.exe'; CommandLine = '"gateway.exe" run --config x' })
            $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 12; Name = 'postgres.exe'; CommandLine = 'postgres.exe -D x' })
            $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 13; Name = 'gateway.exe'; CommandLine = '"gateway.exe" tray' })
        }

        It 'with a new gateway.exe, stops the agent, PostgreSQL and the trays, copies only what changed and restarts the agent' {
            Set-Content -LiteralPath (Join-Path $script:PackagePath 'gateway.exe') -Value 'version 2 of gateway.exe'
            $results = @(Install-DicomGateway @script:Install)
            (Get-ResultByName $results 'Package').Detail | Should -Match 'All 5 files'
            (Get-ResultByName $results 'Package').Previous | Should -Match '^1 of 5 files'
            Get-Content -LiteralPath (Join-Path $script:InstallPath 'gateway.exe') | Should -Be 'version 2 of gateway.exe'
            $script:Machine.Processes.Count | Should -Be 0
            Should -Invoke -ModuleName DicomGateway Stop-DgwService -Times 1 -Exactly -Scope It
            $agent = Get-ResultByName $results 'AgentRunning'
            $agent.Changed | Should -BeTrue
            $agent.Status | Should -Be 'Pass'
            $script:Machine.Services['DicomGateway'].State | Should -Be 'Running'
        }

        It 'with another AE title, rewrites only the AE title and restarts only the agent, not the trays' {
            $results = @(Install-DicomGateway @script:Install -AeTitle 'StMarysMR')
            (Get-WrittenConfig).aeTitle | Should -BeExactly 'StMarysMR'
            (Get-WrittenConfig).upstream.kind | Should -Be 'stow-rs'
            (Get-ResultByName $results 'Configuration').Changed | Should -BeTrue
            (Get-ResultByName $results 'Package').Changed | Should -BeFalse
            (Get-ResultByName $results 'AgentRunning').Changed | Should -BeTrue
            @($script:Machine.Processes.ProcessId) | Should -Be @(13)
        }

        It 'keeps settings the site changed since, and does not apply the template again' {
            $configFile = Join-Path $script:DataPath 'gateway.json'
            $edited = Get-WrittenConfig
            $edited.upstream.url = 'https://eu.cloud.example/dicom-web'
            [System.IO.File]::WriteAllText($configFile, ($edited | ConvertTo-Json -Depth 10))
            $results = @(Install-DicomGateway @script:Install)
            (Get-ResultByName $results 'Configuration').Changed | Should -BeFalse
            (Get-WrittenConfig).upstream.url | Should -Be 'https://eu.cloud.example/dicom-web'
        }
    }

    Context 'the AE title' {
        It 'keeps "<AeTitle>" exactly: case, inner spaces and punctuation' -ForEach @(
            @{ AeTitle = 'st marys ct' }
            @{ AeTitle = 'A' }
            @{ AeTitle = 'RAD-GW_01.SITE#2' }
            @{ AeTitle = 'SIXTEEN_CHARS_AE' }
        ) {
            $null = Install-DicomGateway @script:Install -AeTitle $AeTitle
            (Get-WrittenConfig).aeTitle | Should -BeExactly $AeTitle
        }

        It 'refuses <Case>, changes nothing, and throws with -EnableException' -ForEach @(
            @{ Case = 'an empty title'; AeTitle = ''; Message = 'empty' }
            @{ Case = '17 characters'; AeTitle = 'SEVENTEEN_CHARS_A'; Message = '17 characters' }
            @{ Case = 'a backslash'; AeTitle = 'ST\MARYS'; Message = 'backslash' }
            @{ Case = 'a leading space'; AeTitle = ' STMARYS'; Message = 'leading or trailing spaces' }
            @{ Case = 'a trailing space'; AeTitle = 'STMARYS '; Message = 'leading or trailing spaces' }
            @{ Case = 'spaces only'; AeTitle = '    '; Message = 'spaces only' }
            @{ Case = 'a character outside the default repertoire'; AeTitle = "Z$([char]0xFC)RICH"; Message = 'default repertoire' }
            @{ Case = 'a control character'; AeTitle = "ST`tMARYS"; Message = 'default repertoire' }
        ) {
            $warnings = $null
            Install-DicomGateway @script:Install -AeTitle $AeTitle -WarningVariable warnings -WarningAction SilentlyContinue | Should -BeNullOrEmpty
            "$warnings" | Should -Match $Message
            Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
            Assert-NoSetterCalled
            { Install-DicomGateway @script:Install -AeTitle $AeTitle -EnableException } | Should -Throw "*$Message*"
        }
    }

    Context 'with -WhatIf' {
        It 'changes nothing: no files, no configuration, no setter' {
            $results = @(Install-DicomGateway @script:Install -WhatIf)
            # Nothing runs, so there is no agent to check.
            $results.Name | Should -Be @($script:StepNames | Where-Object { $_ -notin 'AgentEcho', 'AgentDatabase', 'UpstreamConnectivity' })
            @($results | Where-Object { $_.Name -ne 'FirewallScope' }).Changed | Should -Be (@($false) * ($results.Count - 1))
            Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
            Test-Path -LiteralPath $script:DataPath | Should -BeFalse
            Assert-NoSetterCalled
        }
    }

    Context 'when something stands in the way' {
        It 'stops before changing anything when a prerequisite fails, naming it' {
            Mock -ModuleName DicomGateway Test-DicomGatewayPrerequisite { [pscustomobject]@{ Name = 'HostName'; Status = 'Fail'; Detail = "The computer name 'RAD_GW' contains an underscore"; Requirement = 'test' } }
            $warnings = $null
            Install-DicomGateway @script:Install -WarningVariable warnings -WarningAction SilentlyContinue | Should -BeNullOrEmpty
            "$warnings" | Should -Match "prerequisites not met.*HostName: The computer name 'RAD_GW' contains an underscore"
            Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
            Assert-NoSetterCalled
        }

        It 'installs anyway with -SkipPrerequisiteCheck' {
            Mock -ModuleName DicomGateway Test-DicomGatewayPrerequisite { [pscustomobject]@{ Name = 'Memory'; Status = 'Fail'; Detail = '4.0 GB installed'; Requirement = 'test' } }
            $results = @(Install-DicomGateway @script:Install -SkipPrerequisiteCheck)
            $results.Count | Should -Be $script:StepCount
            Should -Invoke -ModuleName DicomGateway Test-DicomGatewayPrerequisite -Times 0 -Exactly -Scope It
        }

        It 'warns on prerequisites that only warn, and installs' {
            Mock -ModuleName DicomGateway Test-DicomGatewayPrerequisite { [pscustomobject]@{ Name = 'StaticIPAddress'; Status = 'Warn'; Detail = 'Address from DHCP: 10.0.0.77'; Requirement = 'test' } }
            $warnings = $null
            $results = @(Install-DicomGateway @script:Install -WarningVariable warnings -WarningAction SilentlyContinue)
            $results.Count | Should -Be $script:StepCount
            "$warnings" | Should -Match 'StaticIPAddress: Address from DHCP'
        }

        It 'refuses a package without gateway.exe' {
            Remove-Item -LiteralPath (Join-Path $script:PackagePath 'gateway.exe')
            { Install-DicomGateway @script:Install -EnableException } | Should -Throw '*has no gateway.exe*'
        }

        It 'refuses a configuration without an upstream, changing nothing, unless -NoUpstream' {
            $install = $script:Install.Clone()
            $install.Remove('ConfigTemplatePath')
            { Install-DicomGateway @install -EnableException } | Should -Throw '*no upstream*-NoUpstream*'
            Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
            Assert-NoSetterCalled
            $results = @(Install-DicomGateway @install -NoUpstream)
            (Get-ResultByName $results 'Configuration').Detail | Should -Match 'no upstream \(-NoUpstream\)'
            (Get-ResultByName $results 'UpstreamConnectivity').Status | Should -Be 'NotApplicable'
        }

        It 'reports Warn, not failure, when the agent cannot be started now: it starts at the next boot' {
            $script:Machine.StartServiceFails = $true
            $agent = Get-ResultByName @(Install-DicomGateway @script:Install) 'AgentRunning'
            $agent.Status | Should -Be 'Warn'
            $agent.Detail | Should -Match 'next boot'
        }

        It 'stops at a step that fails, with a warning, or a terminating error with -EnableException' {
            Mock -ModuleName DicomGateway Register-DgwService { throw 'Access is denied.' }
            $warnings = $null
            $results = @(Install-DicomGateway @script:Install -WarningVariable warnings -WarningAction SilentlyContinue)
            $results.Name | Should -Be @('InstallFolderAccess', 'DataFolderAccess', 'TrayFolderAccess', 'Package', 'Secrets', 'Configuration', 'InstallRecord', 'UninstallEntry', 'AgentTask')
            "$warnings" | Should -Match 'Install-DicomGateway stopped: Access is denied'
            Should -Invoke -ModuleName DicomGateway New-DgwFirewallRule -Times 0 -Exactly -Scope It
            { Install-DicomGateway @script:Install -EnableException } | Should -Throw '*Access is denied*'
        }

        It 'refuses a data folder someone else created first, even with -SkipPrerequisiteCheck, and changes nothing' {
            $null = New-Item -Path $script:DataPath -ItemType Directory -Force
            $script:Machine.FolderAccess[$script:DataPath] = [pscustomobject]@{ Owner = 'S-1-5-21-1-2-3-1001'; Protected = $false; Rules = @() }
            { Install-DicomGateway @script:Install -SkipPrerequisiteCheck -EnableException } | Should -Throw '*owned by S-1-5-21-1-2-3-1001, not by SYSTEM or Administrators*takeown*'
            Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
            Assert-NoSetterCalled
        }

        It 'runs on Windows only' {
            $script:Machine.IsWindows = $false
            { Install-DicomGateway @script:Install -EnableException } | Should -Throw '*Windows only*'
            Assert-NoSetterCalled
        }
    }

    Context 'an earlier version with its scheduled task and secrets in gateway.json' {
        BeforeEach {
            $null = New-Item -Path $script:InstallPath -ItemType Directory -Force
            $null = Write-TestConfig -DataPath $script:DataPath -Json '{ "aeTitle": "StMarysCT", "port": 4104, "dataDir": "x", "upstream": { "kind": "stow-rs", "url": "https://upload.cloud.example/dicom-web", "token": "s3cret-token", "proxy": "http://gw:pr0xy%40pw@proxy.hospital.example:3128" }, "database": { "url": "postgres://gw:db%21pw@db.hospital.example:5432/gateway" } }'
            Register-FakeTask -Role Agent -State Running
            $script:Machine.Exclusions.Add($script:DataPath)
            $script:Results = @(Install-DicomGateway @script:Install)
        }

        It 'moves the agent from the task to the service, and stops scanning nothing but what users cannot write' {
            (Get-ResultByName $script:Results 'AgentTask').Changed | Should -BeTrue
            $script:Machine.Tasks.ContainsKey('\DicomGateway\DicomGateway Agent') | Should -BeFalse
            $script:Machine.Services['DicomGateway'].State | Should -Be 'Running'
            @($script:Machine.Exclusions) | Should -Not -Contain $script:DataPath
            # LocalSubnet, the default, warns that other subnets are blocked.
            $script:Results.Status | Should -Be (@('Pass') * 14 + @('Warn') + @('Pass') * 9)
        }

        It 'stores the token, proxy password and database password protected, and takes them out of gateway.json' {
            $config = Get-WrittenConfig
            $config.upstream.PSObject.Properties['token'] | Should -BeNullOrEmpty
            $config.upstream.proxy | Should -Be 'http://gw@proxy.hospital.example:3128'
            $config.database.url | Should -Be 'postgres://gw@db.hospital.example:5432/gateway'
            Should -Invoke -ModuleName DicomGateway Protect-DgwSecret -Scope Context -ParameterFilter { $Name -eq 'database.password' -and $Value -eq 'db!pw' }
            $stored = Get-Content -LiteralPath (Join-Path $script:DataPath 'secrets.json') -Raw
            $stored | Should -Not -Match 's3cret-token'
            ($stored | ConvertFrom-Json).protection | Should -Be 'dpapi-machine'
            Should -Invoke -ModuleName DicomGateway Protect-DgwSecret -Scope Context -ParameterFilter { $Name -eq 'upstream.proxyPassword' -and $Value -eq 'pr0xy@pw' }
            (Get-ResultByName $script:Results 'Secrets').Detail | Should -Match 'database.password, upstream.proxyPassword, upstream.token, protected with DPAPI'
        }

        It 'takes a new token as a SecureString, replaces the stored one, and a second run changes nothing' {
            $token = ConvertTo-SecureString -String 'rotated-token' -AsPlainText -Force
            $secrets = Get-ResultByName @(Install-DicomGateway @script:Install -UpstreamToken $token) 'Secrets'
            $secrets.Changed | Should -BeTrue
            Should -Invoke -ModuleName DicomGateway Protect-DgwSecret -Scope It -ParameterFilter { $Name -eq 'upstream.token' -and $Value -eq 'rotated-token' }
            (Get-ResultByName @(Install-DicomGateway @script:Install -UpstreamToken $token) 'Secrets').Changed | Should -BeFalse
        }
    }
}

Describe 'Install-DicomGateway for many sites: site file, registry, verification, upgrades' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        Mock -ModuleName DicomGateway Test-DicomGatewayPrerequisite { [pscustomobject]@{ Name = 'Memory'; Status = 'Pass'; Detail = '32.0 GB installed'; Requirement = 'test' } }
        $root = New-TestFolder
        $script:PackagePath = Join-Path $root 'package'
        $script:InstallPath = Join-Path $root 'D/Gateway'
        $script:DataPath = Join-Path $root 'E/GatewayData'
        New-Package -Path $script:PackagePath
        $siteFolder = Join-Path $root 'sites'
        $null = New-Item -Path (Join-Path $siteFolder 'certs') -ItemType Directory -Force
        Set-Content -LiteralPath (Join-Path $siteFolder 'certs/cloud-ca.pem') -Value 'CLOUD CA'
        $script:Site = [ordered]@{
            aeTitle = 'StMarysCT'; port = 11112; installPath = $script:InstallPath; dataPath = $script:DataPath
            remoteAddresses = @('10.20.0.0/16', '10.30.1.5'); restrictReceiverToRemoteAddresses = $true
            upstream = [ordered]@{ kind = 'stow-rs'; url = 'https://upload.cloud.example/dicom-web'; caFile = 'certs/cloud-ca.pem'; token = 's3cret-token' }
        }
        $script:SiteFile = Join-Path $siteFolder 'st-marys.json'
        function Save-Site { $script:Site | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $script:SiteFile }
        Save-Site
        $script:Install = @{ SiteFile = $script:SiteFile; PackagePath = $script:PackagePath; Confirm = $false }
    }

    It 'takes every setting from the site file: AE title, port, upstream, certificate, token, remote addresses' {
        $results = @(Install-DicomGateway @script:Install -EnableException)
        @($results | Where-Object { $_.Status -notin 'Pass' }).Name | Should -BeNullOrEmpty
        $config = Get-Content -LiteralPath (Join-Path $script:DataPath 'gateway.json') -Raw | ConvertFrom-Json
        $config.aeTitle | Should -BeExactly 'StMarysCT'
        $config.port | Should -Be 11112
        $config.upstream.url | Should -Be 'https://upload.cloud.example/dicom-web'
        $config.upstream.PSObject.Properties['token'] | Should -BeNullOrEmpty
        $copy = [System.IO.Path]::Combine($script:DataPath, 'certs', 'upstream-ca.pem')
        $config.upstream.caFile | Should -Be $copy
        Get-Content -LiteralPath $copy | Should -Be 'CLOUD CA'
        @($config.firewall.remoteAddresses) | Should -Be @('10.20.0.0/16', '10.30.1.5')
        @($config.allowedSourceAddresses) | Should -Be @('10.20.0.0/16', '10.30.1.5')
        Should -Invoke -ModuleName DicomGateway Protect-DgwSecret -Scope It -ParameterFilter { $Name -eq 'upstream.token' -and $Value -eq 's3cret-token' }
        $rule = $script:Machine.FirewallRules['DicomGateway-DICOM-TCP-In']
        $rule.LocalPort | Should -Be '11112'
        @($rule.RemoteAddress) | Should -Be @('10.20.0.0/255.255.0.0', '10.30.1.5')
        (Get-ResultByName $results 'UpstreamConnectivity').Status | Should -Be 'Pass'
    }

    It 'accepts the example site file of the package' {
        $example = Join-Path $script:RepositoryRoot 'provisioning/package/site.example.json'
        $null = Install-DicomGateway -SiteFile $example -PackagePath $script:PackagePath -InstallPath $script:InstallPath -DataPath $script:DataPath -Confirm:$false -EnableException
        (Get-Content -LiteralPath (Join-Path $script:DataPath 'gateway.json') -Raw | ConvertFrom-Json).aeTitle | Should -BeExactly 'StMarysCT'
    }

    It 'refuses a site file with mistakes, naming each one, and changes nothing' {
        $script:Site.aeTitle = 'St_Marys_CT_Is_Far_Too_Long'
        $script:Site.upstream = [ordered]@{ kind = 'dicom-tls'; host = 'cloud.example'; calledAeTitle = 'CLOUD'; certFile = 'certs/missing.pem'; tokn = 'x' }
        $script:Site.remoteAddresses = @('10.20.0.0/16', 'LocalSubnet')
        Save-Site
        $message = ''
        try { Install-DicomGateway @script:Install -EnableException } catch { $message = $_.Exception.Message }
        $message | Should -Match 'aeTitle'
        $message | Should -Match 'upstream.port'
        $message | Should -Match 'unknown upstream setting "tokn"'
        $message | Should -Match 'certs.missing\.pem does not exist'
        $message | Should -Match 'certFile and upstream.keyFile go together'
        $message | Should -Match 'restrictReceiverToRemoteAddresses .* not: LocalSubnet'
        Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
        Assert-NoSetterCalled
    }

    It 'records its folders and version in HKLM and in Programs and Features, with an uninstall command for those folders' {
        $null = Install-DicomGateway @script:Install -EnableException
        $record = $script:Machine.Registry['HKLM:\SOFTWARE\DicomGateway']
        $record.InstallPath | Should -Be $script:InstallPath
        $record.DataPath | Should -Be $script:DataPath
        $record.Version | Should -Be '0.2.0'
        $entry = $script:Machine.Registry['HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\DicomGateway']
        $entry.DisplayName | Should -Be 'DICOM Gateway'
        $entry.DisplayVersion | Should -Be '0.2.0'
        $entry.UninstallString | Should -Match ([regex]::Escape("Uninstall-DicomGateway -InstallPath '$($script:InstallPath)' -DataPath '$($script:DataPath)'"))
        $entry.UninstallString | Should -Match ([regex]::Escape([System.IO.Path]::Combine($script:InstallPath, 'powershell', 'DicomGateway', 'DicomGateway.psd1')))
        $entry.QuietUninstallString | Should -Match '-Confirm:\$false"$'
    }

    It 'finds the recorded folders when an upgrade does not name them' {
        $null = Install-DicomGateway @script:Install -EnableException
        $script:Site.Remove('installPath')
        $script:Site.Remove('dataPath')
        Save-Site
        $results = @(Install-DicomGateway @script:Install -EnableException)
        (Get-ResultByName $results 'Package').Detail | Should -Match ([regex]::Escape($script:InstallPath))
        (Get-ResultByName $results 'Configuration').Changed | Should -BeFalse
    }

    It 'copies a file whose content changed at the same length (0.2.0 -> 0.2.1), and keeps configuration and data' {
        Set-Content -LiteralPath (Join-Path $script:PackagePath 'gateway.exe') -Value 'gateway 0.2.0'
        $null = Install-DicomGateway @script:Install -EnableException
        $spooled = New-Item -Path (Join-Path $script:DataPath 'spool/1.2.3/4.dcm') -ItemType File -Force
        New-Package -Path $script:PackagePath -Version '0.2.1'
        Set-Content -LiteralPath (Join-Path $script:PackagePath 'gateway.exe') -Value 'gateway 0.2.1'
        $results = @(Install-DicomGateway @script:Install -EnableException)
        (Get-ResultByName $results 'Package').Previous | Should -Match '^2 of 5 files'
        Get-Content -LiteralPath (Join-Path $script:InstallPath 'gateway.exe') | Should -Be 'gateway 0.2.1'
        (Get-ResultByName $results 'Configuration').Changed | Should -BeFalse
        Test-Path -LiteralPath $spooled.FullName | Should -BeTrue
        $script:Machine.Registry['HKLM:\SOFTWARE\DicomGateway'].Version | Should -Be '0.2.1'
        Test-Path -LiteralPath ($script:InstallPath + '.previous') | Should -BeFalse
    }

    It 'puts the previous files back when the upgraded agent does not answer C-ECHO, and fails' {
        Set-Content -LiteralPath (Join-Path $script:PackagePath 'gateway.exe') -Value 'gateway 0.2.0'
        $null = Install-DicomGateway @script:Install -EnableException
        New-Package -Path $script:PackagePath -Version '0.3.0'
        Set-Content -LiteralPath (Join-Path $script:PackagePath 'gateway.exe') -Value 'gateway 0.3.0 that crashes'
        Set-Content -LiteralPath (Join-Path $script:PackagePath 'new-in-0.3.0.dll') -Value 'new'
        $script:Machine.Cli = {
            param($ArgumentList)
            $installed = Get-Content -LiteralPath (Join-Path $script:InstallPath 'gateway.exe')
            $code = if ($ArgumentList[0] -eq 'echo' -and $installed -match 'crashes') { 1 } else { 0 }
            [pscustomobject]@{ ExitCode = $code; Output = ''; ErrorOutput = $(if ($code) { 'connection refused' } else { '' }) }
        }
        $results = @(Install-DicomGateway @script:Install -HealthTimeoutSeconds 4)
        (Get-ResultByName $results 'AgentEcho').Status | Should -Be 'Fail'
        $rollback = Get-ResultByName $results 'Rollback'
        $rollback.Status | Should -Be 'Fail'
        $rollback.Detail | Should -Match 'The agent 0\.3\.0 failed AgentEcho: the files of 0\.2\.0 are back'
        Get-Content -LiteralPath (Join-Path $script:InstallPath 'gateway.exe') | Should -Be 'gateway 0.2.0'
        Test-Path -LiteralPath (Join-Path $script:InstallPath 'new-in-0.3.0.dll') | Should -BeFalse
        $script:Machine.Registry['HKLM:\SOFTWARE\DicomGateway'].Version | Should -Be '0.2.0'
        $script:Machine.Services['DicomGateway'].State | Should -Be 'Running'
        Test-Path -LiteralPath ($script:InstallPath + '.previous') | Should -BeFalse
    }

    It 'fails a first install whose agent reports its database down (nothing to roll back to)' {
        $script:Machine.ApiStatus.database = [pscustomobject]@{ ok = $false; error = 'initdb failed' }
        $results = @(Install-DicomGateway @script:Install -HealthTimeoutSeconds 4)
        $database = Get-ResultByName $results 'AgentDatabase'
        $database.Status | Should -Be 'Fail'
        $database.Detail | Should -Match 'database down: initdb failed'
        Get-ResultByName $results 'Rollback' | Should -BeNullOrEmpty
    }

    It 'fails when the cloud does not answer the connectivity test' {
        $script:Machine.Cli = { param($ArgumentList) [pscustomobject]@{ ExitCode = $(if ($ArgumentList[0] -eq 'test-connectivity') { 1 } else { 0 }); Output = 'TLS: certificate has expired'; ErrorOutput = '' } }
        $results = @(Install-DicomGateway @script:Install)
        (Get-ResultByName $results 'UpstreamConnectivity').Detail | Should -Match 'exited with 1: TLS: certificate has expired'
        Get-ResultByName $results 'Rollback' | Should -BeNullOrEmpty
    }

    It 'opens the DICOM-TLS port too when the configuration has one, and later checks use the saved settings' {
        $null = New-Item -Path $script:DataPath -ItemType Directory -Force
        $null = Write-TestConfig -DataPath $script:DataPath -Json '{ "aeTitle": "StMarysCT", "tls": { "port": 2762, "certFile": "c.pem", "keyFile": "k.pem" } }'
        $null = Install-DicomGateway @script:Install -EnableException
        $script:Machine.FirewallRules['DicomGateway-DICOM-TCP-In'].LocalPort | Should -Be '2762,11112'
        (Test-DicomGatewayFirewallRule -InstallPath $script:InstallPath -DataPath $script:DataPath).Status | Should -Be 'Pass'
        (Test-DicomGatewayFirewallRule).Status | Should -Be 'Pass'
        (Test-DicomGatewayFirewallRule -RemoteAddress 'LocalSubnet').Status | Should -Be 'Fail'
    }
}
