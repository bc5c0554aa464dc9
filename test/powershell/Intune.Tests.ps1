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
        # The 64-bit powershell.exe stand-in: records its arguments, prints what a run prints (numbers included), exits 3010.
        $script:PowerShell64 = Join-Path $root 'powershell.exe'
        [System.IO.File]::WriteAllText($script:PowerShell64, "#!/bin/sh`nprintf '%s\n' `"`$@`" > '$($script:ArgumentFile)'`necho 0`necho 'Pass AgentRunning: 1 of 1'`necho 1 >&2`nexit 3010`n")
        & chmod +x $script:PowerShell64
        Mock Get-Intune64BitPowerShell { $script:PowerShell64 }
        Mock Install-DicomGateway { throw 'the 32-bit run must not install' }
        $script:Install = Join-Path $script:IntuneFolder 'Install.ps1'
    }

    It 'runs itself again in 64-bit PowerShell with the same arguments, and exits with that run''s exit code whatever it printed' {
        $output = & $script:Install -SiteFile 'C:\\Sites\\st-marys.json' -Port 11112 -NoUpstream
        $LASTEXITCODE | Should -Be 3010
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

    It 'exits 1 when a step fails' {
        Mock Install-DicomGateway { New-Result 'FirewallRule' 'Fail' $true }
        & $script:Install @script:Arguments
        $LASTEXITCODE | Should -Be 1
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

    It 'passes -RemoveData on' {
        & $script:Uninstall @script:Arguments -RemoveData
        Should -Invoke Uninstall-DicomGateway -Times 1 -Exactly -Scope It -ParameterFilter { $RemoveData }
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
    }

    AfterAll {
        Remove-Item -Path Function:\Get-Service
    }

    BeforeEach {
        $root = New-TestFolder
        $script:InstallPath = Join-Path $root 'install'
        $script:DataPath = Join-Path $root 'data'
        $null = New-Item -Path $script:InstallPath -ItemType Directory -Force
        $null = Write-TestConfig -DataPath $script:DataPath -Json '{}'
        $script:Executable = Join-Path $script:InstallPath 'gateway.exe'
        # A stand-in gateway.exe that answers "version" (this host runs it through its #! line).
        [System.IO.File]::WriteAllText($script:Executable, "#!/bin/sh`necho 'gateway 0.2.1 (node 20.19.0)'`n")
        if (-not $IsWindows) { & chmod +x $script:Executable }
        Mock Get-Service { [pscustomobject]@{ Name = 'DicomGateway'; Status = 'Running' } } -ParameterFilter { $Name -eq 'DicomGateway' }
        $script:Arguments = @{ InstallPath = $script:InstallPath; DataPath = $script:DataPath; MinimumVersion = '0.2.0' }
    }

    It 'detects an installed gateway: exit 0 and a line on standard output' -Skip:$IsWindows {
        $output = & $script:Detect @script:Arguments
        $LASTEXITCODE | Should -Be 0
        $output | Should -Be "DICOM Gateway 0.2.1 detected in $($script:InstallPath)"
    }

    It 'does not detect <Case>: exit 1 and nothing on standard output' -Skip:$IsWindows -ForEach @(
        @{ Case = 'a missing gateway.exe'; Break = { Remove-Item -LiteralPath $script:Executable } }
        @{ Case = 'a missing configuration'; Break = { Remove-Item -LiteralPath (Join-Path $script:DataPath 'gateway.json') } }
        @{ Case = 'a missing agent service'; Break = { Mock Get-Service { $null } -ParameterFilter { $true } } }
        @{ Case = 'an older version'; Break = { $script:Arguments.MinimumVersion = '0.3.0' } }
        @{ Case = 'a gateway.exe that says no version'; Break = { [System.IO.File]::WriteAllText($script:Executable, "#!/bin/sh`necho oops`n") } }
    ) {
        . $Break
        $output = & $script:Detect @script:Arguments
        $LASTEXITCODE | Should -Be 1
        $output | Should -BeNullOrEmpty
    }
}
