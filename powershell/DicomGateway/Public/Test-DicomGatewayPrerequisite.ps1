function Test-DicomGatewayPrerequisite {
    <#
    .SYNOPSIS
    Checks that this computer meets the gateway's hardware, software and account requirements.

    .DESCRIPTION
    Returns one result per requirement, each with Name, Status (Pass, Warn, Fail or NotApplicable),
    Detail and Requirement:

    - OperatingSystem: Windows 10, Windows 11 or Windows Server 2016 through 2022 (newer Server: Warn)
    - Architecture: 64-bit Windows
    - Processor: 2 cores minimum (Fail below), 4 or more recommended (Warn below)
    - Memory: 8 GB installed minimum (Fail below), 16 GB recommended (Warn below); with the HL7
      interface 16 GB is the minimum (Fail below), as the model product's guide requires
    - DataVolume: the volume of the data folder holds 1 TB minimum (Fail below), 2 TB recommended
      (Warn below). Disk sizes are decimal and 1 % is allowed for the partitions Windows makes, so
      a disk sold as 1 TB passes the minimum.
    - LocalAdministrator: run elevated by a local administrator, not a domain account (SYSTEM, as
      Intune runs installs, counts as local); NotApplicable when the agent's own account runs it
    - HostName: no underscore in the computer name
    - StaticIPAddress: Pass for static addresses; Warn for DHCP (make it a DHCP reservation)
    - DicomPort: nothing but the gateway itself listens on the DICOM port
    - VisualCppRuntime: the Microsoft Visual C++ 2015-2022 x64 runtime, which the embedded
      PostgreSQL needs (postgres.exe, initdb.exe, pg_ctl.exe and the ICU DLLs import
      VCRUNTIME140.dll, VCRUNTIME140_1.dll and MSVCP140.dll); Fail with where to get it. Not
      needed with an external database (database.url): install with -SkipPrerequisiteCheck then.
    - FolderOwner: an install or data folder that already exists is owned by SYSTEM,
      Administrators or the account running this; one owned by anyone else was made by someone
      who could change its permissions at any time, and the install refuses it

    A check that cannot be made is a Fail with the reason. The function never throws for a failed
    check, and off Windows every result is NotApplicable.

    .PARAMETER Port
    The DICOM port the gateway will listen on. Default 4104.

    .PARAMETER DataPath
    The gateway's data folder; its volume is the one checked for size. Default
    C:\ProgramData\DicomGateway.

    .PARAMETER InstallPath
    The install folder, whose owner is checked when it exists. Default C:\Program Files\DicomGateway.

    .PARAMETER Hl7Interface
    The HL7 interface will be on (before an install). Without it, the interface counts as on when
    the configuration in DataPath has an hl7 section.

    .PARAMETER BindAddress
    The address the gateway will listen on, if not all of them; only the adapter holding it is
    checked for a static address.

    .EXAMPLE
    Test-DicomGatewayPrerequisite

    Checks every requirement with the default port and data folder.

    .EXAMPLE
    Test-DicomGatewayPrerequisite -DataPath 'D:\DicomGateway' | Where-Object Status -ne 'Pass'

    Checks with the data folder on drive D: and shows only what needs attention.

    .EXAMPLE
    Test-DicomGatewayPrerequisite | ConvertTo-Json -Depth 4

    The results as JSON, as the agent's PowerShell bridge reads them.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [ValidateRange(1, 65535)]
        [int]$Port = $script:DicomGatewayDefault.Port,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [string]$BindAddress,

        [switch]$Hl7Interface
    )

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'OperatingSystem', 'Architecture', 'Processor', 'Memory', 'DataVolume', 'LocalAdministrator', 'HostName', 'StaticIPAddress', 'DicomPort', 'VisualCppRuntime', 'FolderOwner'
    }
    $threshold = $script:DicomGatewayThreshold

    Invoke-DicomGatewayCheck -CheckName 'OperatingSystem' -CheckScript {
        $os = Get-DgwOperatingSystem
        $detail = '{0} (version {1}, build {2})' -f $os.Caption, $os.Version, $os.BuildNumber
        $isServer = $os.ProductType -ne 1
        if (([version]$os.Version).Major -ne 10) {
            New-DicomGatewayResult -Name 'OperatingSystem' -Status Fail -Detail "$detail is not supported"
        } elseif ($isServer -and $os.BuildNumber -lt 14393) {
            New-DicomGatewayResult -Name 'OperatingSystem' -Status Fail -Detail "$detail is older than Windows Server 2016"
        } elseif ($isServer -and $os.BuildNumber -gt 20348) {
            New-DicomGatewayResult -Name 'OperatingSystem' -Status Warn -Detail "$detail is newer than Windows Server 2022, the newest supported"
        } else {
            New-DicomGatewayResult -Name 'OperatingSystem' -Status Pass -Detail $detail
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'Architecture' -CheckScript {
        if ((Get-DgwOperatingSystem).Is64Bit) {
            New-DicomGatewayResult -Name 'Architecture' -Status Pass -Detail '64-bit Windows'
        } else {
            New-DicomGatewayResult -Name 'Architecture' -Status Fail -Detail '32-bit Windows'
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'Processor' -CheckScript {
        $processor = Get-DgwProcessor
        $detail = '{0} core(s), {1} logical processor(s): {2}' -f $processor.Cores, $processor.LogicalProcessors, $processor.Name
        $status = 'Pass'
        if ($processor.Cores -lt $threshold.ProcessorMinimumCores) { $status = 'Fail' }
        elseif ($processor.Cores -lt $threshold.ProcessorRecommendedCores) { $status = 'Warn' }
        New-DicomGatewayResult -Name 'Processor' -Status $status -Detail $detail
    }

    Invoke-DicomGatewayCheck -CheckName 'Memory' -CheckScript {
        $config = $null
        try { $config = Read-DicomGatewayConfig -Path ([System.IO.Path]::Combine($DataPath, $script:DicomGatewayDefault.ConfigFileName)) } catch { $config = $null }
        $hl7 = $Hl7Interface -or ($null -ne (Get-DicomGatewayConfigValue -Config $config -Key 'hl7'))
        $bytes = (Get-DgwMemory).InstalledBytes
        # The HL7 interface makes the recommended size the minimum.
        $minimum = $(if ($hl7) { $threshold.MemoryRecommendedBytes } else { $threshold.MemoryMinimumBytes })
        $status = 'Pass'
        if ($bytes -lt $minimum) { $status = 'Fail' }
        elseif ($bytes -lt $threshold.MemoryRecommendedBytes) { $status = 'Warn' }
        $requirement = $(if ($hl7) { $script:DicomGatewayRequirement.MemoryWithHl7 } else { $script:DicomGatewayRequirement.Memory })
        New-DicomGatewayResult -Name 'Memory' -Status $status -Detail ('{0:N1} GB installed' -f ($bytes / 1GB)) -Requirement $requirement
    }

    Invoke-DicomGatewayCheck -CheckName 'DataVolume' -CheckScript {
        $drive = Get-DicomGatewayDriveLetter -Path $DataPath
        $volume = Get-DgwVolume -DriveLetter $drive
        if (-not $volume) {
            New-DicomGatewayResult -Name 'DataVolume' -Status Fail -Detail ('There is no drive {0} for the data folder {1}' -f $drive, $DataPath)
        } elseif (-not $volume.IsLocalDisk) {
            New-DicomGatewayResult -Name 'DataVolume' -Status Fail -Detail ('{0} (data folder {1}) is not a local disk' -f $drive, $DataPath)
        } else {
            $status = 'Pass'
            if ($volume.SizeBytes -lt $threshold.DataVolumeMinimumBytes) { $status = 'Fail' }
            elseif ($volume.SizeBytes -lt $threshold.DataVolumeRecommendedBytes) { $status = 'Warn' }
            $detail = '{0} holds {1:N2} TB ({2:N2} TB free) for the data folder {3}' -f $drive, ($volume.SizeBytes / 1e12), ($volume.FreeBytes / 1e12), $DataPath
            New-DicomGatewayResult -Name 'DataVolume' -Status $status -Detail $detail
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'LocalAdministrator' -CheckScript {
        $identity = Get-DgwCurrentIdentity
        if ($identity.Sid -eq (ConvertTo-DicomGatewayServiceSid -ServiceName $script:DicomGatewayDefault.ServiceName)) {
            # "Check this PC" from the tray runs here as the agent, which is no administrator by design.
            return New-DicomGatewayResult -Name 'LocalAdministrator' -Status NotApplicable -Detail ("Checked as the agent's own account '{0}', which is not an administrator by design; run gateway doctor elevated to check the account that installs" -f $identity.Name)
        }
        $isLocal = $identity.IsSystem -or ($identity.Authority -eq $identity.ComputerName)
        $problems = @()
        if (-not $isLocal) { $problems += ("'{0}' is a domain account; sign in with a local administrator account" -f $identity.Name) }
        if (-not $identity.IsAdministrator) { $problems += ("'{0}' is not running as administrator (start PowerShell with Run as administrator)" -f $identity.Name) }
        if ($problems.Count -gt 0) {
            New-DicomGatewayResult -Name 'LocalAdministrator' -Status Fail -Detail ($problems -join '; ')
        } elseif ($identity.IsSystem) {
            New-DicomGatewayResult -Name 'LocalAdministrator' -Status Pass -Detail ("'{0}' is the local SYSTEM account (as Intune installs)" -f $identity.Name)
        } else {
            New-DicomGatewayResult -Name 'LocalAdministrator' -Status Pass -Detail ("'{0}' is a local administrator, elevated" -f $identity.Name)
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'HostName' -CheckScript {
        $computer = Get-DgwComputerSystem
        $names = @($computer.Name, $computer.DnsHostName | Where-Object { $_ } | Sort-Object -Unique)
        $withUnderscore = @($names | Where-Object { $_.Contains('_') })
        if ($withUnderscore.Count -gt 0) {
            New-DicomGatewayResult -Name 'HostName' -Status Fail -Detail ("The computer name '{0}' contains an underscore; rename the computer" -f ($withUnderscore -join "', '"))
        } else {
            New-DicomGatewayResult -Name 'HostName' -Status Pass -Detail ("The computer name '{0}' has no underscore" -f ($names -join "', '"))
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'StaticIPAddress' -CheckScript {
        $adapters = @(Get-DgwIPConfiguration | ForEach-Object {
                $usable = @($_.IPv4Address | Where-Object { $_ -notlike '169.254.*' -and $_ -notlike '127.*' })
                if ($usable.Count -gt 0) {
                    [pscustomobject]@{ Description = $_.Description; Address = $usable; DhcpEnabled = $_.DhcpEnabled }
                }
            })
        $listensOnOne = $BindAddress -and $BindAddress -ne '0.0.0.0'
        if ($listensOnOne) { $adapters = @($adapters | Where-Object { $_.Address -contains $BindAddress }) }
        $dhcp = @($adapters | Where-Object { $_.DhcpEnabled })
        $describe = { param($list) ($list | ForEach-Object { '{0} ({1})' -f ($_.Address -join ', '), $_.Description }) -join '; ' }
        if ($adapters.Count -eq 0) {
            $what = if ($listensOnOne) { "holds the bind address $BindAddress" } else { 'has an IPv4 address' }
            New-DicomGatewayResult -Name 'StaticIPAddress' -Status Fail -Detail "No network adapter $what"
        } elseif ($dhcp.Count -gt 0) {
            New-DicomGatewayResult -Name 'StaticIPAddress' -Status Warn -Detail ('Address from DHCP: {0}. Make it a DHCP reservation or set a static address, so that PACS and modalities always find the gateway' -f (& $describe $dhcp))
        } else {
            New-DicomGatewayResult -Name 'StaticIPAddress' -Status Pass -Detail ('Static address: {0}' -f (& $describe $adapters))
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'DicomPort' -CheckScript {
        $listeners = @(Get-DgwTcpListener -Port $Port)
        $others = @($listeners | Where-Object { $_.ProcessName -ne 'gateway' })
        if ($others.Count -gt 0) {
            $owners = ($others | ForEach-Object { '{0} (PID {1}) on {2}' -f $_.ProcessName, $_.ProcessId, $_.LocalAddress }) -join '; '
            New-DicomGatewayResult -Name 'DicomPort' -Status Fail -Detail ('TCP port {0} is in use by {1}' -f $Port, $owners)
        } elseif ($listeners.Count -gt 0) {
            New-DicomGatewayResult -Name 'DicomPort' -Status Pass -Detail ('TCP port {0} is in use by the gateway itself' -f $Port)
        } else {
            New-DicomGatewayResult -Name 'DicomPort' -Status Pass -Detail ('TCP port {0} is free' -f $Port)
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'VisualCppRuntime' -CheckScript {
        $dlls = $script:DicomGatewayVisualCppDll
        $runtime = Get-DgwVisualCppRuntime -DllName $dlls
        $missing = @($dlls | Where-Object { $runtime.Present -notcontains $_ })
        if ($missing.Count -eq 0) {
            $version = if ($runtime.Version) { $runtime.Version } else { 'version not recorded' }
            New-DicomGatewayResult -Name 'VisualCppRuntime' -Status Pass -Detail ('The Visual C++ 2015-2022 x64 runtime is installed ({0})' -f $version)
        } else {
            New-DicomGatewayResult -Name 'VisualCppRuntime' -Status Fail -Detail ('{0} missing from System32: the embedded PostgreSQL cannot start. Install the Microsoft Visual C++ 2015-2022 Redistributable (x64), vc_redist.x64.exe from Microsoft (with Intune: make the gateway app depend on a Win32 app that installs it), then install again' -f ($missing -join ', '))
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'FolderOwner' -CheckScript {
        $installer = (Get-DgwCurrentIdentity).Sid
        $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath
        $problems = @($layout.InstallPath, $layout.DataPath | ForEach-Object {
                Test-DicomGatewayFolderOwner -Path $_ -Existing (Get-DgwFolderAccess -Path $_) -InstallerSid $installer
            } | Where-Object { $_ })
        if ($problems.Count -gt 0) {
            New-DicomGatewayResult -Name 'FolderOwner' -Status Fail -Detail ($problems -join '; ')
        } else {
            New-DicomGatewayResult -Name 'FolderOwner' -Status Pass -Detail ('{0} and {1} are new or owned by SYSTEM or Administrators' -f $layout.InstallPath, $layout.DataPath)
        }
    }
}
