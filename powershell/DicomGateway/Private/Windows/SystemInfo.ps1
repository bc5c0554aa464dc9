# CIM wrappers: each returns a small object of plain values.

function Get-DgwOperatingSystem {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    $os = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop
    [pscustomobject]@{
        Caption     = [string]$os.Caption
        Version     = [string]$os.Version
        BuildNumber = [int]$os.BuildNumber
        ProductType = [int]$os.ProductType
        Is64Bit     = [System.Environment]::Is64BitOperatingSystem
    }
}

function Get-DgwProcessor {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    $processors = @(Get-CimInstance -ClassName Win32_Processor -ErrorAction Stop)
    [pscustomobject]@{
        Name              = ([string]$processors[0].Name).Trim()
        Cores             = [int]($processors | Measure-Object -Property NumberOfCores -Sum).Sum
        LogicalProcessors = [int]($processors | Measure-Object -Property NumberOfLogicalProcessors -Sum).Sum
    }
}

function Get-DgwMemory {
    # Installed memory: TotalPhysicalMemory is smaller by what firmware and graphics reserve,
    # which would make an 8 GB computer fail an 8 GB minimum.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    $installed = (Get-CimInstance -ClassName Win32_PhysicalMemory -ErrorAction Stop | Measure-Object -Property Capacity -Sum).Sum
    if (-not $installed) {
        $installed = (Get-CimInstance -ClassName Win32_ComputerSystem -ErrorAction Stop).TotalPhysicalMemory
    }
    [pscustomobject]@{ InstalledBytes = [long]$installed }
}

function Get-DgwComputerSystem {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    $computer = Get-CimInstance -ClassName Win32_ComputerSystem -ErrorAction Stop
    [pscustomobject]@{
        Name         = [string]$computer.Name
        DnsHostName  = [string]$computer.DNSHostName
        Domain       = [string]$computer.Domain
        PartOfDomain = [bool]$computer.PartOfDomain
    }
}

function Get-DgwVolume {
    # DriveLetter as 'D:'. $null when there is no such drive.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$DriveLetter
    )

    $disk = Get-CimInstance -ClassName Win32_LogicalDisk -Filter ("DeviceID = '{0}'" -f $DriveLetter) -ErrorAction Stop
    if (-not $disk) { return $null }
    [pscustomobject]@{
        DriveLetter = [string]$disk.DeviceID
        SizeBytes   = [long]$disk.Size
        FreeBytes   = [long]$disk.FreeSpace
        IsLocalDisk = ([int]$disk.DriveType -eq 3)
    }
}

function Get-DgwIPConfiguration {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    foreach ($adapter in @(Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE' -ErrorAction Stop)) {
        [pscustomobject]@{
            Description = [string]$adapter.Description
            IPv4Address = @($adapter.IPAddress | Where-Object { $_ -match '^\d{1,3}(\.\d{1,3}){3}$' })
            DhcpEnabled = [bool]$adapter.DHCPEnabled
        }
    }
}
