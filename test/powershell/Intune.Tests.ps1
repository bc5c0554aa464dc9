# The Intune scripts: Install.ps1, Uninstall.ps1 (with IntuneCommon.ps1) and Detect.ps1. The module's
# functions are mocked; what is tested here is what Intune sees: arguments, exit codes, log, output.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule
    . (Join-Path $script:IntuneFolder 'IntuneCommon.ps1')

    function New-Result {
        # A result as the module makes it: a check, or with -Changed the result of a change.
        param([string]$Name, [string]$Status, [Nullable[bool]]$Changed)
        $result = [ordered]@{ Name = $Name; Status = $Status; Detail = "$Name is $Status"; Requirement = 'test' }
        if ($null -ne $Changed) { $result.Changed = $Changed; $result.Previous = '' }
        [pscustomobject]$result
    }
}

Describe 'IntuneCommon.ps1' {
    It 'maps results to exit codes: Fail is 1, an agent that starts only at the next boot is 3010, else 0' {
        Get-IntuneExitCode -Result @((New-Result 'Package' 'Pass'), (New-Result 'AgentRunning' 'Pass')) | Should -Be 0
        Get-IntuneExitCode -Result @((New-Result 'Configuration' 'Warn'), (New-Result 'AgentRunning' 'Pass')) | Should -Be 0
        Get-IntuneExitCode -Result @((New-Result 'Package' 'Pass'), (New-Result 'AgentRunning' 'Warn')) | Should -Be 3010
        Get-IntuneExitCode -Result @((New-Result 'FirewallRule' 'Fail'), (New-Result 'AgentRunning' 'Warn')) | Should -Be 1
        Get-IntuneExitCode -Result @() | Should -Be 0
    }

    It 'turns bound parameters into powershell.exe -File arguments' {
        $bound = [ordered]@{
            AeTitle = 'St Marys CT'; Port = 4104; InstallPath = 'D:\Gateway\'; RemoveData = [switch]$true
            SkipPrerequisiteCheck = [switch]$false; RemoteAddress = @('10.1.2.0/24', '10.1.3.5')
        }
        ConvertTo-IntuneArgumentList -Parameters $bound | Should -Be @(
            '-AeTitle', 'St Marys CT', '-Port', '4104', '-InstallPath', 'D:\Gateway', '-RemoveData', '-RemoteAddress', '10.1.2.0/24,10.1.3.5')
    }

    It 'does not start a second PowerShell when this one is 64-bit' {
        Invoke-IntuneScriptAs64Bit -ScriptPath 'Install.ps1' -BoundParameters @{} | Should -BeNullOrEmpty
    }
}

Describe 'Install.ps1 started by a 32-bit PowerShell (as Intune does)' -Skip:([System.Environment]::OSVersion.Platform -eq 'Win32NT') {
    BeforeEach {
        $root = New-TestFolder
        $null = New-Item -Path $root -ItemType Directory -Force
        $script:ArgumentFile = Join-Path $root 'arguments.txt'
        # The 64-bit powershell.exe stand-in: records its arguments, prints what a run prints (numbers included), exits 2
        # (a Linux process exits with 8 bits: 3010 would arrive as 194).
        $script:PowerShell64 = Join-Path $root 'powershell.exe'
        [System.IO.File]::WriteAllText($script:PowerShell64, "#!/bin/sh`nprintf '%s\n' `"`$@`" > '$($script:ArgumentFile)'`necho 0`necho 'Pass AgentRunning: 1 of 1'`necho 1 >&2`nexit 2`n")
        & chmod +x $script:PowerShell64
        # Install.ps1 has a $script: scope of its own, which the mock would see: it reads a global.
        $global:IntuneTestPowerShell64 = $script:PowerShell64
        Mock Get-Intune64BitPowerShell { $global:IntuneTestPowerShell64 }
        Mock Install-DicomGateway { throw 'the 32-bit run must not install' }
        $script:Install = Join-Path $script:IntuneFolder 'Install.ps1'
    }

    AfterEach { Remove-Variable -Name IntuneTestPowerShell64 -Scope Global }

    It 'runs itself again in 64-bit PowerShell with the same arguments, and exits with that run''s exit code whatever it printed' {
        $output = & $script:Install -SiteFile 'C:\\Sites\\st-marys.json' -Port 11112 -NoUpstream
        $LASTEXITCODE | Should -Be 2
        $output | Should -BeNullOrEmpty
        $arguments = @(Get-Content -LiteralPath $script:ArgumentFile)
        $arguments[0..5] | Should -Be @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $script:Install)
        ($arguments[6..($arguments.Count - 1)] -join ' ') | Should -Match '-SiteFile C:\\\\Sites\\\\st-marys\.json'
        $arguments | Should -Contain '-NoUpstream'
        Should -Invoke Install-DicomGateway -Times 0 -Exactly -Scope It
    }
}

