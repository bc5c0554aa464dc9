# What the agent's PowerShell bridge relies on: every public Test- function runs on any host and
# returns flat objects that ConvertTo-Json -Depth 4 turns into plain JSON.
BeforeDiscovery {
    $script:TestCommands = @(Get-ChildItem -Path (Join-Path $PSScriptRoot '../../powershell/DicomGateway/Public') -Filter 'Test-*.ps1' |
            ForEach-Object { @{ Command = $_.BaseName } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule

    function Assert-PlainJson {
        param([object[]]$Result)
        $Result.Count | Should -BeGreaterThan 0
        $json = $Result | ConvertTo-Json -Depth 4
        $parsed = @($json | ConvertFrom-Json)
        $parsed.Count | Should -Be $Result.Count
        foreach ($item in $parsed) {
            @($item.PSObject.Properties.Name) | Should -Be @('Name', 'Status', 'Detail', 'Requirement')
            foreach ($property in $item.PSObject.Properties) { $property.Value | Should -BeOfType [string] }
            $item.Status | Should -BeIn @('Pass', 'Warn', 'Fail', 'NotApplicable')
            $item.Requirement | Should -Not -BeNullOrEmpty
        }
        $parsed
    }
}

Describe '<Command> on this host, which is not Windows' -ForEach $script:TestCommands -Skip:$IsWindows {
    It 'returns NotApplicable results instead of throwing' {
        $results = @(& $Command -ErrorAction Stop)
        $parsed = Assert-PlainJson -Result $results
        $parsed.Status | Should -Be (@('NotApplicable') * $parsed.Count)
        foreach ($item in $parsed) { $item.Detail | Should -Match '^Windows only; this host runs' }
    }
}

Describe '<Command> on Windows (mocked)' -ForEach $script:TestCommands {
    BeforeAll {
        Initialize-FakeWindows
        $script:Machine = New-FakeMachine
    }

    It 'returns flat results with string fields that serialize cleanly' {
        $null = Assert-PlainJson -Result @(& $Command)
    }
}

Describe 'results of a change' {
    BeforeAll {
        Initialize-FakeWindows
        $script:Machine = New-FakeMachine
    }

    It 'add Changed (a JSON boolean) and Previous to the four fields' {
        $json = Set-DicomGatewayPowerPolicy | ConvertTo-Json -Depth 4
        $json | Should -Match '"Changed": true'
        $parsed = @($json | ConvertFrom-Json)
        @($parsed[0].PSObject.Properties.Name) | Should -Be @('Name', 'Status', 'Detail', 'Requirement', 'Changed', 'Previous')
    }
}
