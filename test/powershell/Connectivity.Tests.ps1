BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows

    function Set-Upstream {
        param([hashtable]$Upstream)
        $config = @{ aeTitle = 'StMarysCT'; port = 4104 }
        if ($Upstream) { $config.upstream = $Upstream }
        $null = Write-TestConfig -DataPath $script:DataPath -Json ($config | ConvertTo-Json -Depth 5)
    }
}

Describe 'Test-DicomGatewayConnectivity' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        $root = New-TestFolder
        $script:DataPath = Join-Path $root 'data'
        $script:InstallPath = Join-Path $root 'install'
        $script:Paths = @{ DataPath = $script:DataPath; InstallPath = $script:InstallPath }
    }

    Context 'a host given by name' {
        It 'passes DNS and TCP 443 to a reachable upstream' {
            $results = @(Test-DicomGatewayConnectivity -ComputerName 'upload.cloud.example' @script:Paths)
            $results.Name | Should -Be @('UpstreamDns', 'UpstreamTcp', 'GatewayConnectivityTest')
            $results[0].Status | Should -Be 'Pass'
            $results[0].Detail | Should -Match 'resolves to 203\.0\.113\.10'
            $results[1].Status | Should -Be 'Pass'
            $results[1].Detail | Should -Be 'TCP connection to upload.cloud.example:443 opened'
            Should -Invoke -ModuleName DicomGateway Test-DgwTcpConnection -Times 1 -Exactly -Scope It -ParameterFilter { $Port -eq 443 -and $TimeoutMilliseconds -eq 5000 }
        }

        It 'fails DNS for an unknown host and does not try TCP' {
            $results = @(Test-DicomGatewayConnectivity -ComputerName 'nowhere.invalid' @script:Paths)
            $results[0].Status | Should -Be 'Fail'
            $results[0].Detail | Should -Match 'does not resolve: No such host is known'
            $results[1].Status | Should -Be 'Fail'
            $results[1].Detail | Should -Match '^Not tried'
            Should -Invoke -ModuleName DicomGateway Test-DgwTcpConnection -Times 0 -Exactly -Scope It
        }

        It 'fails TCP when the firewall keeps the gateway in' {
            $result = (Test-DicomGatewayConnectivity -ComputerName 'upload.cloud.example' -Port 11112 @script:Paths)[1]
            $result.Status | Should -Be 'Fail'
            $result.Detail | Should -Match 'upload\.cloud\.example:11112 failed.*firewall'
        }

        It 'needs no DNS for an IP address' {
            $result = (Test-DicomGatewayConnectivity -ComputerName '203.0.113.10' @script:Paths)[0]
            $result.Status | Should -Be 'Pass'
            $result.Detail | Should -Match 'is an IP address'
            Should -Invoke -ModuleName DicomGateway Resolve-DgwHostName -Times 0 -Exactly -Scope It
        }
    }

    Context 'the configured upstream' {
        It 'tests the host and port of a STOW-RS URL' {
            Set-Upstream @{ kind = 'stow-rs'; url = 'https://upload.cloud.example/dicom-web/studies'; token = 'secret' }
            $results = @(Test-DicomGatewayConnectivity @script:Paths)
            $results[0].Detail | Should -Match '^upload\.cloud\.example \(STOW-RS https://upload\.cloud\.example/dicom-web/studies\) resolves'
            $results[1].Status | Should -Be 'Pass'
        }

        It 'tests the host and port of a DICOM-TLS upstream' {
            Set-Upstream @{ kind = 'dicom-tls'; host = 'upload.cloud.example'; port = 2762; calledAeTitle = 'CLOUD' }
            $result = (Test-DicomGatewayConnectivity @script:Paths)[1]
            $result.Detail | Should -Match 'upload\.cloud\.example:2762'
        }

        It 'tests the proxy when the upstream goes through one' {
            Set-Upstream @{ kind = 'stow-rs'; url = 'https://upload.cloud.example/dicom-web'; proxy = 'http://proxy.hospital.example:3128' }
            $results = @(Test-DicomGatewayConnectivity @script:Paths)
            $results[0].Detail | Should -Match '^proxy\.hospital\.example \(proxy http://proxy\.hospital\.example:3128\)'
            $results[1].Detail | Should -Be 'TCP connection to proxy.hospital.example:3128 opened'
        }

        It 'fails DNS and TCP, saying what to do, when no upstream is configured' {
            Set-Upstream $null
            $results = @(Test-DicomGatewayConnectivity @script:Paths)
            $results[0].Status | Should -Be 'Fail'
            $results[0].Detail | Should -Match 'No upstream is configured.*-ComputerName'
            $results[1].Status | Should -Be 'Fail'
        }

        It 'fails DNS and TCP when the configuration is not JSON' {
            $null = Write-TestConfig -DataPath $script:DataPath -Json '{ "aeTitle": '
            $result = (Test-DicomGatewayConnectivity @script:Paths)[0]
            $result.Status | Should -Be 'Fail'
            $result.Detail | Should -Match 'is not valid JSON'
        }
    }

    Context "the gateway's own connectivity test" {
        It 'is NotApplicable while the gateway is not installed' {
            $result = (Test-DicomGatewayConnectivity -ComputerName 'upload.cloud.example' @script:Paths)[2]
            $result.Status | Should -Be 'NotApplicable'
            $result.Detail | Should -Match 'not installed'
            Should -Invoke -ModuleName DicomGateway Invoke-DgwGatewayCli -Times 0 -Exactly -Scope It
        }

        It 'runs "gateway test-connectivity --json" when installed and passes on exit code 0' {
            $null = New-Item -Path (Join-Path $script:InstallPath 'gateway.exe') -ItemType File -Force
            Set-Upstream @{ kind = 'stow-rs'; url = 'https://upload.cloud.example/dicom-web' }
            $result = (Test-DicomGatewayConnectivity @script:Paths)[2]
            $result.Status | Should -Be 'Pass'
            $result.Detail | Should -Be 'gateway test-connectivity exited with 0: {"ok":true}'
            Should -Invoke -ModuleName DicomGateway Invoke-DgwGatewayCli -Times 1 -Exactly -Scope It -ParameterFilter {
                ($ArgumentList[0..1] -join ' ') -eq 'test-connectivity --json' -and $ArgumentList[3] -eq (Join-Path $script:DataPath 'gateway.json')
            }
        }

        It 'fails on a non-zero exit code and reports what the gateway said' {
            $null = New-Item -Path (Join-Path $script:InstallPath 'gateway.exe') -ItemType File -Force
            $script:Machine.Cli = { param($ArgumentList) [pscustomobject]@{ ExitCode = 2; Output = '{"ok":false,"step":"tls","error":"certificate has expired"}'; ErrorOutput = '' } }
            $result = (Test-DicomGatewayConnectivity -ComputerName 'upload.cloud.example' @script:Paths)[2]
            $result.Status | Should -Be 'Fail'
            $result.Detail | Should -Match 'exited with 2: .*certificate has expired'
        }
    }

    It 'is NotApplicable off Windows' {
        $script:Machine.IsWindows = $false
        (Test-DicomGatewayConnectivity -ComputerName 'upload.cloud.example').Status | Should -Be @('NotApplicable', 'NotApplicable', 'NotApplicable')
        Should -Invoke -ModuleName DicomGateway Resolve-DgwHostName -Times 0 -Exactly -Scope It
    }
}

