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
        Register-FakeTask -Role Agent -State Running
        Register-FakeTask -Role Tray -State Ready
        $script:Machine.FirewallRules['DicomGateway-DICOM-TCP-In'] = [pscustomobject]@{ Name = 'DicomGateway-DICOM-TCP-In' }
        foreach ($path in $script:InstallPath, $script:DataPath, $script:PostgresPath, 'E:\Other') { $script:Machine.Exclusions.Add($path) }
        $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 21; Name = 'postgres.exe'; CommandLine = 'postgres.exe -D data' })
        $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 22; Name = 'gateway.exe'; CommandLine = 'gateway.exe tray' })
        $script:Uninstall = @{ InstallPath = $script:InstallPath; DataPath = $script:DataPath; Confirm = $false }
    }

    It 'removes tasks, processes, firewall rule, its own exclusions and the install folder, and keeps the data' {
        $results = @(Uninstall-DicomGateway @script:Uninstall)
        $results.Name | Should -Be @('AgentTask', 'TrayTask', 'AgentProcesses', 'FirewallRule', 'InstallFolderExclusion', 'PostgresFolderExclusion', 'InstallFolder', 'DataFolder')
        $results.Status | Should -Be (@('Pass') * 8)
        $results.Changed | Should -Be @($true, $true, $true, $true, $true, $true, $true, $false)
        $script:Machine.Tasks.Count | Should -Be 0
        $script:Machine.Processes.Count | Should -Be 0
        $script:Machine.FirewallRules.Count | Should -Be 0
        @($script:Machine.Exclusions) | Should -Be @($script:DataPath, 'E:\Other')
        Test-Path -LiteralPath $script:InstallPath | Should -BeFalse
        Get-Content -LiteralPath (Join-Path $script:DataPath 'spool/1.2.3.dcm') | Should -Be 'a study not yet uploaded'
        (Get-ResultByName $results 'DataFolder').Detail | Should -Match '^Kept .*-RemoveData deletes it'
    }

    It 'stops the agent before it unregisters it' {
        $null = Uninstall-DicomGateway @script:Uninstall
        Should -Invoke -ModuleName DicomGateway Stop-DgwScheduledTask -Times 1 -Exactly -Scope It
    }

    It 'with -RemoveData, deletes the data folder and its exclusion too' {
        $results = @(Uninstall-DicomGateway @script:Uninstall -RemoveData)
        (Get-ResultByName $results 'DataFolder').Changed | Should -BeTrue
        (Get-ResultByName $results 'DataFolderExclusion').Changed | Should -BeTrue
        Test-Path -LiteralPath $script:DataPath | Should -BeFalse
        @($script:Machine.Exclusions) | Should -Be @('E:\Other')
    }

    It 'run twice, changes nothing the second time, says so and calls no setter' {
        $null = Uninstall-DicomGateway @script:Uninstall
        Mock -ModuleName DicomGateway Unregister-DgwScheduledTask { throw 'must not be called' }
        Mock -ModuleName DicomGateway Remove-DgwFirewallRule { throw 'must not be called' }
        Mock -ModuleName DicomGateway Remove-DgwDefenderExclusionPath { throw 'must not be called' }
        $second = @(Uninstall-DicomGateway @script:Uninstall)
        $second.Changed | Should -Be (@($false) * 8)
        foreach ($result in $second | Where-Object { $_.Name -ne 'DataFolder' }) { $result.Detail | Should -Match '^No change: ' }
    }

    It 'with -WhatIf removes nothing' {
        $results = @(Uninstall-DicomGateway @script:Uninstall -RemoveData -WhatIf)
        $results.Changed | Should -Be (@($false) * $results.Count)
        Test-Path -LiteralPath $script:InstallPath | Should -BeTrue
        Test-Path -LiteralPath $script:DataPath | Should -BeTrue
        $script:Machine.Tasks.Count | Should -Be 2
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
