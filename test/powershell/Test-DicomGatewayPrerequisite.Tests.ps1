BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-DicomGatewayModule -FakeWindows
    $script:CheckNames = @('OperatingSystem', 'Architecture', 'Processor', 'Memory', 'DataVolume', 'LocalAdministrator', 'HostName', 'StaticIPAddress', 'DicomPort', 'VisualCppRuntime', 'FolderOwner')

    function Get-Check {
        param([string]$Name, [hashtable]$Parameters = @{})
        Get-ResultByName -Result (Test-DicomGatewayPrerequisite @Parameters) -Name $Name
    }
}

Describe 'Test-DicomGatewayPrerequisite' {
    BeforeEach { $script:Machine = New-FakeMachine }

    Context 'on a computer that meets every requirement' {
        It 'passes every check, in a fixed order, each with its requirement' {
            $results = @(Test-DicomGatewayPrerequisite)
            $results.Name | Should -Be $script:CheckNames
            $results.Status | Should -Be (@('Pass') * 11)
            foreach ($result in $results) { $result.Requirement | Should -Not -BeNullOrEmpty }
        }

        It 'gives plain objects that ConvertTo-Json -Depth 4 turns into plain JSON' {
            $json = Test-DicomGatewayPrerequisite | ConvertTo-Json -Depth 4
            $json | Should -Match '"Status": "Pass"'
            $parsed = $json | ConvertFrom-Json
            $parsed.Count | Should -Be 11
            foreach ($item in $parsed) {
                @($item.PSObject.Properties.Name) | Should -Be @('Name', 'Status', 'Detail', 'Requirement')
                foreach ($property in $item.PSObject.Properties) { $property.Value | Should -BeOfType [string] }
            }
        }
    }

    Context 'memory (8 GB minimum, 16 GB recommended, installed memory in GiB)' {
        It '<Installed> installed is <Status>' -ForEach @(
            @{ Installed = '4 GB'; Bytes = 4GB; Status = 'Fail' }
            @{ Installed = '7.9 GB'; Bytes = [long](7.9 * 1GB); Status = 'Fail' }
            @{ Installed = '8 GB'; Bytes = 8GB; Status = 'Warn' }
            @{ Installed = '15.9 GB'; Bytes = [long](15.9 * 1GB); Status = 'Warn' }
            @{ Installed = '16 GB'; Bytes = 16GB; Status = 'Pass' }
            @{ Installed = '64 GB'; Bytes = 64GB; Status = 'Pass' }
        ) {
            $script:Machine.MemoryBytes = $Bytes
            $check = Get-Check -Name 'Memory'
            $check.Status | Should -Be $Status
            $check.Detail | Should -Match 'GB installed'
        }
    }

    Context 'memory with the HL7 interface (16 GB minimum, as the guide requires)' {
        It '<Installed> installed is <Status> with -Hl7Interface' -ForEach @(
            @{ Installed = '8 GB'; Bytes = 8GB; Status = 'Fail' }
            @{ Installed = '15.9 GB'; Bytes = [long](15.9 * 1GB); Status = 'Fail' }
            @{ Installed = '16 GB'; Bytes = 16GB; Status = 'Pass' }
        ) {
            $script:Machine.MemoryBytes = $Bytes
            $check = Get-Check -Name 'Memory' -Parameters @{ Hl7Interface = $true }
            $check.Status | Should -Be $Status
            $check.Requirement | Should -Match '16 GB of RAM minimum with the HL7 interface'
        }

        It 'counts the interface as on when the configuration in the data folder has an hl7 section' {
            $script:Machine.MemoryBytes = 8GB
            $dataPath = Join-Path (New-TestFolder) 'data'
            $null = Write-TestConfig -DataPath $dataPath -Json '{ "aeTitle": "StMarysCT", "hl7": { "url": "https://cloud.example/hl7" } }'
            (Get-Check -Name 'Memory' -Parameters @{ DataPath = $dataPath }).Status | Should -Be 'Fail'
            $null = Write-TestConfig -DataPath $dataPath -Json '{ "aeTitle": "StMarysCT" }'
            (Get-Check -Name 'Memory' -Parameters @{ DataPath = $dataPath }).Status | Should -Be 'Warn'
        }
    }

    Context 'data volume (1 TB minimum, 2 TB recommended, decimal TB less 1 % for partitions)' {
        It 'a volume of <Size> is <Status>' -ForEach @(
            @{ Size = '0.5 TB'; Bytes = [long]0.5e12; Status = 'Fail' }
            @{ Size = '0.98 TB (under 1 TB)'; Bytes = [long]0.98e12; Status = 'Fail' }
            @{ Size = '931 GiB, a 1 TB disk after its partitions'; Bytes = [long]998.9e9; Status = 'Warn' }
            @{ Size = '1 TB'; Bytes = [long]1e12; Status = 'Warn' }
            @{ Size = '1.5 TB'; Bytes = [long]1.5e12; Status = 'Warn' }
            @{ Size = '2 TB disk after its partitions'; Bytes = [long]1.9989e12; Status = 'Pass' }
            @{ Size = '2 TB'; Bytes = [long]2e12; Status = 'Pass' }
            @{ Size = '8 TB'; Bytes = [long]8e12; Status = 'Pass' }
        ) {
            $script:Machine.Volumes['D:'] = [pscustomobject]@{ DriveLetter = 'D:'; SizeBytes = $Bytes; FreeBytes = $Bytes; IsLocalDisk = $true }
            $check = Get-Check -Name 'DataVolume' -Parameters @{ DataPath = 'D:\DicomGateway' }
            $check.Status | Should -Be $Status
            $check.Detail | Should -Match '^D: holds'
        }

        It 'checks the volume of the data folder, not the system volume' {
            $script:Machine.Volumes['E:'] = [pscustomobject]@{ DriveLetter = 'E:'; SizeBytes = [long]0.5e12; FreeBytes = 1; IsLocalDisk = $true }
            (Get-Check -Name 'DataVolume' -Parameters @{ DataPath = 'e:\Gateway' }).Status | Should -Be 'Fail'
            Should -Invoke -ModuleName DicomGateway Get-DgwVolume -ParameterFilter { $DriveLetter -eq 'E:' } -Scope It
        }

        It 'fails for a drive that does not exist, a network drive and a UNC path' {
            (Get-Check -Name 'DataVolume' -Parameters @{ DataPath = 'Q:\DicomGateway' }).Detail | Should -Match 'no drive Q:'
            $script:Machine.Volumes['N:'] = [pscustomobject]@{ DriveLetter = 'N:'; SizeBytes = [long]4e12; FreeBytes = 1; IsLocalDisk = $false }
            (Get-Check -Name 'DataVolume' -Parameters @{ DataPath = 'N:\DicomGateway' }).Status | Should -Be 'Fail'
            $unc = Get-Check -Name 'DataVolume' -Parameters @{ DataPath = '\\nas\share\gateway' }
            $unc.Status | Should -Be 'Fail'
            $unc.Detail | Should -Match 'not on a local drive'
        }
    }

    Context 'operating system' {
        It '<Caption> (<Version>, product type <ProductType>) is <Status>' -ForEach @(
            @{ Caption = 'Windows 10 Pro'; Version = '10.0.19045'; Build = 19045; ProductType = 1; Status = 'Pass' }
            @{ Caption = 'Windows 11 Enterprise'; Version = '10.0.26100'; Build = 26100; ProductType = 1; Status = 'Pass' }
            @{ Caption = 'Windows Server 2016 Standard'; Version = '10.0.14393'; Build = 14393; ProductType = 3; Status = 'Pass' }
            @{ Caption = 'Windows Server 2019 Standard'; Version = '10.0.17763'; Build = 17763; ProductType = 3; Status = 'Pass' }
            @{ Caption = 'Windows Server 2022 Datacenter'; Version = '10.0.20348'; Build = 20348; ProductType = 3; Status = 'Pass' }
            @{ Caption = 'Windows Server 2025 Standard'; Version = '10.0.26100'; Build = 26100; ProductType = 3; Status = 'Warn' }
            @{ Caption = 'Windows Server 2012 R2 Standard'; Version = '6.3.9600'; Build = 9600; ProductType = 3; Status = 'Fail' }
            @{ Caption = 'Windows 8.1 Pro'; Version = '6.3.9600'; Build = 9600; ProductType = 1; Status = 'Fail' }
        ) {
            $script:Machine.OperatingSystem = [pscustomobject]@{ Caption = $Caption; Version = $Version; BuildNumber = $Build; ProductType = $ProductType; Is64Bit = $true }
            $check = Get-Check -Name 'OperatingSystem'
            $check.Status | Should -Be $Status
            $check.Detail | Should -Match ([regex]::Escape($Caption))
        }

        It 'fails 32-bit Windows' {
            $script:Machine.OperatingSystem.Is64Bit = $false
            (Get-Check -Name 'Architecture').Status | Should -Be 'Fail'
        }
    }

    Context 'processor' {
        It '<Cores> core(s) is <Status>' -ForEach @(
            @{ Cores = 1; Status = 'Fail' }
            @{ Cores = 2; Status = 'Warn' }
            @{ Cores = 3; Status = 'Warn' }
            @{ Cores = 4; Status = 'Pass' }
        ) {
            $script:Machine.Processor = [pscustomobject]@{ Name = 'CPU'; Cores = $Cores; LogicalProcessors = $Cores * 2 }
            (Get-Check -Name 'Processor').Status | Should -Be $Status
        }
    }

    Context 'account' {
        It '<Case>' -ForEach @(
            @{ Case = 'fails a domain account, even an administrator'; Name = 'HOSPITAL\jsmith'; Authority = 'HOSPITAL'; IsAdministrator = $true; IsSystem = $false; Status = 'Fail'; Detail = @('HOSPITAL\\jsmith.*domain account') }
            @{ Case = 'fails a Microsoft Entra account'; Name = 'AzureAD\JaneSmith'; Authority = 'AzureAD'; IsAdministrator = $true; IsSystem = $false; Status = 'Fail'; Detail = @() }
            @{ Case = 'fails a local account that is not elevated'; Name = 'GW01\tech'; Authority = 'GW01'; IsAdministrator = $false; IsSystem = $false; Status = 'Fail'; Detail = @('not running as administrator') }
            @{ Case = 'passes a local administrator whatever the case of the computer name'; Name = 'gw01\admin'; Authority = 'gw01'; IsAdministrator = $true; IsSystem = $false; Status = 'Pass'; Detail = @() }
            @{ Case = 'passes SYSTEM, the account Intune installs with'; Name = 'NT AUTHORITY\SYSTEM'; Authority = 'NT AUTHORITY'; IsAdministrator = $true; IsSystem = $true; Status = 'Pass'; Detail = @('SYSTEM') }
            @{ Case = 'is not applicable to the agent itself (Check this PC from the tray)'; Name = 'NT SERVICE\DicomGateway'; Authority = 'NT SERVICE'; IsAdministrator = $false; IsSystem = $false; Sid = 'S-1-5-80-3591495228-4217445067-214464481-3871279578-3610738999'; Status = 'NotApplicable'; Detail = @('not an administrator by design.*gateway doctor elevated') }
        ) {
            $identitySid = if ($Sid) { $Sid } else { 'S-1-5-21-9-9-9-1001' }
            $script:Machine.Identity = [pscustomobject]@{ Name = $Name; Sid = $identitySid; Authority = $Authority; IsAdministrator = $IsAdministrator; IsSystem = $IsSystem; ComputerName = 'GW01' }
            $check = Get-Check -Name 'LocalAdministrator'
            $check.Status | Should -Be $Status
            foreach ($pattern in $Detail) { $check.Detail | Should -Match $pattern }
        }
    }

    Context 'host name' {
        It '<Case>' -ForEach @(
            @{ Case = 'fails a computer name with an underscore'; Name = 'RAD_GW01'; DnsHostName = 'RAD_GW01'; Status = 'Fail'; Detail = @("'RAD_GW01' contains an underscore") }
            @{ Case = 'fails a DNS host name with an underscore too'; Name = 'RADGW01'; DnsHostName = 'rad_gw01'; Status = 'Fail'; Detail = @() }
            @{ Case = 'passes a name with hyphens'; Name = 'RAD-GW01'; DnsHostName = 'rad-gw01'; Status = 'Pass'; Detail = @() }
        ) {
            $script:Machine.ComputerSystem = [pscustomobject]@{ Name = $Name; DnsHostName = $DnsHostName; Domain = 'WORKGROUP'; PartOfDomain = $false }
            $check = Get-Check -Name 'HostName'
            $check.Status | Should -Be $Status
            foreach ($pattern in $Detail) { $check.Detail | Should -Match $pattern }
        }
    }

    Context 'static IP address' {
        It '<Case>' -ForEach @(
            @{ Case = 'warns on an address from plain DHCP and asks for a reservation'; Status = 'Warn'; Detail = @('10\.0\.0\.77', 'reservation'); Adapters = @(
                    [pscustomobject]@{ Description = 'Ethernet'; IPv4Address = @('10.0.0.77'); DhcpEnabled = $true }) }
            @{ Case = 'passes static addresses and ignores link-local ones'; Status = 'Pass'; Detail = @(); Adapters = @(
                    [pscustomobject]@{ Description = 'Ethernet'; IPv4Address = @('10.0.0.5'); DhcpEnabled = $false }
                    [pscustomobject]@{ Description = 'Unplugged'; IPv4Address = @('169.254.10.1'); DhcpEnabled = $true }) }
            @{ Case = 'fails when no adapter has an address'; Status = 'Fail'; Detail = @(); Adapters = @(
                    [pscustomobject]@{ Description = 'Unplugged'; IPv4Address = @('169.254.10.1'); DhcpEnabled = $true }) }
        ) {
            $script:Machine.IPConfiguration = $Adapters
            $check = Get-Check -Name 'StaticIPAddress'
            $check.Status | Should -Be $Status
            foreach ($pattern in $Detail) { $check.Detail | Should -Match $pattern }
        }

        It 'with a bind address, looks only at the adapter that holds it' {
            $script:Machine.IPConfiguration = @(
                [pscustomobject]@{ Description = 'Imaging LAN'; IPv4Address = @('10.0.0.5'); DhcpEnabled = $false }
                [pscustomobject]@{ Description = 'Office Wi-Fi'; IPv4Address = @('192.168.1.20'); DhcpEnabled = $true }
            )
            (Get-Check -Name 'StaticIPAddress').Status | Should -Be 'Warn'
            (Get-Check -Name 'StaticIPAddress' -Parameters @{ BindAddress = '10.0.0.5' }).Status | Should -Be 'Pass'
            (Get-Check -Name 'StaticIPAddress' -Parameters @{ BindAddress = '192.168.1.20' }).Status | Should -Be 'Warn'
            (Get-Check -Name 'StaticIPAddress' -Parameters @{ BindAddress = '10.9.9.9' }).Status | Should -Be 'Fail'
        }
    }

    Context 'DICOM port' {
        It 'passes a free port' {
            (Get-Check -Name 'DicomPort').Detail | Should -Match 'TCP port 4104 is free'
        }

        It 'fails a port another program listens on and names it' {
            $script:Machine.Listeners = @([pscustomobject]@{ LocalAddress = '0.0.0.0'; ProcessId = 4242; ProcessName = 'storescp' })
            $check = Get-Check -Name 'DicomPort' -Parameters @{ Port = 11112 }
            $check.Status | Should -Be 'Fail'
            $check.Detail | Should -Match 'TCP port 11112 is in use by storescp \(PID 4242\)'
            Should -Invoke -ModuleName DicomGateway Get-DgwTcpListener -ParameterFilter { $Port -eq 11112 } -Scope It
        }

        It 'passes a port the gateway itself listens on (a reinstall)' {
            $script:Machine.Listeners = @([pscustomobject]@{ LocalAddress = '0.0.0.0'; ProcessId = 100; ProcessName = 'gateway' })
            (Get-Check -Name 'DicomPort').Detail | Should -Match 'by the gateway itself'
        }
    }

    Context 'a check that cannot be made' {
        It 'is a Fail with the reason, and the other checks still run' {
            Mock -ModuleName DicomGateway Get-DgwMemory { throw 'Access denied' }
            $results = @(Test-DicomGatewayPrerequisite)
            $results.Name | Should -Be $script:CheckNames
            $memory = Get-ResultByName -Result $results -Name 'Memory'
            $memory.Status | Should -Be 'Fail'
            $memory.Detail | Should -Be 'Could not be checked: Access denied'
        }
    }

    Context 'off Windows' {
        It 'returns every check as NotApplicable and asks Windows nothing' {
            $script:Machine.IsWindows = $false
            $results = @(Test-DicomGatewayPrerequisite)
            $results.Name | Should -Be $script:CheckNames
            $results.Status | Should -Be (@('NotApplicable') * 11)
            Should -Invoke -ModuleName DicomGateway Get-DgwOperatingSystem -Times 0 -Exactly -Scope It
            Should -Invoke -ModuleName DicomGateway Get-DgwMemory -Times 0 -Exactly -Scope It
        }
    }

    Context 'the Visual C++ runtime the embedded PostgreSQL needs' {
        It 'fails when a DLL is missing, naming it and the fix (vc_redist.x64.exe, or an Intune dependency)' {
            $script:Machine.VisualCppDll = @('VCRUNTIME140.dll')
            $check = Get-Check -Name 'VisualCppRuntime'
            $check.Status | Should -Be 'Fail'
            $check.Detail | Should -Match '^VCRUNTIME140_1.dll, MSVCP140.dll missing from System32'
            $check.Detail | Should -Match 'vc_redist.x64.exe.*Intune'
        }

        It 'passes with all three, giving the version Windows recorded' {
            (Get-Check -Name 'VisualCppRuntime').Detail | Should -Match 'installed \(v14.40'
        }
    }

    Context 'folders that exist before the install' {
        It 'fails a data folder owned by a user, with the takeown fix' {
            $script:Machine.FolderAccess['C:\ProgramData\DicomGateway'] = [pscustomobject]@{ Owner = 'S-1-5-21-9-9-9-1105'; Protected = $false; Rules = @() }
            $check = Get-Check -Name 'FolderOwner' -Parameters @{ DataPath = 'C:\ProgramData\DicomGateway' }
            $check.Status | Should -Be 'Fail'
            $check.Detail | Should -Match 'C:\\ProgramData\\DicomGateway already exists and is owned by S-1-5-21-9-9-9-1105.*takeown'
        }

        It 'passes folders owned by Administrators, SYSTEM or the installing account' {
            foreach ($owner in 'S-1-5-32-544', 'S-1-5-18', 'S-1-5-21-1-2-3-500') {
                $script:Machine.FolderAccess['D:\DicomGateway'] = [pscustomobject]@{ Owner = $owner; Protected = $false; Rules = @() }
                $check = Get-Check -Name 'FolderOwner' -Parameters @{ DataPath = 'D:\DicomGateway' }
                $check.Status | Should -Be 'Pass' -Because $check.Detail
            }
        }
    }
}
