# Dot-sourced by every *.Tests.ps1 in BeforeAll. A fake Windows computer: every Private/Windows
# wrapper (*-Dgw*) of the module is mocked and reads or changes $script:Machine, so Test- sees
# what Set- did, and a second Set- finds nothing to do.

$script:RepositoryRoot = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).ProviderPath
$script:ModuleManifest = Join-Path $script:RepositoryRoot 'powershell/DicomGateway/DicomGateway.psd1'
$script:IntuneFolder = Join-Path $script:RepositoryRoot 'provisioning/intune'

# Every wrapper that changes the computer; "calls no setter" means none of these ran.
$script:SetterCommands = @(
    'New-DgwFirewallRule', 'Set-DgwFirewallRule', 'Remove-DgwFirewallRule',
    'Add-DgwDefenderExclusionPath', 'Remove-DgwDefenderExclusionPath',
    'Set-DgwSleepTimeout', 'Disable-DgwHibernation',
    'Register-DgwScheduledTask', 'Unregister-DgwScheduledTask', 'Start-DgwScheduledTask', 'Stop-DgwScheduledTask',
    'Stop-DgwProcess',
    'Register-DgwService', 'Unregister-DgwService', 'Start-DgwService', 'Stop-DgwService',
    'Set-DgwFolderAccess',
    'Set-DgwRegistryValue', 'Remove-DgwRegistryKey', 'Register-DgwEventLogSource', 'Unregister-DgwEventLogSource', 'Set-DgwShortcut', 'Remove-DgwShortcut'
)

function Import-DicomGatewayModule {
    # A fresh copy of the module; with -FakeWindows also the mocks of Initialize-FakeWindows.
    param([switch]$FakeWindows)
    Import-Module -Name $script:ModuleManifest -Force -ErrorAction Stop
    if ($FakeWindows) { Initialize-FakeWindows }
}

function New-FakeMachine {
    # A computer that meets every prerequisite and has not been prepared for the gateway yet.
    @{
        IsWindows               = $true
        SystemDrive             = 'C:'
        OperatingSystem         = [pscustomobject]@{ Caption = 'Microsoft Windows 11 Pro'; Version = '10.0.22631'; BuildNumber = 22631; ProductType = 1; Is64Bit = $true }
        Processor               = [pscustomobject]@{ Name = 'Intel(R) Xeon(R) E-2388G'; Cores = 8; LogicalProcessors = 16 }
        MemoryBytes             = 32GB
        Volumes                 = @{ 'C:' = [pscustomobject]@{ DriveLetter = 'C:'; SizeBytes = [long]4e12; FreeBytes = [long]3e12; IsLocalDisk = $true } }
        Identity                = [pscustomobject]@{ Name = 'GW01\Administrator'; Sid = 'S-1-5-21-1-2-3-500'; Authority = 'GW01'; IsAdministrator = $true; IsSystem = $false; ComputerName = 'GW01' }
        ComputerSystem          = [pscustomobject]@{ Name = 'GW01'; DnsHostName = 'gw01'; Domain = 'WORKGROUP'; PartOfDomain = $false }
        IPConfiguration         = @([pscustomobject]@{ Description = 'Intel(R) Ethernet Connection'; IPv4Address = @('10.0.0.5'); DhcpEnabled = $false })
        Listeners               = @()
        FirewallRules           = @{}
        DefenderAvailable       = $true
        DefenderKeepsExclusions = $true
        Exclusions              = New-Object System.Collections.Generic.List[string]
        BitLocker               = @{ 'C:' = 'On' }
        SleepAcSeconds          = 1800
        SleepDcSeconds          = 900
        Hibernation             = $true
        PowerCfgFails           = $false
        Tasks                   = @{}
        StartTaskFails          = $false
        Processes               = New-Object System.Collections.Generic.List[object]
        Services                = @{}
        StartServiceFails       = $false
        # Folder permissions by path, as Get-DgwFolderAccess reports them; a path absent here is
        # described from the disk: a folder that exists there is owned by Administrators and
        # inherits (as a new folder under C:\ProgramData would).
        FolderAccess            = @{}
        VisualCppDll            = @('VCRUNTIME140.dll', 'VCRUNTIME140_1.dll', 'MSVCP140.dll')
        Dns                     = @{ 'upload.cloud.example' = @('203.0.113.10'); 'proxy.hospital.example' = @('10.0.0.1') }
        OpenPorts               = @('203.0.113.10:443', 'upload.cloud.example:443', 'proxy.hospital.example:3128')
        Cli                     = { param($ArgumentList) [pscustomobject]@{ ExitCode = 0; Output = '{"ok":true}'; ErrorOutput = '' } }
        ApiDown                 = $false
        # What GET /api/status reports besides state (database, uploads).
        ApiStatus               = @{ version = '0.1.0'; database = [pscustomobject]@{ ok = $true }; queue = [pscustomobject]@{ studies = 0; instances = 0 }; uploads = [pscustomobject]@{ queued = 0; sending = 0; awaitingCommitment = 0; failed = 0; studiesDone = 3 } }
        # Registry keys (HKLM:\...) and their values.
        Registry                = @{}
        EventLogSources         = New-Object System.Collections.Generic.List[string]
        Shortcuts               = @{}
    }
}

