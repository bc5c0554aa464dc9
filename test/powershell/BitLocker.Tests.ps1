BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
}

Describe 'Test-DicomGatewayBitLocker' {
    BeforeEach { $script:Machine = New-FakeMachine }

    It 'passes when the system volume and the data volume are protected' {
        $script:Machine.BitLocker['D:'] = 'On'
        $results = @(Test-DicomGatewayBitLocker -DataPath 'D:\DicomGateway')
        $results.Name | Should -Be @('SystemVolumeEncryption', 'DataVolumeEncryption')
        $results.Status | Should -Be @('Pass', 'Pass')
        $results[1].Detail | Should -Be 'D: is protected by BitLocker'
    }

    It 'warns, never fails, with the physical-security alternative of the licence, for <Case>' -ForEach @(
        @{ Case = 'an unprotected data volume'; Protection = 'Off'; Expected = 'D: is not protected by BitLocker' }
        @{ Case = 'a volume still being encrypted'; Protection = 'Encrypting'; Expected = 'being encrypted' }
        @{ Case = 'a computer without BitLocker'; Protection = $null; Expected = 'BitLocker state could not be read' }
    ) {
        $script:Machine.BitLocker['D:'] = $Protection
        $result = (Test-DicomGatewayBitLocker -DataPath 'D:\DicomGateway')[1]
        $result.Status | Should -Be 'Warn'
        $result.Detail | Should -Match $Expected
        if ($Protection -ne 'Encrypting') { $result.Detail | Should -Match 'physical access to this computer is restricted to authorised personnel' }
        $result.Requirement | Should -Match 'BitLocker, or physical access'
    }

    It 'checks the system drive Windows runs from' {
        $script:Machine.SystemDrive = 'E:'
        $script:Machine.BitLocker['E:'] = 'On'
        (Test-DicomGatewayBitLocker)[0].Detail | Should -Be 'E: is protected by BitLocker'
    }

    It 'is NotApplicable off Windows' {
        $script:Machine.IsWindows = $false
        (Test-DicomGatewayBitLocker).Status | Should -Be @('NotApplicable', 'NotApplicable')
        Should -Invoke -ModuleName DicomGateway Get-DgwBitLockerVolume -Times 0 -Exactly -Scope It
    }
}
