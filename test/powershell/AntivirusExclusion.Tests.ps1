BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
    $script:Names = @('InstallFolderExclusion', 'DatabaseFolderExclusion', 'DataFolderNotExcluded')
    $script:Folders = @{ InstallPath = 'C:\Program Files\DicomGateway'; DataPath = 'D:\DicomGateway' }
}

Describe 'Test-DicomGatewayAntivirusExclusion' {
    BeforeEach { $script:Machine = New-FakeMachine }

    It 'fails the install and database folders while Defender scans them, and passes a scanned data folder' {
        $results = @(Test-DicomGatewayAntivirusExclusion @script:Folders)
        $results.Name | Should -Be $script:Names
        $results.Status | Should -Be @('Fail', 'Fail', 'Pass')
        $results[1].Detail | Should -Match 'Microsoft Defender scans D:\\DicomGateway.postgres'
    }

    It 'passes folders excluded exactly, or through a parent folder, whatever the case and trailing backslash' {
        $script:Machine.Exclusions.Add('c:\program files\dicomgateway\')
        $script:Machine.Exclusions.Add('D:\DicomGateway\postgres')
        $results = @(Test-DicomGatewayAntivirusExclusion @script:Folders)
        $results.Status | Should -Be @('Pass', 'Pass', 'Pass')
    }

    It 'fails an exclusion that covers the data folder, where received files arrive, and names it' {
        $script:Machine.Exclusions.Add('D:\')
        $results = @(Test-DicomGatewayAntivirusExclusion @script:Folders)
        $results[1].Status | Should -Be 'Pass'
        $results[2].Status | Should -Be 'Fail'
        $results[2].Detail | Should -Match 'does not scan D:\\DicomGateway \(exclusion D:\\\).*Remove-MpPreference'
    }

    It 'does not take a folder with a longer name for a parent (C:\Program Files\DicomGateway2)' {
        $script:Machine.Exclusions.Add('C:\Program Files\DicomGateway2')
        (Test-DicomGatewayAntivirusExclusion @script:Folders)[0].Status | Should -Be 'Fail'
    }

    It 'understands exclusions written with environment variables' {
        $env:DICOMGATEWAY_TEST_DATA = 'D:\'
        try {
            $script:Machine.Exclusions.Add('%DICOMGATEWAY_TEST_DATA%DicomGateway\postgres')
            (Test-DicomGatewayAntivirusExclusion @script:Folders)[1].Status | Should -Be 'Pass'
        } finally {
            Remove-Item Env:\DICOMGATEWAY_TEST_DATA
        }
    }

    It 'checks another database folder when given' {
        $script:Machine.Exclusions.Add('D:\DicomGateway\postgres')
        $result = (Test-DicomGatewayAntivirusExclusion @script:Folders -DatabasePath 'E:\PostgreSQL\data')[1]
        $result.Status | Should -Be 'Fail'
        $result.Detail | Should -Match 'E:\\PostgreSQL\\data'
    }

    It 'warns, naming each folder, when Defender cannot be asked (another antivirus product)' {
        $script:Machine.DefenderAvailable = $false
        $results = @(Test-DicomGatewayAntivirusExclusion @script:Folders)
        $results.Status | Should -Be @('Warn', 'Warn', 'Warn')
        $results[1].Detail | Should -Match 'another antivirus product.*D:\\DicomGateway.postgres'
    }

    It 'is NotApplicable off Windows' {
        $script:Machine.IsWindows = $false
        (Test-DicomGatewayAntivirusExclusion).Status | Should -Be @('NotApplicable', 'NotApplicable', 'NotApplicable')
        Should -Invoke -ModuleName DicomGateway Get-DgwDefenderExclusionPath -Times 0 -Exactly -Scope It
    }
}

Describe 'Set-DicomGatewayAntivirusExclusion' {
    BeforeEach { $script:Machine = New-FakeMachine }

    It 'excludes only the install and database folders, never the data folder with its spool' {
        $results = @(Set-DicomGatewayAntivirusExclusion @script:Folders)
        $results.Name | Should -Be $script:Names
        $results.Status | Should -Be @('Pass', 'Pass', 'Pass')
        $results.Changed | Should -Be @($true, $true, $false)
        @($script:Machine.Exclusions) | Should -Be @('C:\Program Files\DicomGateway', [System.IO.Path]::Combine('D:\DicomGateway', 'postgres'))
    }

    It 'removes the data folder exclusion an earlier version added' {
        $script:Machine.Exclusions.Add('D:\DicomGateway')
        $results = @(Set-DicomGatewayAntivirusExclusion @script:Folders)
        $results[2].Changed | Should -BeTrue
        $results[2].Status | Should -Be 'Pass'
        @($script:Machine.Exclusions) | Should -Not -Contain 'D:\DicomGateway'
    }

    It 'leaves a broader exclusion of someone else in place and warns about it' {
        $script:Machine.Exclusions.Add('D:\')
        $results = @(Set-DicomGatewayAntivirusExclusion @script:Folders)
        $results[2].Status | Should -Be 'Warn'
        $results[2].Detail | Should -Match 'exclusion D:\\.*settle it there'
        @($script:Machine.Exclusions) | Should -Contain 'D:\'
    }

    It 'run twice, changes nothing the second time, says so and calls no setter' {
        $null = Set-DicomGatewayAntivirusExclusion @script:Folders
        $second = @(Set-DicomGatewayAntivirusExclusion @script:Folders)
        $second.Changed | Should -Be @($false, $false, $false)
        foreach ($result in $second) { $result.Detail | Should -Match '^No change: ' }
        Should -Invoke -ModuleName DicomGateway Add-DgwDefenderExclusionPath -Times 2 -Exactly -Scope It
    }

    It 'leaves an already excluded computer alone' {
        $script:Machine.Exclusions.Add('C:\Program Files\DicomGateway')
        $script:Machine.Exclusions.Add('D:\DicomGateway\postgres')
        $null = Set-DicomGatewayAntivirusExclusion @script:Folders
        Assert-NoSetterCalled
    }

    It 'with -WhatIf changes nothing' {
        $results = @(Set-DicomGatewayAntivirusExclusion @script:Folders -WhatIf)
        $results.Changed | Should -Be @($false, $false, $false)
        $script:Machine.Exclusions.Count | Should -Be 0
        Assert-NoSetterCalled
    }

    It 'warns about a folder that Defender did not keep excluded (exclusions owned by a policy)' {
        $script:Machine.DefenderKeepsExclusions = $false
        $results = @(Set-DicomGatewayAntivirusExclusion @script:Folders)
        $results[0].Changed | Should -BeTrue
        $results[0].Status | Should -Be 'Warn'
        $results[0].Detail | Should -Match 'scans C:\\Program Files\\DicomGateway; a policy .* settle it there'
    }

    It 'changes nothing when Defender cannot be asked' {
        $script:Machine.DefenderAvailable = $false
        $results = @(Set-DicomGatewayAntivirusExclusion @script:Folders)
        $results.Status | Should -Be @('Warn', 'Warn', 'Warn')
        Assert-NoSetterCalled
    }

    It 'warns when Defender refuses, and throws with -EnableException' {
        Mock -ModuleName DicomGateway Add-DgwDefenderExclusionPath { throw 'Operation failed with the following error: 0x800106ba' }
        $warnings = $null
        $null = Set-DicomGatewayAntivirusExclusion @script:Folders -WarningVariable warnings -WarningAction SilentlyContinue
        "$warnings" | Should -Match 'Could not exclude C:\\Program Files\\DicomGateway from scanning in Microsoft Defender'
        { Set-DicomGatewayAntivirusExclusion @script:Folders -EnableException } | Should -Throw '*0x800106ba*'
    }
}
