# The module as a whole: manifest, exports, verbs, help, ShouldProcess, and the rules that keep it
# working on Windows PowerShell 5.1 and testable on any host.
BeforeDiscovery {
    $moduleRoot = Join-Path $PSScriptRoot '../../powershell/DicomGateway'
    $publicNames = @(Get-ChildItem -Path (Join-Path $moduleRoot 'Public') -Filter '*.ps1' | ForEach-Object { $_.BaseName })
    $script:CommandCases = @($publicNames | ForEach-Object { @{ Command = $_ } })
    $script:ChangingCases = @($publicNames | Where-Object { $_ -match '^(Set|Install|Uninstall)-' } | ForEach-Object { @{ Command = $_ } })
    $script:ReadingCases = @($publicNames | Where-Object { $_ -match '^(Test|Get)-' } | ForEach-Object { @{ Command = $_ } })
    $script:SourceCases = @(Get-ChildItem -Path $moduleRoot, (Join-Path $PSScriptRoot '../../provisioning/intune') -Include '*.ps1', '*.psd1', '*.psm1' -Recurse |
            ForEach-Object { @{ File = $_.FullName; Name = $_.Name } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule
    $moduleRoot = Split-Path -Path $script:ModuleManifest -Parent
    $publicNames = @(Get-ChildItem -Path (Join-Path $moduleRoot 'Public') -Filter '*.ps1' | ForEach-Object { $_.BaseName } | Sort-Object)

    function Get-ScriptAst {
        param([string]$Path)
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        $errors | Should -BeNullOrEmpty -Because "$Path must parse"
        $ast
    }
}

Describe 'DicomGateway manifest' {
    It 'is a valid manifest for PowerShell 5.1 (Desktop) and 7 (Core)' {
        $manifest = Test-ModuleManifest -Path $script:ModuleManifest -ErrorAction Stop
        $manifest.Version | Should -Be ([version]'0.1.0')
        $manifest.Guid | Should -Be ([guid]'6c059926-823e-4d4f-9584-b2fcf6c6f62e')
        $manifest.PowerShellVersion | Should -Be ([version]'5.1')
        $manifest.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
    }

    It 'exports exactly the functions of Public/, by name, and nothing else' {
        $data = Import-PowerShellDataFile -Path $script:ModuleManifest
        @($data.FunctionsToExport | Sort-Object) | Should -Be $publicNames
        $data.CmdletsToExport | Should -BeNullOrEmpty
        $data.VariablesToExport | Should -BeNullOrEmpty
        $data.AliasesToExport | Should -BeNullOrEmpty
        @((Get-Command -Module DicomGateway).Name | Sort-Object) | Should -Be $publicNames
    }

    It 'has the public functions of the issues' {
        $publicNames | Should -Be @(
            'Get-DicomGatewayStatus', 'Install-DicomGateway', 'Set-DicomGatewayAeTitle', 'Set-DicomGatewayAntivirusExclusion',
            'Set-DicomGatewayFirewallRule', 'Set-DicomGatewayFolderAccess', 'Set-DicomGatewayPowerPolicy', 'Test-DicomGatewayAntivirusExclusion',
            'Test-DicomGatewayBitLocker', 'Test-DicomGatewayConnectivity', 'Test-DicomGatewayFirewallRule', 'Test-DicomGatewayFolderAccess',
            'Test-DicomGatewayHealth', 'Test-DicomGatewayPowerPolicy', 'Test-DicomGatewayPrerequisite', 'Test-DicomGatewayService', 'Uninstall-DicomGateway')
    }
}

Describe '<Command>' -ForEach $script:CommandCases {
    BeforeAll {
        $commandInfo = Get-Command -Name $Command -Module DicomGateway
        $help = Get-Help -Name $Command -Full
    }

    It 'uses an approved verb' {
        (Get-Verb).Verb | Should -Contain $commandInfo.Verb
    }

    It 'lives alone in Public/<Command>.ps1' {
        $file = Join-Path (Split-Path -Path $script:ModuleManifest -Parent) "Public/$Command.ps1"
        $functions = (Get-ScriptAst -Path $file).FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)
        @($functions.Name) | Should -Be @($Command)
    }

    It 'has a synopsis and a description' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Command"
        ($help.Description.Text -join '') | Should -Not -BeNullOrEmpty
    }

    It 'has at least one example with code' {
        $examples = @($help.Examples.Example)
        $examples.Count | Should -BeGreaterThan 0
        foreach ($example in $examples) { $example.Code | Should -Match $Command }
    }

    It 'documents every parameter' {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($parameter in @($commandInfo.Parameters.Keys | Where-Object { $_ -notin $common })) {
            $documented = @($help.Parameters.Parameter | Where-Object { $_.Name -eq $parameter })
            ($documented.Description.Text -join '') | Should -Not -BeNullOrEmpty -Because "-$parameter of $Command needs a description"
        }
    }
}

