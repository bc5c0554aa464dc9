BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
    $script:RuleName = 'DicomGateway-DICOM-TCP-In'
    $script:Program = [System.IO.Path]::Combine('C:\Program Files\DicomGateway', 'gateway.exe')

    function New-GoodRule {
        [pscustomobject]@{
            Name = $script:RuleName; Enabled = $true; Direction = 'Inbound'; Action = 'Allow'; Protocol = 'TCP'
            LocalPort = '4104'; Program = $script:Program; RemoteAddress = @('LocalSubnet'); Profile = 'Any'
        }
    }
}

Describe 'Test-DicomGatewayFirewallRule' {
    BeforeEach { $script:Machine = New-FakeMachine }

    It 'fails when there is no rule' {
        $result = Test-DicomGatewayFirewallRule
        $result.Name | Should -Be 'FirewallRule'
        $result.Status | Should -Be 'Fail'
        $result.Detail | Should -Match 'There is no rule DicomGateway-DICOM-TCP-In'
    }

    It 'passes the rule the gateway needs' {
        $script:Machine.FirewallRules[$script:RuleName] = New-GoodRule
        $result = Test-DicomGatewayFirewallRule
        $result.Status | Should -Be 'Pass'
        $result.Detail | Should -Match 'inbound TCP 4104 for .*gateway\.exe from LocalSubnet'
    }

    It 'fails a rule that <Case>' -ForEach @(
        @{ Case = 'opens another port'; Property = 'LocalPort'; Value = '104'; Expected = "LocalPort is '104', wanted '4104'" }
        @{ Case = 'opens every port'; Property = 'LocalPort'; Value = 'Any'; Expected = "LocalPort is 'Any'" }
        @{ Case = 'is for UDP'; Property = 'Protocol'; Value = 'UDP'; Expected = "Protocol is 'UDP'" }
        @{ Case = 'is for another program'; Property = 'Program'; Value = 'C:\Tools\storescp.exe'; Expected = 'Program is' }
        @{ Case = 'is for any program'; Property = 'Program'; Value = 'Any'; Expected = 'Program is' }
        @{ Case = 'admits anyone'; Property = 'RemoteAddress'; Value = @('Any'); Expected = "RemoteAddress is 'Any', wanted 'LocalSubnet'" }
        @{ Case = 'blocks'; Property = 'Action'; Value = 'Block'; Expected = "Action is 'Block'" }
        @{ Case = 'is outbound'; Property = 'Direction'; Value = 'Outbound'; Expected = "Direction is 'Outbound'" }
        @{ Case = 'covers only the domain profile'; Property = 'Profile'; Value = 'Domain'; Expected = "Profile is 'Domain'" }
        @{ Case = 'is disabled'; Property = 'Enabled'; Value = $false; Expected = 'the rule is disabled' }
    ) {
        $rule = New-GoodRule
        $rule.$Property = $Value
        $script:Machine.FirewallRules[$script:RuleName] = $rule
        $result = Test-DicomGatewayFirewallRule
        $result.Status | Should -Be 'Fail'
        $result.Detail | Should -Match ([regex]::Escape($Expected))
    }

    It 'compares program paths without regard to case, as Windows does' {
        $rule = New-GoodRule
        $rule.Program = $script:Program.ToLowerInvariant()
        $script:Machine.FirewallRules[$script:RuleName] = $rule
        (Test-DicomGatewayFirewallRule).Status | Should -Be 'Pass'
    }

    It 'reads remote subnets the way Windows reports them (10.1.2.0/24 as 10.1.2.0/255.255.255.0)' {
        $rule = New-GoodRule
        $rule.RemoteAddress = @('10.30.1.5', '10.1.2.0/255.255.255.0')
        $script:Machine.FirewallRules[$script:RuleName] = $rule
        (Test-DicomGatewayFirewallRule -RemoteAddress '10.1.2.0/24', '10.30.1.5').Status | Should -Be 'Pass'
        (Test-DicomGatewayFirewallRule -RemoteAddress '10.1.2.0/24').Status | Should -Be 'Fail'
    }

    It 'checks the given port and install folder' {
        $rule = New-GoodRule
        $rule.LocalPort = '11112'
        $rule.Program = [System.IO.Path]::Combine('D:\Gateway', 'gateway.exe')
        $script:Machine.FirewallRules[$script:RuleName] = $rule
        (Test-DicomGatewayFirewallRule -Port 11112 -InstallPath 'D:\Gateway').Status | Should -Be 'Pass'
    }

    It 'is NotApplicable off Windows' {
        $script:Machine.IsWindows = $false
        (Test-DicomGatewayFirewallRule).Status | Should -Be 'NotApplicable'
        Should -Invoke -ModuleName DicomGateway Get-DgwFirewallRule -Times 0 -Exactly -Scope It
    }
}