Describe 'Get-DicomGatewayStatus' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        $script:DataPath = New-TestFolder
    }

    It 'reads /api/status on 127.0.0.1 at the API port of the configuration' {
        $null = Write-TestConfig -DataPath $script:DataPath -Json '{ "aeTitle": "StMarysCT", "api": { "port": 4190 } }'
        $status = Get-DicomGatewayStatus -DataPath $script:DataPath
        $status.state | Should -Be 'running'
        $status.uri | Should -Be 'http://127.0.0.1:4190/api/status'
    }

    It 'uses port 4180 without a configuration, and -ApiPort when given' {
        (Get-DicomGatewayStatus -DataPath $script:DataPath).uri | Should -Be 'http://127.0.0.1:4180/api/status'
        (Get-DicomGatewayStatus -DataPath $script:DataPath -ApiPort 4199).uri | Should -Be 'http://127.0.0.1:4199/api/status'
    }

    It 'warns when the agent does not answer, and throws with -EnableException' {
        $script:Machine.ApiDown = $true
        $warnings = $null
        Get-DicomGatewayStatus -DataPath $script:DataPath -WarningVariable warnings -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        "$warnings" | Should -Match 'The agent did not answer at http://127\.0\.0\.1:4180/api/status'
        { Get-DicomGatewayStatus -DataPath $script:DataPath -EnableException } | Should -Throw '*actively refused*'
    }
}
