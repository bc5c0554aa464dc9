BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
}

Describe 'Test-DicomGatewayService' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        $root = New-TestFolder
        $script:Paths = @{ InstallPath = (Join-Path $root 'install'); DataPath = (Join-Path $root 'data') }
        $null = New-Item -Path $script:Paths.InstallPath -ItemType Directory
        $definition = InModuleScope DicomGateway -Parameters $script:Paths { param($InstallPath, $DataPath) Get-DicomGatewayServiceDefinition -Layout (Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath) }
        InModuleScope DicomGateway -Parameters @{ Definition = $definition } { param($Definition) Register-DgwService -Definition $Definition }
    }

    It 'fails a registered but stopped service, with how to start it' {
        $results = @(Test-DicomGatewayService @script:Paths)
        $results.Name | Should -Be @('AgentService', 'AgentRunning')
        $results.Status | Should -Be @('Pass', 'Fail')
        $results[1].Detail | Should -Match 'is Stopped: Start-Service DicomGateway'
    }

    It 'fails a service running as SYSTEM or without recovery, naming each difference' {
        $script:Machine.Services['DicomGateway'].Account = 'LocalSystem'
        $script:Machine.Services['DicomGateway'].FailureActions = ''
        $result = @(Test-DicomGatewayService @script:Paths)[0]
        $result.Status | Should -Be 'Fail'
        $result.Detail | Should -Match "Account is 'LocalSystem', wanted 'NT SERVICE\\DicomGateway'"
        $result.Detail | Should -Match "FailureActions is '', wanted 'restart/5000/restart/5000/restart/30000'"
        $result.Detail | Should -Match 'Install-DicomGateway registers it again'
    }

    It 'fails a WinSW configuration someone edited' {
        Add-Content -LiteralPath (Join-Path $script:Paths.InstallPath 'gateway-service.xml') -Value '<!-- edited -->'
        @(Test-DicomGatewayService @script:Paths)[0].Detail | Should -Match 'gateway-service.xml is not the configuration the install writes'
    }

    It 'fails when there is no service' {
        $script:Machine.Services.Clear()
        (Test-DicomGatewayService @script:Paths).Status | Should -Be @('Fail', 'Fail')
    }

    It 'is NotApplicable off Windows' {
        $script:Machine.IsWindows = $false
        (Test-DicomGatewayService @script:Paths).Status | Should -Be @('NotApplicable', 'NotApplicable')
    }
}

Describe 'The recovery actions as Windows stores them' {
    It 'reads sc.exe''s restart/5000/restart/5000/restart/30000 back from the registry value FailureActions' {
        $bytes = New-Object System.Collections.Generic.List[byte]
        # Reset period, reboot message and command offsets (none), count, offset of the actions (20).
        foreach ($word in 86400, 0, 0, 3, 20, 1, 5000, 1, 5000, 1, 30000) { $bytes.AddRange([System.BitConverter]::GetBytes([uint32]$word)) }
        $parsed = InModuleScope DicomGateway -Parameters @{ Bytes = $bytes.ToArray() } { param($Bytes) ConvertFrom-DgwFailureActions -Bytes $Bytes }
        $parsed.ResetSeconds | Should -Be 86400
        $parsed.Actions | Should -Be 'restart/5000/restart/5000/restart/30000'
    }
}