Describe 'Set-DicomGatewayFirewallRule' {
    BeforeEach { $script:Machine = New-FakeMachine }

    It 'creates the rule: inbound TCP on the DICOM port only, for gateway.exe, from the local subnet' {
        $result = Set-DicomGatewayFirewallRule
        $result.Status | Should -Be 'Pass'
        $result.Changed | Should -BeTrue
        $result.Previous | Should -Match 'There is no rule'
        Should -Invoke -ModuleName DicomGateway New-DgwFirewallRule -Times 1 -Exactly -Scope It -ParameterFilter {
            $Rule.Direction -eq 'Inbound' -and $Rule.Action -eq 'Allow' -and $Rule.Protocol -eq 'TCP' -and $Rule.LocalPort -eq '4104' -and
            $Rule.Program -eq $script:Program -and ($Rule.RemoteAddress -join ',') -eq 'LocalSubnet' -and $Rule.Profile -eq 'Any'
        }
    }

    It 'takes the remote addresses it is given' {
        $result = Set-DicomGatewayFirewallRule -RemoteAddress '10.1.2.0/24', '10.30.1.5'
        $result.Status | Should -Be 'Pass'
        Should -Invoke -ModuleName DicomGateway New-DgwFirewallRule -Times 1 -Exactly -Scope It -ParameterFilter {
            ($Rule.RemoteAddress -join ',') -eq '10.1.2.0/255.255.255.0,10.30.1.5'
        }
    }

    It 'saves the remote addresses it is given in the configuration, and the checks after it expect them' {
        $dataPath = Join-Path (New-TestFolder) 'data'
        $configFile = Write-TestConfig -DataPath $dataPath -Json '{ "aeTitle": "StMarysCT", "port": 4104 }'
        $null = Set-DicomGatewayFirewallRule -DataPath $dataPath -RemoteAddress '10.20.0.0/16'
        @((Get-Content -LiteralPath $configFile -Raw | ConvertFrom-Json).firewall.remoteAddresses) | Should -Be @('10.20.0.0/16')
        (Test-DicomGatewayFirewallRule -DataPath $dataPath).Status | Should -Be 'Pass'
        $again = Set-DicomGatewayFirewallRule -DataPath $dataPath
        $again.Changed | Should -BeFalse
    }

    It 'opens the HL7 MLLP port too when the configuration has an hl7 section (hl7.port, 2575 by default)' {
        $dataPath = Join-Path (New-TestFolder) 'data'
        $null = Write-TestConfig -DataPath $dataPath -Json '{ "aeTitle": "StMarysCT", "port": 4104, "hl7": { "url": "https://cloud.example/hl7" } }'
        $result = Set-DicomGatewayFirewallRule -DataPath $dataPath
        $result.Status | Should -Be 'Pass'
        Should -Invoke -ModuleName DicomGateway New-DgwFirewallRule -Times 1 -Exactly -Scope It -ParameterFilter { $Rule.LocalPort -eq '2575,4104' }
        $null = Write-TestConfig -DataPath $dataPath -Json '{ "aeTitle": "StMarysCT", "port": 4104, "hl7": { "port": 2600, "url": "https://cloud.example/hl7" } }'
        $check = Test-DicomGatewayFirewallRule -DataPath $dataPath
        $check.Status | Should -Be 'Fail'
        $check.Detail | Should -Match ([regex]::Escape("LocalPort is '2575,4104', wanted '2600,4104'"))
    }

    It 'corrects a rule that differs instead of adding a second one' {
        $rule = New-GoodRule
        $rule.LocalPort = 'Any'
        $script:Machine.FirewallRules[$script:RuleName] = $rule
        $result = Set-DicomGatewayFirewallRule
        $result.Changed | Should -BeTrue
        $result.Status | Should -Be 'Pass'
        Should -Invoke -ModuleName DicomGateway Set-DgwFirewallRule -Times 1 -Exactly -Scope It
        Should -Invoke -ModuleName DicomGateway New-DgwFirewallRule -Times 0 -Exactly -Scope It
    }

    It 'run twice, changes nothing the second time, says so and calls no setter' {
        $null = Set-DicomGatewayFirewallRule -Port 11112
        $script:Machine.FirewallRules.Count | Should -Be 1
        Mock -ModuleName DicomGateway New-DgwFirewallRule { throw 'must not be called' }
        Mock -ModuleName DicomGateway Set-DgwFirewallRule { throw 'must not be called' }
        $second = Set-DicomGatewayFirewallRule -Port 11112
        $second.Changed | Should -BeFalse
        $second.Status | Should -Be 'Pass'
        $second.Detail | Should -Match '^No change: '
    }

    It 'with -WhatIf changes nothing' {
        $result = Set-DicomGatewayFirewallRule -WhatIf
        $result.Changed | Should -BeFalse
        $result.Status | Should -Be 'Fail'
        $result.Detail | Should -Match '^Not changed \(WhatIf'
        $script:Machine.FirewallRules.Count | Should -Be 0
        Assert-NoSetterCalled
    }

    It 'warns when Windows refuses, and throws with -EnableException' {
        Mock -ModuleName DicomGateway New-DgwFirewallRule { throw 'Access is denied.' }
        $warnings = $null
        $result = Set-DicomGatewayFirewallRule -WarningVariable warnings -WarningAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        "$warnings" | Should -Match 'Could not set the firewall rule DicomGateway-DICOM-TCP-In: Access is denied'
        { Set-DicomGatewayFirewallRule -EnableException } | Should -Throw '*Access is denied*'
    }

    It 'is NotApplicable off Windows and changes nothing' {
        $script:Machine.IsWindows = $false
        $result = Set-DicomGatewayFirewallRule
        $result.Status | Should -Be 'NotApplicable'
        $result.Changed | Should -BeFalse
        Assert-NoSetterCalled
    }
}

Describe 'ConvertTo-DicomGatewayFirewallAddress' {
    It '<Given> reads back as <Expected>' -ForEach @(
        @{ Given = @('LocalSubnet'); Expected = 'LocalSubnet' }
        @{ Given = @('10.1.2.0/24'); Expected = '10.1.2.0/255.255.255.0' }
        @{ Given = @('172.16.0.0/12'); Expected = '172.16.0.0/255.240.0.0' }
        @{ Given = @('10.0.0.9/32'); Expected = '10.0.0.9' }
        @{ Given = @('0.0.0.0/0'); Expected = '0.0.0.0/0.0.0.0' }
        @{ Given = @('*'); Expected = 'Any' }
        @{ Given = @('10.0.0.1-10.0.0.9', 'fe80::/64'); Expected = '10.0.0.1-10.0.0.9,fe80::/64' }
        @{ Given = @('10.0.0.2', '10.0.0.1', '10.0.0.2'); Expected = '10.0.0.1,10.0.0.2' }
    ) {
        InModuleScope DicomGateway -Parameters @{ Given = $Given; Expected = $Expected } {
            (ConvertTo-DicomGatewayFirewallAddress -Address $Given) -join ',' | Should -Be $Expected
        }
    }
}
