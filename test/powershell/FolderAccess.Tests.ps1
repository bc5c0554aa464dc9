BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
    $script:Names = @('InstallFolderAccess', 'DataFolderAccess', 'TrayFolderAccess')
    $script:ServiceSid = 'S-1-5-80-3591495228-4217445067-214464481-3871279578-3610738999'
}

Describe 'The folder permissions the module applies' {
    BeforeAll {
        $script:Definitions = InModuleScope DicomGateway {
            Get-DicomGatewayFolderAccessDefinition -Layout (Get-DicomGatewayLayout -InstallPath 'C:\Program Files\DicomGateway' -DataPath 'D:\DicomGateway')
        }
        $script:Rules = { param($Name) @($script:Definitions | Where-Object Name -eq $Name)[0].Rules | ForEach-Object { '{0}:{1}' -f $_.Sid, $_.Rights } }
    }

    It 'names the virtual account by the SID Windows gives NT SERVICE\<name> (checked against TrustedInstaller)' {
        InModuleScope DicomGateway { ConvertTo-DicomGatewayServiceSid -ServiceName 'TrustedInstaller' } | Should -Be 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464'
        InModuleScope DicomGateway { ConvertTo-DicomGatewayServiceSid -ServiceName 'dicomgateway' } | Should -Be $script:ServiceSid
    }

    It 'install folder: SYSTEM and Administrators full control, Users read and execute, nothing inherited, nothing writable by users' {
        $install = $script:Definitions[0]
        $install.Path | Should -Be 'C:\Program Files\DicomGateway'
        $install.Protected | Should -BeTrue
        $install.Owner | Should -Be 'S-1-5-32-544'
        & $script:Rules 'InstallFolderAccess' | Should -Be @('S-1-5-18:FullControl', 'S-1-5-32-544:FullControl', 'S-1-5-32-545:ReadAndExecute')
    }

    It 'data folder: SYSTEM, Administrators and the agent account only, inheritance off, also for an explicit -DataPath on a drive root' {
        $data = $script:Definitions[1]
        $data.Path | Should -Be 'D:\DicomGateway'
        $data.Protected | Should -BeTrue
        & $script:Rules 'DataFolderAccess' | Should -Be @('S-1-5-18:FullControl', 'S-1-5-32-544:FullControl', "$($script:ServiceSid):Modify")
        @($data.Rules.Sid) | Should -Not -Contain 'S-1-5-32-545'
        @($data.Rules.Sid) | Should -Not -Contain 'S-1-5-11'
    }

    It 'tray folder: inherits the data folder and adds read for interactive users only' {
        $tray = $script:Definitions[2]
        $tray.Path | Should -Be ([System.IO.Path]::Combine('D:\DicomGateway', 'tray'))
        $tray.Protected | Should -BeFalse
        & $script:Rules 'TrayFolderAccess' | Should -Be @('S-1-5-4:ReadAndExecute')
    }

    It 'applies every rule to the folder, its subfolders and files' {
        foreach ($rule in $script:Definitions.Rules) { $rule.Inheritance | Should -Be 'ContainerInherit, ObjectInherit' }
    }
}

Describe 'Test-DicomGatewayFolderAccess' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        $root = New-TestFolder
        $script:Paths = @{ InstallPath = (Join-Path $root 'install'); DataPath = (Join-Path $root 'data') }
        $null = Set-DicomGatewayFolderAccess @script:Paths -Confirm:$false
    }

    It 'passes the folders as Set-DicomGatewayFolderAccess left them' {
        $results = @(Test-DicomGatewayFolderAccess @script:Paths)
        $results.Name | Should -Be $script:Names
        $results.Status | Should -Be @('Pass', 'Pass', 'Pass')
    }

    It 'fails a data folder that drifted: inheritance turned on and Users given read, with the fix' {
        $data = $script:Machine.FolderAccess[$script:Paths.DataPath]
        $data.Protected = $false
        $data.Rules += [pscustomobject]@{ Sid = 'S-1-5-32-545'; Type = 'Allow'; Rights = 'ReadAndExecute'; Inheritance = 'ContainerInherit, ObjectInherit' }
        $result = @(Test-DicomGatewayFolderAccess @script:Paths)[1]
        $result.Status | Should -Be 'Fail'
        $result.Detail | Should -Match 'drifted: inherits permissions from its parent folder; S-1-5-32-545 has Allow ReadAndExecute .*which is not ours\. Set-DicomGatewayFolderAccess'
    }

    It 'fails an install folder whose owner changed or that lost a rule' {
        $install = $script:Machine.FolderAccess[$script:Paths.InstallPath]
        $install.Owner = 'S-1-5-21-1-2-3-1001'
        $install.Rules = @($install.Rules | Select-Object -First 2)
        $result = @(Test-DicomGatewayFolderAccess @script:Paths)[0]
        $result.Detail | Should -Match 'owned by S-1-5-21-1-2-3-1001, not by Administrators; S-1-5-32-545 lacks ReadAndExecute'
    }

    It 'fails a missing folder' {
        $script:Machine.FolderAccess.Remove($script:Paths.DataPath + '/tray')
        Remove-Item -LiteralPath (Join-Path $script:Paths.DataPath 'tray')
        @(Test-DicomGatewayFolderAccess @script:Paths)[2].Detail | Should -Match 'does not exist'
    }

    It 'is NotApplicable off Windows' {
        $script:Machine.IsWindows = $false
        (Test-DicomGatewayFolderAccess @script:Paths).Status | Should -Be @('NotApplicable', 'NotApplicable', 'NotApplicable')
    }
}

Describe 'Set-DicomGatewayFolderAccess' {
    BeforeEach {
        $script:Machine = New-FakeMachine
        $root = New-TestFolder
        $script:Paths = @{ InstallPath = (Join-Path $root 'install'); DataPath = (Join-Path $root 'data'); Confirm = $false }
    }

    It 'creates the three folders with their permissions; a second run changes nothing and calls no setter' {
        $first = @(Set-DicomGatewayFolderAccess @script:Paths)
        $first.Name | Should -Be $script:Names
        $first.Changed | Should -Be @($true, $true, $true)
        $second = @(Set-DicomGatewayFolderAccess @script:Paths)
        $second.Changed | Should -Be @($false, $false, $false)
        Should -Invoke -ModuleName DicomGateway Set-DgwFolderAccess -Times 3 -Exactly -Scope It
    }

    It 'gives everything inside an existing data folder to Administrators again (files planted before)' {
        $null = New-Item -Path $script:Paths.DataPath -ItemType Directory
        $null = Set-DicomGatewayFolderAccess @script:Paths
        Should -Invoke -ModuleName DicomGateway Set-DgwFolderAccess -Times 1 -Exactly -Scope It -ParameterFilter { $Definition.Name -eq 'DataFolderAccess' -and $ResetChildren }
        Should -Invoke -ModuleName DicomGateway Set-DgwFolderAccess -Times 1 -Exactly -Scope It -ParameterFilter { $Definition.Name -eq 'InstallFolderAccess' -and -not $ResetChildren }
    }

    It 'refuses a folder owned by someone else and sets nothing' {
        $null = New-Item -Path $script:Paths.InstallPath -ItemType Directory
        $script:Machine.FolderAccess[$script:Paths.InstallPath] = [pscustomobject]@{ Owner = 'S-1-5-21-1-2-3-1001'; Protected = $false; Rules = @() }
        { Set-DicomGatewayFolderAccess @script:Paths -EnableException } | Should -Throw '*owned by S-1-5-21-1-2-3-1001*'
        Assert-NoSetterCalled
    }
}
