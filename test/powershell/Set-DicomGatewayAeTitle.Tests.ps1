BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows

    function Get-ConfiguredAeTitle {
        (Get-Content -LiteralPath $script:ConfigFile -Raw | ConvertFrom-Json).aeTitle
    }
}

Describe 'Set-DicomGatewayAeTitle' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        $root = New-TestFolder
        $script:InstallPath = Join-Path $root 'install'
        $script:DataPath = Join-Path $root 'data'
        $script:ConfigFile = Write-TestConfig -DataPath $script:DataPath -Json '{ "aeTitle": "STMARYS", "port": 11112, "upstream": { "kind": "stow-rs", "url": "https://upload.cloud.example/dicom-web" }, "compression": { "rules": [] } }'
        Register-FakeService -State Running
        $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 31; Name = 'postgres.exe'; CommandLine = 'postgres.exe -D data' })
        $script:Machine.Processes.Add([pscustomobject]@{ ProcessId = 32; Name = 'gateway.exe'; CommandLine = 'gateway.exe tray' })
        # What the agent's configuration held at each stop and start.
        $script:Events = New-Object System.Collections.Generic.List[string]
        Mock -ModuleName DicomGateway Stop-DgwService { $script:Events.Add('stop ' + (Get-ConfiguredAeTitle)); $script:Machine.Services[$Name].State = 'Stopped' }
        Mock -ModuleName DicomGateway Start-DgwService { $script:Events.Add('start ' + (Get-ConfiguredAeTitle)); $script:Machine.Services[$Name].State = 'Running' }
        $script:Paths = @{ InstallPath = $script:InstallPath; DataPath = $script:DataPath; Confirm = $false }
    }

    It 'stops the agent, writes the new title, starts the agent and verifies it with C-ECHO' {
        $results = @(Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' @script:Paths)
        $results.Name | Should -Be @('AeTitle', 'DicomEcho')
        $results.Status | Should -Be @('Pass', 'Pass')
        $results[0].Changed | Should -BeTrue
        $results[0].Previous | Should -Be "The AE title is 'STMARYS', not 'StMarysCT'"
        @($script:Events) | Should -Be @('stop STMARYS', 'start StMarysCT')
        Should -Invoke -ModuleName DicomGateway Invoke-DgwGatewayCli -Times 1 -Exactly -Scope It -ParameterFilter {
            ($ArgumentList -join ' ') -ceq 'echo --ae-title StMarysCT --port 11112'
        }
        $results[1].Detail | Should -Match "answered C-ECHO for 'StMarysCT' on port 11112"
    }

    It 'keeps the rest of the configuration and the title exactly as given' {
        $null = Set-DicomGatewayAeTitle -AeTitle 'st marys ct' @script:Paths
        $config = Get-Content -LiteralPath $script:ConfigFile -Raw | ConvertFrom-Json
        $config.aeTitle | Should -BeExactly 'st marys ct'
        $config.port | Should -Be 11112
        $config.upstream.url | Should -Be 'https://upload.cloud.example/dicom-web'
        @($config.PSObject.Properties.Name) | Should -Be @('aeTitle', 'port', 'upstream', 'compression')
    }

    It "stops the agent's PostgreSQL with it, but leaves the trays running" {
        $null = Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' @script:Paths
        @($script:Machine.Processes.ProcessId) | Should -Be @(32)
    }

    It 'keeps sending C-ECHO while the agent starts' {
        $script:EchoAttempts = 0
        $script:Machine.Cli = { param($ArgumentList) $script:EchoAttempts++; [pscustomobject]@{ ExitCode = $(if ($script:EchoAttempts -lt 3) { 1 } else { 0 }); Output = ''; ErrorOutput = 'ECONNREFUSED' } }
        $echo = (Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' @script:Paths)[1]
        $echo.Status | Should -Be 'Pass'
        $script:EchoAttempts | Should -Be 3
        Should -Invoke -ModuleName DicomGateway Start-Sleep -Times 2 -Exactly -Scope It
    }

    It 'fails the DicomEcho check when the agent never answers, and says where the logs are' {
        $script:Machine.Cli = { param($ArgumentList) [pscustomobject]@{ ExitCode = 1; Output = ''; ErrorOutput = 'association rejected: called AE title not recognised' } }
        $results = @(Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' -TimeoutSeconds 6 @script:Paths)
        $results[0].Status | Should -Be 'Pass'
        $results[1].Status | Should -Be 'Fail'
        $results[1].Detail | Should -Match 'did not answer C-ECHO .* within 6 s: association rejected.*logs'
        Should -Invoke -ModuleName DicomGateway Invoke-DgwGatewayCli -Times 3 -Exactly -Scope It
    }

    It 'with the title it already has, changes nothing, says so, and neither stops nor echoes' {
        $results = @(Set-DicomGatewayAeTitle -AeTitle 'STMARYS' @script:Paths)
        $results.Count | Should -Be 1
        $results[0].Changed | Should -BeFalse
        $results[0].Detail | Should -Be "No change: The AE title is 'STMARYS'"
        @($script:Events).Count | Should -Be 0
        Assert-NoSetterCalled
        Should -Invoke -ModuleName DicomGateway Invoke-DgwGatewayCli -Times 0 -Exactly -Scope It
    }

    It 'compares titles case-sensitively: StMarys is not STMARYS' {
        (Set-DicomGatewayAeTitle -AeTitle 'StMarys' @script:Paths)[0].Changed | Should -BeTrue
        Get-ConfiguredAeTitle | Should -BeExactly 'StMarys'
    }

    It 'refuses an invalid title and changes nothing; throws with -EnableException' {
        $warnings = $null
        Set-DicomGatewayAeTitle -AeTitle 'THIS_IS_TOO_LONG_' @script:Paths -WarningVariable warnings -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        "$warnings" | Should -Match '17 characters'
        Get-ConfiguredAeTitle | Should -Be 'STMARYS'
        Assert-NoSetterCalled
        { Set-DicomGatewayAeTitle -AeTitle 'ST\MARYS' @script:Paths -EnableException } | Should -Throw '*backslash*'
    }

    It 'with -WhatIf changes nothing' {
        $result = Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' -InstallPath $script:InstallPath -DataPath $script:DataPath -WhatIf
        $result.Changed | Should -BeFalse
        Get-ConfiguredAeTitle | Should -Be 'STMARYS'
        Assert-NoSetterCalled
    }

    It 'needs an installed gateway' {
        $script:Machine.Services.Clear()
        { Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' @script:Paths -EnableException } | Should -Throw '*not registered; install the gateway first*'
        Remove-Item -LiteralPath $script:ConfigFile
        { Set-DicomGatewayAeTitle -AeTitle 'StMarysCT' @script:Paths -EnableException } | Should -Throw '*no configuration*'
    }
}

Describe 'Get-DicomGatewayAeTitleProblem' {
    It 'accepts <AeTitle>' -ForEach @(
        @{ AeTitle = 'A' }, @{ AeTitle = 'GATEWAY' }, @{ AeTitle = 'St Marys CT' }, @{ AeTitle = '0123456789ABCDEF' }, @{ AeTitle = 'A!"#$%&()*+,-./:' }
    ) {
        InModuleScope DicomGateway -Parameters @{ AeTitle = $AeTitle } { Get-DicomGatewayAeTitleProblem -AeTitle $AeTitle | Should -BeNullOrEmpty }
    }

    It 'refuses <Case>' -ForEach @(
        @{ Case = 'null'; AeTitle = $null }
        @{ Case = 'empty'; AeTitle = '' }
        @{ Case = '17 characters'; AeTitle = '0123456789ABCDEFG' }
        @{ Case = 'backslash'; AeTitle = 'A\B' }
        @{ Case = 'leading space'; AeTitle = ' AB' }
        @{ Case = 'trailing space'; AeTitle = 'AB ' }
        @{ Case = 'spaces only'; AeTitle = '   ' }
        @{ Case = 'line feed'; AeTitle = "A`nB" }
        @{ Case = 'escape'; AeTitle = "A$([char]27)B" }
        @{ Case = 'non-ASCII'; AeTitle = "CAF$([char]0xC9)" }
    ) {
        InModuleScope DicomGateway -Parameters @{ AeTitle = $AeTitle } { Get-DicomGatewayAeTitleProblem -AeTitle $AeTitle | Should -Not -BeNullOrEmpty }
    }
}
