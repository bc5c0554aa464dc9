BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
}

Describe 'Uninstall-DicomGateway' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        $root = New-TestFolder
        $script:InstallPath = Join-Path $root 'Program Files/DicomGateway'
        $script:DataPath = Join-Path $root 'ProgramData/DicomGateway'
        $script:PostgresPath = [System.IO.Path]::Combine($script:InstallPath, 'postgres')
        $null = New-Item -Path (Join-Path $script:InstallPath 'postgres/bin') -ItemType Directory -Force
        Set-Content -LiteralPath (Join-Path $script:InstallPath 'gateway.exe') -Value 'exe'
        $null = New-Item -Path (Join-Path $script:DataPath 'spool') -ItemType Directory -Force
        Set-Content -LiteralPath (Join-Path $script:DataPath 'spool/1.2.3.dcm') -Value 'a study not yet uploaded'
        Register-FakeService -State Running
        Register-FakeTask -Role Agent -State Ready
        Register-FakeTask -Role Tray -State Ready
        $script:Machine.FirewallRules['DicomGateway-DICOM-TCP-In'] = [pscustomobject]@{ Name = 'DicomGateway-DICOM-TCP-In' }
        $script:DatabasePath = [System.IO.Path]::Combine($script:DataPath, 'postgres')
        foreach ($path in $script:InstallPath, $script:DataPath, $script:PostgresPath, $script:DatabasePath, 'E:\Other') { $script:Machine.Exclusions.Add($path) }
        $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 21; Name = 'postgres.exe'; CommandLine = 'postgres.exe -D data' })
        $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 22; Name = 'gateway.exe'; CommandLine = 'gateway.exe tray' })
        $script:Machine.Registry['HKLM:\SOFTWARE\DicomGateway'] = @{ InstallPath = $script:InstallPath; DataPath = $script:DataPath; Version = '0.2.0' }
        $script:Machine.Registry['HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\DicomGateway'] = @{ DisplayName = 'DICOM Gateway' }
        $script:Machine.EventLogSources.Add('DicomGateway')
        $programData = if ($env:ProgramData) { $env:ProgramData } else { 'C:\ProgramData' }
        $script:Machine.Shortcuts[[System.IO.Path]::Combine($programData, 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'DICOM Gateway.lnk')] = [pscustomobject]@{ Target = 'x' }
        $script:Uninstall = @{ InstallPath = $script:InstallPath; DataPath = $script:DataPath; Confirm = $false }
    }

    It 'removes the service, tasks, processes, firewall rule, its own exclusions and the install folder, and keeps the data' {
        $results = @(Uninstall-DicomGateway @script:Uninstall)
        $results.Name | Should -Be @('AgentService', 'AgentTask', 'TrayTask', 'AgentProcesses', 'FirewallRule', 'InstallFolderExclusion', 'DatabaseFolderExclusion', 'DataFolderExclusion', 'PostgresFolderExclusion', 'StartMenuShortcut', 'EventLogSource', 'InstallRecord', 'UninstallEntry', 'InstallFolder', 'DataFolder')
        $results.Status | Should -Be (@('Pass') * 15)
        $results.Changed | Should -Be (@($true) * 14 + $false)
        $script:Machine.Shortcuts.Count | Should -Be 0
        $script:Machine.Registry.Count | Should -Be 0
        $script:Machine.EventLogSources.Count | Should -Be 0
        $script:Machine.Services.Count | Should -Be 0
        $script:Machine.Tasks.Count | Should -Be 0
        $script:Machine.Processes.Count | Should -Be 0
        $script:Machine.FirewallRules.Count | Should -Be 0
        @($script:Machine.Exclusions) | Should -Be @('E:\Other')
        Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
        Get-Content -LiteralPath (Join-Path $script:DataPath 'spool/1.2.3.dcm') | Should -Be 'a study not yet uploaded'
        (Get-ResultByName $results 'DataFolder').Detail | Should -Match '^Kept .*-RemoveData deletes it'
    }

    It 'stops the service (orderly, through gateway stop) before it deletes it' {
        $script:Machine.Services['DicomGateway'].State = 'Running'
        Mock -ModuleName DicomGateway Unregister-DgwService {
            $script:Machine.Services['DicomGateway'].State | Should -Be 'Stopped'
            $script:Machine.Services.Remove($Name)
        }
        $null = Uninstall-DicomGateway @script:Uninstall
        Should -Invoke -ModuleName DicomGateway Stop-DgwService -Times 1 -Exactly -Scope It
        Should -Invoke -ModuleName DicomGateway Unregister-DgwService -Times 1 -Exactly -Scope It
    }

    It 'finds the folders in the registry, wherever the install put them' {
        $results = @(Uninstall-DicomGateway -Confirm:$false)
        (Get-ResultByName $results 'InstallFolder').Previous | Should -Be ('{0} exists' -f $script:InstallPath)
        Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
    }

    It 'with -RemoveData, refuses while the cloud has not confirmed every study, and changes nothing' {
        $script:Machine.ApiStatus.uploads = [pscustomobject]@{ queued = 3; sending = 1; awaitingCommitment = 2; failed = 0; studiesDone = 7 }
        $script:Machine.ApiStatus.queue = [pscustomobject]@{ studies = 2; instances = 4 }
        { Uninstall-DicomGateway @script:Uninstall -RemoveData -EnableException } | Should -Throw '*6 instance(s) in 2 studies are not confirmed*-Force*'
        Test-Path -LiteralPath $script:DataPath | Should -BeTrue
        Test-Path -LiteralPath $script:InstallPath | Should -BeTrue
        Assert-NoSetterCalled
    }

    It 'with -RemoveData and the agent not answering, refuses while the spool holds files' {
        $script:Machine.ApiDown = $true
        { Uninstall-DicomGateway @script:Uninstall -RemoveData -EnableException } | Should -Throw '*cannot be asked*holds 1 file*'
        Assert-NoSetterCalled
    }

    It 'with -RemoveData -Force, deletes unconfirmed studies too' {
        $script:Machine.ApiStatus.uploads = [pscustomobject]@{ queued = 3; sending = 0; awaitingCommitment = 0; failed = 0; studiesDone = 0 }
        $results = @(Uninstall-DicomGateway @script:Uninstall -RemoveData -Force)
        (Get-ResultByName $results 'UnconfirmedStudies').Status | Should -Be 'Fail'
        Test-Path -LiteralPath $script:DataPath | Should -BeFalse
    }

    It 'with -RemoveData, deletes the data folder too once the cloud has confirmed everything' {
        $results = @(Uninstall-DicomGateway @script:Uninstall -RemoveData)
        (Get-ResultByName $results 'UnconfirmedStudies').Status | Should -Be 'Pass'
        (Get-ResultByName $results 'DataFolder').Changed | Should -BeTrue
        Test-Path -LiteralPath $script:DataPath | Should -BeFalse
        @($script:Machine.Exclusions) | Should -Be @('E:\Other')
    }

    It 'run twice, changes nothing the second time, says so and calls no setter' {
        $null = Uninstall-DicomGateway @script:Uninstall
        Mock -ModuleName DicomGateway Unregister-DgwScheduledTask { throw 'must not be called' }
        Mock -ModuleName DicomGateway Remove-DgwFirewallRule { throw 'must not be called' }
        Mock -ModuleName DicomGateway Remove-DgwDefenderExclusionPath { throw 'must not be called' }
        $second = @(Uninstall-DicomGateway @script:Uninstall)
        $second.Changed | Should -Be (@($false) * 15)
        foreach ($result in $second | Where-Object { $_.Name -ne 'DataFolder' }) { $result.Detail | Should -Match '^No change: ' }
    }

    It 'with -WhatIf removes nothing' {
        $script:Machine.ApiDown = $true
        $results = @(Uninstall-DicomGateway @script:Uninstall -RemoveData -WhatIf)
        $results.Changed | Should -Be (@($false) * $results.Count)
        Test-Path -LiteralPath $script:InstallPath | Should -BeTrue
        Test-Path -LiteralPath $script:DataPath | Should -BeTrue
        $script:Machine.Tasks.Count | Should -Be 2
        $script:Machine.Services.Count | Should -Be 1
        Assert-NoSetterCalled
    }

    It 'goes on when Defender cannot be asked, and warns about the exclusions' {
        $script:Machine.DefenderAvailable = $false
        $results = @(Uninstall-DicomGateway @script:Uninstall)
        (Get-ResultByName $results 'InstallFolderExclusion').Status | Should -Be 'Warn'
        Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
    }

    It 'stops with a warning when a step fails, or a terminating error with -EnableException' {
        Mock -ModuleName DicomGateway Remove-DgwFirewallRule { throw 'Access is denied.' }
        $warnings = $null
        $null = Uninstall-DicomGateway @script:Uninstall -WarningVariable warnings -WarningAction SilentlyContinue
        "$warnings" | Should -Match 'Uninstall-DicomGateway stopped: Access is denied'
        Test-Path -LiteralPath $script:InstallPath | Should -BeTrue
        { Uninstall-DicomGateway @script:Uninstall -EnableException } | Should -Throw '*Access is denied*'
    }
}