function ConvertTo-FakeFirewallRule {
    # What Windows reports for a rule made from a definition: IPv4 prefixes come back as masks.
    param($Rule)
    $remote = foreach ($address in $Rule.RemoteAddress) {
        if ($address -eq '10.1.2.0/24') { '10.1.2.0/255.255.255.0' } else { $address }
    }
    [pscustomobject]@{
        Name = $Rule.Name; Enabled = $true; Direction = $Rule.Direction; Action = $Rule.Action; Protocol = $Rule.Protocol
        LocalPort = $Rule.LocalPort; Program = $Rule.Program; RemoteAddress = @($remote); Profile = $Rule.Profile
    }
}

function Initialize-FakeWindows {
    # Call in BeforeAll: the mocks that serve $script:Machine. Give each test a fresh computer
    # with "$script:Machine = New-FakeMachine" in BeforeEach.
    $script:Machine = New-FakeMachine
    $module = @{ ModuleName = 'DicomGateway' }

    Mock @module Test-DgwWindows { $script:Machine.IsWindows }
    Mock @module Get-DgwSystemDrive { $script:Machine.SystemDrive }
    Mock @module Get-DgwOperatingSystem { $script:Machine.OperatingSystem }
    Mock @module Get-DgwProcessor { $script:Machine.Processor }
    Mock @module Get-DgwMemory { [pscustomobject]@{ InstalledBytes = [long]$script:Machine.MemoryBytes } }
    Mock @module Get-DgwComputerSystem { $script:Machine.ComputerSystem }
    Mock @module Get-DgwVolume { $script:Machine.Volumes[$DriveLetter] }
    Mock @module Get-DgwIPConfiguration { $script:Machine.IPConfiguration }
    Mock @module Get-DgwCurrentIdentity { $script:Machine.Identity }
    Mock @module Get-DgwTcpListener { $script:Machine.Listeners }

    Mock @module Get-DgwFirewallRule { $script:Machine.FirewallRules[$Name] }
    Mock @module New-DgwFirewallRule { $script:Machine.FirewallRules[$Rule.Name] = ConvertTo-FakeFirewallRule $Rule }
    Mock @module Set-DgwFirewallRule { $script:Machine.FirewallRules[$Rule.Name] = ConvertTo-FakeFirewallRule $Rule }
    Mock @module Remove-DgwFirewallRule { $script:Machine.FirewallRules.Remove($Name) }

    Mock @module Get-DgwDefenderExclusionPath {
        if (-not $script:Machine.DefenderAvailable) { throw "The term 'Get-MpPreference' is not recognized" }
        $script:Machine.Exclusions.ToArray()
    }
    Mock @module Add-DgwDefenderExclusionPath { if ($script:Machine.DefenderKeepsExclusions) { $script:Machine.Exclusions.Add($Path) } }
    Mock @module Remove-DgwDefenderExclusionPath { $null = $script:Machine.Exclusions.Remove($Path) }

    Mock @module Get-DgwBitLockerVolume {
        $protection = $script:Machine.BitLocker[$MountPoint]
        if (-not $protection) { throw "The term 'Get-BitLockerVolume' is not recognized" }
        $volumeStatus = if ($protection -eq 'On') { 'FullyEncrypted' } elseif ($protection -eq 'Encrypting') { 'EncryptionInProgress' } else { 'FullyDecrypted' }
        [pscustomobject]@{ MountPoint = $MountPoint; ProtectionStatus = $(if ($protection -eq 'On') { 'On' } else { 'Off' }); VolumeStatus = $volumeStatus; EncryptionPercentage = 42 }
    }

    Mock @module Get-DgwSleepTimeout { [pscustomobject]@{ AcSeconds = $script:Machine.SleepAcSeconds; DcSeconds = $script:Machine.SleepDcSeconds } }
    Mock @module Set-DgwSleepTimeout {
        if ($script:Machine.PowerCfgFails) { throw 'powercfg /change failed with exit code 1: Access is denied.' }
        $script:Machine.SleepAcSeconds = $Minutes * 60
        $script:Machine.SleepDcSeconds = $Minutes * 60
    }
    Mock @module Get-DgwHibernation { $script:Machine.Hibernation }
    Mock @module Disable-DgwHibernation { $script:Machine.Hibernation = $false }

    Mock @module Get-DgwScheduledTask { $script:Machine.Tasks[$TaskPath + $TaskName] }
    Mock @module Register-DgwScheduledTask {
        $key = $Definition.TaskPath + $Definition.TaskName
        $state = if ($script:Machine.Tasks[$key]) { $script:Machine.Tasks[$key].State } else { 'Ready' }
        $script:Machine.Tasks[$key] = [pscustomobject]@{
            TaskPath = $Definition.TaskPath; TaskName = $Definition.TaskName; Execute = $Definition.Execute; Arguments = $Definition.Arguments
            Triggers = $Definition.Triggers; PrincipalSid = $Definition.PrincipalSid; State = $state
        }
    }
    Mock @module Unregister-DgwScheduledTask { $script:Machine.Tasks.Remove($TaskPath + $TaskName) }
    Mock @module Start-DgwScheduledTask {
        if ($script:Machine.StartTaskFails) { throw 'The service cannot be started' }
        $script:Machine.Tasks[$TaskPath + $TaskName].State = 'Running'
    }
    Mock @module Stop-DgwScheduledTask { $script:Machine.Tasks[$TaskPath + $TaskName].State = 'Ready' }
    Mock @module Get-DgwProcess { $script:Machine.Processes.ToArray() }
    Mock @module Stop-DgwProcess {
        foreach ($process in @($script:Machine.Processes | Where-Object { $_.ProcessId -eq $Id })) { $null = $script:Machine.Processes.Remove($process) }
    }

    Mock @module Get-DgwService { $script:Machine.Services[$Name] }
    Mock @module Register-DgwService {
        [System.IO.File]::WriteAllText($Definition.ConfigPath, $Definition.Xml)
        $state = if ($script:Machine.Services[$Definition.ServiceName]) { $script:Machine.Services[$Definition.ServiceName].State } else { 'Stopped' }
        $script:Machine.Services[$Definition.ServiceName] = [pscustomobject]@{
            ServiceName = $Definition.ServiceName; State = $state; StartMode = 'Auto'; Account = $Definition.Account; PathName = '"{0}"' -f $Definition.HostPath
            ProcessId = 0; ResetSeconds = $Definition.ResetSeconds; FailureActions = $Definition.FailureActions; NonCrashFailures = $true
        }
    }
    Mock @module Unregister-DgwService { $script:Machine.Services.Remove($Name) }
    Mock @module Start-DgwService {
        if ($script:Machine.StartServiceFails) { throw 'Service DICOM Gateway (DicomGateway) cannot be started' }
        $script:Machine.Services[$Name].State = 'Running'
    }
    Mock @module Stop-DgwService { $script:Machine.Services[$Name].State = 'Stopped' }

    Mock @module Get-DgwFolderAccess {
        if ($script:Machine.FolderAccess.ContainsKey($Path)) { return $script:Machine.FolderAccess[$Path] }
        if (-not (Test-Path -LiteralPath $Path -PathType Container)) { return $null }
        [pscustomobject]@{ Owner = 'S-1-5-32-544'; Protected = $false; Rules = @() }
    }
    Mock @module Set-DgwFolderAccess {
        $null = New-Item -Path $Definition.Path -ItemType Directory -Force
        $script:Machine.FolderAccess[$Definition.Path] = [pscustomobject]@{ Owner = $Definition.Owner; Protected = $Definition.Protected; Rules = @($Definition.Rules) }
    }
    Mock @module Get-DgwVisualCppRuntime {
        [pscustomobject]@{ Installed = $script:Machine.VisualCppDll.Count -gt 0; Version = 'v14.40.33810.00'; Present = @($script:Machine.VisualCppDll) }
    }
    # Not DPAPI: a reversible stand-in that still keeps the value out of plain sight and checks the name.
    Mock @module Protect-DgwSecret { [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes(('fake-dpapi|{0}|{1}' -f $Name, $Value))) }
    Mock @module Unprotect-DgwSecret {
        $parts = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Protected)).Split('|', 3)
        if ($parts[0] -ne 'fake-dpapi' -or $parts[1] -ne $Name) { throw 'The data is invalid' }
        $parts[2]
    }

    Mock @module Resolve-DgwHostName {
        if (-not $script:Machine.Dns.ContainsKey($Name)) { throw ('No such host is known: {0}' -f $Name) }
        $script:Machine.Dns[$Name]
    }
    Mock @module Test-DgwTcpConnection {
        $open = $script:Machine.OpenPorts -contains ('{0}:{1}' -f $ComputerName, $Port)
        [pscustomobject]@{ Connected = $open; Error = $(if ($open) { '' } else { 'No connection could be made because the target machine actively refused it' }) }
    }
    Mock @module Invoke-DgwGatewayCli { & $script:Machine.Cli $ArgumentList }
    Mock @module Invoke-DgwLocalApi {
        if ($script:Machine.ApiDown) { throw 'No connection could be made because the target machine actively refused it' }
        $status = @{ state = 'running'; uri = $Uri }
        foreach ($key in $script:Machine.ApiStatus.Keys) { $status[$key] = $script:Machine.ApiStatus[$key] }
        [pscustomobject]$status
    }
    Mock @module Get-DgwRegistryValue { $script:Machine.Registry[$Key] }
    Mock @module Set-DgwRegistryValue {
        if (-not $script:Machine.Registry.ContainsKey($Key)) { $script:Machine.Registry[$Key] = @{} }
        foreach ($name in $Values.Keys) { $script:Machine.Registry[$Key][$name] = $Values[$name] }
    }
    Mock @module Remove-DgwRegistryKey { $script:Machine.Registry.Remove($Key) }
    Mock @module Get-DgwShortcut { $script:Machine.Shortcuts[$Path] }
    Mock @module Set-DgwShortcut {
        $script:Machine.Shortcuts[$Definition.Path] = [pscustomobject]@{ Path = $Definition.Path; Target = $Definition.Target; Arguments = $Definition.Arguments; WorkingDirectory = $Definition.WorkingDirectory; AppUserModelId = $Definition.AppUserModelId }
    }
    Mock @module Remove-DgwShortcut { $script:Machine.Shortcuts.Remove($Path) }
    Mock @module Test-DgwEventLogSource { $script:Machine.EventLogSources.Contains($Source) }
    Mock @module Register-DgwEventLogSource { $script:Machine.EventLogSources.Add($Source) }
    Mock @module Unregister-DgwEventLogSource { $null = $script:Machine.EventLogSources.Remove($Source) }
    Mock @module Start-Sleep { }
}