Describe 'Install.ps1' {
    BeforeEach {
        $root = New-TestFolder
        $script:DataPath = Join-Path $root 'data'
        $script:Arguments = @{
            AeTitle = 'StMarysCT'; InstallPath = (Join-Path $root 'install'); DataPath = $script:DataPath
            PackagePath = (Join-Path $root 'package'); ModulePath = $script:ModuleManifest; ConfigTemplatePath = (Join-Path $root 'none.json')
        }
        Mock Test-DicomGatewayPrerequisite { New-Result 'Memory' 'Pass' }
        Mock Install-DicomGateway { New-Result 'Package' 'Pass' $true; New-Result 'AgentRunning' 'Pass' $false }
        $script:Install = Join-Path $script:IntuneFolder 'Install.ps1'
    }

    It 'installs with the AE title exactly as given, and exits 0' {
        & $script:Install @script:Arguments -RemoteAddress '10.1.2.0/24, 10.1.3.5' -Port 11112
        $LASTEXITCODE | Should -Be 0
        Should -Invoke Install-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter {
            $AeTitle -ceq 'StMarysCT' -and $Port -eq 11112 -and ($RemoteAddress -join '|') -eq '10.1.2.0/24|10.1.3.5' -and
            $EnableException -and $SkipPrerequisiteCheck -and -not $PSBoundParameters.ContainsKey('ConfigTemplatePath')
        }
    }

    It 'logs every result to <data>\logs\intune-install.log' {
        & $script:Install @script:Arguments
        $log = Get-Content -LiteralPath (Join-Path $script:DataPath 'logs/intune-install.log') -Raw
        $log | Should -Match "AE title 'StMarysCT', port 4104"
        $log | Should -Match 'Pass +Memory: Memory is Pass'
        $log | Should -Match 'Pass +Package \(changed\): Package is Pass'
        $log | Should -Match 'done; exit code 0'
    }

    It 'passes the configuration template when the package has one' {
        Set-Content -LiteralPath (New-Item -Path $script:Arguments.ConfigTemplatePath -Force) -Value '{}'
        & $script:Install @script:Arguments
        Should -Invoke Install-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter { $ConfigTemplatePath -eq $script:Arguments.ConfigTemplatePath }
    }

    It 'exits 3010 (soft reboot) when the agent starts only at the next boot' {
        Mock Install-DicomGateway { New-Result 'Package' 'Pass' $true; New-Result 'AgentRunning' 'Warn' $false }
        & $script:Install @script:Arguments
        $LASTEXITCODE | Should -Be 3010
    }

    It 'exits 2 without installing when a prerequisite fails' {
        Mock Test-DicomGatewayPrerequisite { New-Result 'HostName' 'Fail' }
        & $script:Install @script:Arguments
        $LASTEXITCODE | Should -Be 2
        Should -Invoke Install-DicomGateway -Times 0 -Exactly -Scope It
        Get-Content -LiteralPath (Join-Path $script:DataPath 'logs/intune-install.log') -Raw | Should -Match 'prerequisites not met'
    }

    It 'installs anyway with -SkipPrerequisiteCheck' {
        Mock Test-DicomGatewayPrerequisite { New-Result 'HostName' 'Fail' }
        & $script:Install @script:Arguments -SkipPrerequisiteCheck
        $LASTEXITCODE | Should -Be 0
    }

    It 'exits 1 and logs the reason when the install throws' {
        Mock Install-DicomGateway { throw 'Install-DicomGateway stopped: Access is denied.' }
        & $script:Install @script:Arguments
        $LASTEXITCODE | Should -Be 1
        Get-Content -LiteralPath (Join-Path $script:DataPath 'logs/intune-install.log') -Raw | Should -Match 'failed: Install-DicomGateway stopped: Access is denied\.; exit code 1'
    }

    It 'exits 1 when a step fails, and prints the failing step on STDOUT' {
        Mock Install-DicomGateway { New-Result 'AgentRunning' 'Pass' $true; New-Result 'AgentEcho' 'Fail' }
        $printed = & $script:Install @script:Arguments 6>&1
        $LASTEXITCODE | Should -Be 1
        ($printed -join "`n") | Should -Match 'FAILED AgentEcho: AgentEcho is Fail'
        Get-Content -LiteralPath (Join-Path $script:DataPath 'logs/intune-install.log') -Raw | Should -Match 'Fail +AgentEcho'
    }

    It 'takes a site file; without arguments the one named after this computer in sites\, and without that one it fails saying so' {
        $script:Arguments.Remove('AeTitle')
        $siteFile = Join-Path $TestDrive 'st-marys.json'
        Set-Content -LiteralPath $siteFile -Value '{ "aeTitle": "StMarysCT", "noUpstream": true }'
        & $script:Install @script:Arguments -SiteFile $siteFile
        Should -Invoke Install-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter { $SiteFile -eq $siteFile -and -not $PSBoundParameters.ContainsKey('AeTitle') }
        $printed = & $script:Install @script:Arguments 6>&1
        $LASTEXITCODE | Should -Be 1
        ($printed -join "`n") | Should -Match "FAILED: no site file \S*sites.\S*\.json: add this computer's site file"
        Should -Invoke Install-DicomGateway -Times 1 -Exactly -Scope It
    }

    It 'checks the prerequisites with the port and folders of the site file, and logs to its data folder' {
        $script:Arguments.Remove('AeTitle')
        $script:Arguments.Remove('DataPath')
        $siteData = Join-Path $TestDrive 'site-data'
        $siteFile = Join-Path $TestDrive 'site-with-folders.json'
        Set-Content -LiteralPath $siteFile -Value ('{{ "aeTitle": "StMarysCT", "port": 11112, "dataPath": "{0}" }}' -f $siteData.Replace('\', '\\'))
        & $script:Install @script:Arguments -SiteFile $siteFile
        Should -Invoke Test-DicomGatewayPrerequisite -Times 1 -Exactly -Scope It -ParameterFilter { $Port -eq 11112 -and $DataPath -eq $siteData }
        Should -Invoke Install-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter { $DataPath -eq $siteData }
        Test-Path -LiteralPath (Join-Path $siteData 'logs/intune-install.log') | Should -BeTrue
    }

    It 'passes an upstream given as parameters, the token as a SecureString' {
        & $script:Install @script:Arguments -UpstreamKind stow-rs -UpstreamUrl 'https://upload.cloud.example/dicom-web' -UpstreamToken 't0ken' -RemoteAddress '10.1.0.0/16'
        Should -Invoke Install-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter {
            $Upstream.kind -eq 'stow-rs' -and $Upstream.url -eq 'https://upload.cloud.example/dicom-web' -and
            [System.Net.NetworkCredential]::new('', $UpstreamToken).Password -eq 't0ken' -and -not $NoUpstream
        }
    }
}

Describe 'Uninstall.ps1' {
    BeforeEach {
        $root = New-TestFolder
        $script:DataPath = Join-Path $root 'data'
        $script:Arguments = @{ InstallPath = (Join-Path $root 'install'); DataPath = $script:DataPath; ModulePath = $script:ModuleManifest }
        Mock Uninstall-DicomGateway { New-Result 'InstallFolder' 'Pass' $true; New-Result 'DataFolder' 'Pass' $false }
        $script:Uninstall = Join-Path $script:IntuneFolder 'Uninstall.ps1'
    }

    It 'uninstalls, keeps the data, logs to the data folder and exits 0' {
        & $script:Uninstall @script:Arguments
        $LASTEXITCODE | Should -Be 0
        Should -Invoke Uninstall-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter { -not $RemoveData -and $EnableException }
        Get-Content -LiteralPath (Join-Path $script:DataPath 'logs/intune-uninstall.log') -Raw | Should -Match 'done; exit code 0'
    }

    It 'passes -RemoveData and -Force on' {
        & $script:Uninstall @script:Arguments -RemoveData -Force
        Should -Invoke Uninstall-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter { $RemoveData -and $Force }
    }

    It 'leaves the folders to the registry record when none is given' {
        & $script:Uninstall -ModulePath $script:ModuleManifest -RemoveData
        Should -Invoke Uninstall-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter { -not $PSBoundParameters.ContainsKey('InstallPath') -and -not $PSBoundParameters.ContainsKey('DataPath') }
    }

    It 'exits 1 when the uninstall throws' {
        Mock Uninstall-DicomGateway { throw 'Uninstall-DicomGateway stopped: Access is denied.' }
        & $script:Uninstall @script:Arguments
        $LASTEXITCODE | Should -Be 1
    }
}

Describe 'Detect.ps1' {
    BeforeAll {
        # Get-Service exists only on Windows; give Pester something to mock.
        function global:Get-Service { param($Name) }
        $script:Detect = Join-Path $script:IntuneFolder 'Detect.ps1'
        # The agent's API: a real HTTP server on 127.0.0.1 answering GET /api/status with status.json.
        $apiFolder = New-TestFolder
        $null = New-Item -Path $apiFolder -ItemType Directory -Force
        $script:StatusFile = Join-Path $apiFolder 'status.json'
        $portFile = Join-Path $apiFolder 'port'
        $server = "require('http').createServer((q, r) => { r.setHeader('content-type', 'application/json'); r.end(require('fs').readFileSync(process.argv[1])); }).listen(0, '127.0.0.1', function () { require('fs').writeFileSync(process.argv[2], String(this.address().port)); })"
        $script:ApiServer = Start-Process -FilePath (Get-Command node).Source -ArgumentList @('-e', ('"{0}"' -f $server), $script:StatusFile, $portFile) -PassThru
        for ($wait = 0; -not (Test-Path -LiteralPath $portFile) -and $wait -lt 100; $wait++) { Start-Sleep -Milliseconds 100 }
        $script:ApiPort = [int](Get-Content -LiteralPath $portFile)
    }

    AfterAll {
        Stop-Process -Id $script:ApiServer.Id -ErrorAction SilentlyContinue
        Remove-Item -Path Function:\Get-Service
        Remove-Variable -Name DetectTest -Scope Global
    }

    BeforeEach {
        # Detect.ps1 runs as a script of its own, whose $script: scope the mocks would see: they read this global.
        $global:DetectTest = @{ DataPath = Join-Path (New-TestFolder) 'E/GatewayData' }
        $script:DataPath = $global:DetectTest.DataPath
        $script:ConfigFile = Write-TestConfig -DataPath $script:DataPath -Json ('{{ "api": {{ "port": {0} }} }}' -f $script:ApiPort)
        # The registry (HKLM) is Windows-only: the record of an install to non-default folders.
        Mock Get-ItemProperty { [pscustomobject]@{ InstallPath = 'D:\Gateway'; DataPath = $global:DetectTest.DataPath; Version = '0.2.1' } } -ParameterFilter { $LiteralPath -eq 'HKLM:\SOFTWARE\DicomGateway' }
        Mock Get-Service { [pscustomobject]@{ Name = 'DicomGateway'; Status = 'Running' } } -ParameterFilter { $Name -eq 'DicomGateway' }
        $script:Status = @{ version = '0.2.1'; database = @{ ok = $true }; receiver = @{ listening = $true; port = 4104 } }
        $script:Arguments = @{ MinimumVersion = '0.2.0' }
    }

    It 'detects a running, healthy agent found through the registry: exit 0 and a line on standard output' {
        $script:Status | ConvertTo-Json | Set-Content -LiteralPath $script:StatusFile
        $output = & $script:Detect @script:Arguments
        $LASTEXITCODE | Should -Be 0
        $output | Should -Be 'DICOM Gateway 0.2.1 running and healthy (D:\Gateway)'
    }

    It 'does not detect <Case>: exit 1 and nothing on standard output' -ForEach @(
        @{ Case = 'a computer without the registry record'; Break = { Mock Get-ItemProperty { $null } -ParameterFilter { $true } } }
        @{ Case = 'a stopped agent service'; Break = { Mock Get-Service { [pscustomobject]@{ Name = 'DicomGateway'; Status = 'Stopped' } } -ParameterFilter { $true } } }
        @{ Case = 'a missing agent service'; Break = { Mock Get-Service { $null } -ParameterFilter { $true } } }
        @{ Case = 'a crash-looping agent whose API does not answer'; Break = { $null = Write-TestConfig -DataPath $script:DataPath -Json '{ "api": { "port": 9 } }' } }
        @{ Case = 'an agent whose database is down'; Break = { $script:Status.database = @{ ok = $false; error = 'connection refused' } } }
        @{ Case = 'an agent that does not listen for DICOM'; Break = { $script:Status.receiver = @{ listening = $false } } }
        @{ Case = 'an older version'; Break = { $script:Arguments.MinimumVersion = '0.3.0' } }
        @{ Case = 'a missing configuration'; Break = { Remove-Item -LiteralPath $script:ConfigFile } }
    ) {
        . $Break
        $script:Status | ConvertTo-Json | Set-Content -LiteralPath $script:StatusFile
        $output = & $script:Detect @script:Arguments
        $LASTEXITCODE | Should -Be 1
        $output | Should -BeNullOrEmpty
    }
}