Describe '<Command> changes the computer' -ForEach $script:ChangingCases {
    It 'supports -WhatIf and -Confirm with a ConfirmImpact' {
        $commandInfo = Get-Command -Name $Command -Module DicomGateway
        $commandInfo.Parameters.Keys | Should -Contain 'WhatIf'
        $commandInfo.Parameters.Keys | Should -Contain 'Confirm'
        $binding = $commandInfo.ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        $binding.ConfirmImpact | Should -BeIn @('Medium', 'High')
    }

    It 'offers -EnableException' {
        (Get-Command -Name $Command -Module DicomGateway).Parameters.Keys | Should -Contain 'EnableException'
    }
}

Describe '<Command> only reads' -ForEach $script:ReadingCases {
    It 'does not pretend to change anything (no -WhatIf)' {
        (Get-Command -Name $Command -Module DicomGateway).Parameters.Keys | Should -Not -Contain 'WhatIf'
    }
}

Describe 'source file <Name>' -ForEach $script:SourceCases {
    It 'is ASCII only (Windows PowerShell 5.1 reads a file without BOM as ANSI)' {
        $bytes = [System.IO.File]::ReadAllBytes($File)
        @($bytes | Where-Object { $_ -gt 127 }).Count | Should -Be 0
    }
    # The syntax Windows PowerShell 5.1 lacks: WindowsPowerShell51.Tests.ps1.
}

Describe 'Windows calls' {
    It 'are made only in Private/Windows, by *-Dgw* wrappers that tests mock' {
        $moduleRoot = Split-Path -Path $script:ModuleManifest -Parent
        $windowsOnly = '^(Get-CimInstance|Get-WmiObject|Invoke-CimMethod|.*-NetFirewall.*|Get-NetTCPConnection|.*-MpPreference|.*-BitLocker.*|powercfg(\.exe)?|.*-ScheduledTask.*|New-ScheduledTask.*|Get-Process|Stop-Process|Resolve-DnsName|Invoke-RestMethod|Invoke-WebRequest|Get-ItemProperty)$'
        $files = Get-ChildItem -Path $moduleRoot -Filter '*.ps1' -Recurse | Where-Object { $_.FullName -notmatch '[\\/]Private[\\/]Windows[\\/]' }
        foreach ($file in $files) {
            $commands = (Get-ScriptAst -Path $file.FullName).FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true)
            foreach ($command in $commands) {
                $command.GetCommandName() | Should -Not -Match $windowsOnly -Because "$($file.Name) line $($command.Extent.StartLineNumber) must go through a Private/Windows wrapper"
            }
        }
    }

    It 'every function in Private/Windows is a *-Dgw* wrapper' {
        $moduleRoot = Split-Path -Path $script:ModuleManifest -Parent
        foreach ($file in Get-ChildItem -Path (Join-Path $moduleRoot 'Private/Windows') -Filter '*.ps1') {
            $functions = (Get-ScriptAst -Path $file.FullName).FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)
            foreach ($function in $functions) { $function.Name | Should -Match '^[A-Z][a-z]+-Dgw[A-Za-z]+$' }
        }
    }
}