function Register-FakeTask {
    # A task of the gateway as an earlier install left it on the fake computer.
    param([ValidateSet('Agent', 'Tray')][string]$Role, [string]$State = 'Ready')
    $taskName = 'DicomGateway ' + $Role
    $script:Machine.Tasks['\DicomGateway\' + $taskName] = [pscustomobject]@{ TaskPath = '\DicomGateway\'; TaskName = $taskName; State = $State }
}

function Register-FakeService {
    # The agent's service as an install left it on the fake computer.
    param([string]$State = 'Running')
    $script:Machine.Services['DicomGateway'] = [pscustomobject]@{
        ServiceName = 'DicomGateway'; State = $State; StartMode = 'Auto'; Account = 'NT SERVICE\DicomGateway'; PathName = '"C:\Program Files\DicomGateway\gateway-service.exe"'
        ProcessId = 0; ResetSeconds = 86400; FailureActions = 'restart/5000/restart/5000/restart/30000'; NonCrashFailures = $true
    }
}

function New-TestFolder {
    # A path under $TestDrive that no other test uses (not created yet).
    Join-Path $TestDrive ([guid]::NewGuid())
}

function Write-TestConfig {
    # Writes <DataPath>/gateway.json (UTF-8, no BOM), creating the folder; returns the file's path.
    param([string]$DataPath, [string]$Json)
    $null = New-Item -Path $DataPath -ItemType Directory -Force
    $file = Join-Path $DataPath 'gateway.json'
    [System.IO.File]::WriteAllText($file, $Json)
    $file
}

function Assert-NoSetterCalled {
    foreach ($command in $script:SetterCommands) {
        Should -Invoke -ModuleName DicomGateway -CommandName $command -Times 0 -Exactly -Scope It
    }
}

function Get-ResultByName {
    param([object[]]$Result, [string]$Name)
    $Result | Where-Object { $_.Name -eq $Name }
}
