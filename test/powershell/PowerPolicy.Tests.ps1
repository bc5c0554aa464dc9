BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
}

Describe 'Test-DicomGatewayPowerPolicy' {
    BeforeEach { $script:Machine = New-FakeMachine }

    It 'fails a computer that sleeps and hibernates, saying after how long' {
        $results = @(Test-DicomGatewayPowerPolicy)
        $results.Name | Should -Be @('SleepTimeout', 'Hibernation')
        $results.Status | Should -Be @('Fail', 'Fail')
        $results[0].Detail | Should -Be 'The active power plan sleeps: on AC power after 30 min, on battery after 15 min'
    }

    It 'fails a computer that sleeps only on battery' {
        $script:Machine.SleepAcSeconds = 0
        (Test-DicomGatewayPowerPolicy)[0].Detail | Should -Match 'on AC power never, on battery after 15 min'
    }

    It 'passes a computer that never sleeps and does not hibernate' {
        $script:Machine.SleepAcSeconds = 0
        $script:Machine.SleepDcSeconds = 0
        $script:Machine.Hibernation = $false
        (Test-DicomGatewayPowerPolicy).Status | Should -Be @('Pass', 'Pass')
    }

    It 'is NotApplicable off Windows' {
        $script:Machine.IsWindows = $false
        (Test-DicomGatewayPowerPolicy).Status | Should -Be @('NotApplicable', 'NotApplicable')
    }
}

Describe 'Set-DicomGatewayPowerPolicy' {
    BeforeEach { $script:Machine = New-FakeMachine }

    It 'sets never sleep and turns hibernation off' {
        $results = @(Set-DicomGatewayPowerPolicy)
        $results.Status | Should -Be @('Pass', 'Pass')
        $results.Changed | Should -Be @($true, $true)
        $results[0].Previous | Should -Match 'after 30 min'
        Should -Invoke -ModuleName DicomGateway Set-DgwSleepTimeout -Times 1 -Exactly -Scope It -ParameterFilter { $Minutes -eq 0 }
        Should -Invoke -ModuleName DicomGateway Disable-DgwHibernation -Times 1 -Exactly -Scope It
    }

    It 'run twice, changes nothing the second time, says so and calls no setter' {
        $null = Set-DicomGatewayPowerPolicy
        Mock -ModuleName DicomGateway Set-DgwSleepTimeout { throw 'must not be called' }
        Mock -ModuleName DicomGateway Disable-DgwHibernation { throw 'must not be called' }
        $second = @(Set-DicomGatewayPowerPolicy)
        $second.Changed | Should -Be @($false, $false)
        $second[0].Detail | Should -Be 'No change: The active power plan never sleeps'
        $second[1].Detail | Should -Be 'No change: Hibernation is off'
    }

    It 'with -WhatIf changes nothing' {
        $results = @(Set-DicomGatewayPowerPolicy -WhatIf)
        $results.Changed | Should -Be @($false, $false)
        $script:Machine.SleepAcSeconds | Should -Be 1800
        $script:Machine.Hibernation | Should -BeTrue
        Assert-NoSetterCalled
    }

    It 'warns when powercfg fails and stops there; throws with -EnableException' {
        $script:Machine.PowerCfgFails = $true
        $warnings = $null
        $results = @(Set-DicomGatewayPowerPolicy -WarningVariable warnings -WarningAction SilentlyContinue)
        $results.Count | Should -Be 0
        "$warnings" | Should -Match 'Could not set the active power plan to never sleep: powercfg /change failed'
        Should -Invoke -ModuleName DicomGateway Disable-DgwHibernation -Times 0 -Exactly -Scope It
        { Set-DicomGatewayPowerPolicy -EnableException } | Should -Throw '*Access is denied*'
    }
}

Describe 'ConvertFrom-DicomGatewayPowerCfgQuery' {
    It 'reads the AC and DC values of <Language> powercfg output' -ForEach @(
        @{ Language = 'English'; Text = @(
                'Power Scheme GUID: 381b4222-f694-41f0-9685-ff5bb260df2e  (Balanced)'
                '  Subgroup GUID: 238c9fa8-0aad-41ed-83f4-97be242c8f20  (Sleep)'
                '    Power Setting GUID: 29f6c1db-86da-48c5-9fdb-f2b67b1f44da  (Sleep after)'
                '      Minimum Possible Setting: 0x00000000'
                '      Maximum Possible Setting: 0xffffffff'
                '      Possible Settings increment: 0x00000001'
                '      Possible Settings units: Seconds'
                '    Current AC Power Setting Index: 0x00000708'
                '    Current DC Power Setting Index: 0x00000384') }
        @{ Language = 'German'; Text = @(
                'GUID des Energieschemas: 381b4222-f694-41f0-9685-ff5bb260df2e  (Ausbalanciert)'
                '    GUID der Energieeinstellung: 29f6c1db-86da-48c5-9fdb-f2b67b1f44da  (Energie sparen nach)'
                '      Minimaler moeglicher Wert: 0x00000000'
                '      Maximaler moeglicher Wert: 0xffffffff'
                '      Moegliche Einstellungsschritte: 0x00000001'
                '    Index der aktuellen Wechselstromeinstellung: 0x00000708'
                '    Index der aktuellen Gleichstromeinstellung: 0x00000384') }
    ) {
        InModuleScope DicomGateway -Parameters @{ Text = $Text } {
            $values = ConvertFrom-DicomGatewayPowerCfgQuery -Text $Text
            $values.Ac | Should -Be 1800
            $values.Dc | Should -Be 900
        }
    }

    It 'throws on output without values' {
        InModuleScope DicomGateway {
            { ConvertFrom-DicomGatewayPowerCfgQuery -Text @('Invalid Parameters -- try "/?" for help') } | Should -Throw '*Unexpected powercfg output*'
        }
    }
}
