# Service control manager wrappers. A service is handed around as the object
# Get-DicomGatewayServiceDefinition makes; sc.exe sets what WinSW's install does not.

function Invoke-DgwSc {
    [CmdletBinding()]
    [OutputType([string[]])]
    param(
        [Parameter(Mandatory)]
        [string[]]$ArgumentList
    )

    $sc = Join-Path $env:SystemRoot 'System32\sc.exe'
    $output = @(& $sc @ArgumentList 2>&1 | ForEach-Object { [string]$_ })
    if ($LASTEXITCODE -ne 0) {
        throw ('sc.exe {0} failed with exit code {1}: {2}' -f ($ArgumentList -join ' '), $LASTEXITCODE, ($output -join ' ').Trim())
    }
    $output
}

function Get-DgwService {
    # $null when there is no such service. FailureActions in sc.exe's form, read from the registry.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Name
    )

    $service = Get-CimInstance -ClassName Win32_Service -Filter ("Name = '{0}'" -f $Name) -ErrorAction Stop
    if (-not $service) { return $null }
    $key = Get-ItemProperty -LiteralPath ('HKLM:\SYSTEM\CurrentControlSet\Services\{0}' -f $Name) -ErrorAction Stop
    $failure = ConvertFrom-DgwFailureActions -Bytes $(if ($key.PSObject.Properties['FailureActions']) { [byte[]]$key.FailureActions } else { [byte[]]@() })
    $nonCrash = $key.PSObject.Properties['FailureActionsOnNonCrashFailures']
    [pscustomobject]@{
        ServiceName      = [string]$service.Name
        State            = [string]$service.State
        StartMode        = [string]$service.StartMode
        Account          = [string]$service.StartName
        PathName         = [string]$service.PathName
        ProcessId        = [int]$service.ProcessId
        ResetSeconds     = $failure.ResetSeconds
        FailureActions   = $failure.Actions
        NonCrashFailures = [bool]($nonCrash -and [int]$nonCrash.Value -ne 0)
    }
}

function ConvertFrom-DgwFailureActions {
    # The registry's self-relative SERVICE_FAILURE_ACTIONS (MS-SCMR SERVICE_FAILURE_ACTIONS_WOW64):
    # reset period, reboot message and command offsets, the count, the actions' offset, then a
    # (type, delay ms) pair per action; type 1 is restart.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [AllowEmptyCollection()]
        [byte[]]$Bytes = @()
    )

    if ($Bytes.Length -lt 20) { return [pscustomobject]@{ ResetSeconds = 0; Actions = '' } }
    $count = [System.BitConverter]::ToUInt32($Bytes, 12)
    $first = [int][System.BitConverter]::ToUInt32($Bytes, 16)
    if ($first -lt 20) { $first = 20 }
    $names = @{ 0 = 'none'; 1 = 'restart'; 2 = 'reboot'; 3 = 'run' }
    $actions = for ($index = 0; $index -lt $count -and $first + 8 * $index + 8 -le $Bytes.Length; $index++) {
        $offset = $first + 8 * $index
        '{0}/{1}' -f $names[[int][System.BitConverter]::ToUInt32($Bytes, $offset)], [System.BitConverter]::ToUInt32($Bytes, $offset + 4)
    }
    [pscustomobject]@{ ResetSeconds = [int][System.BitConverter]::ToUInt32($Bytes, 0); Actions = @($actions) -join '/' }
}

function Register-DgwService {
    # Writes WinSW's XML and registers the service through WinSW (again when it points at another
    # host, after an install to another folder), then the account, start mode and recovery through
    # sc.exe. No argument here holds quotes of its own: Windows PowerShell 5.1 would pass them mangled.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    [System.IO.File]::WriteAllText($Definition.ConfigPath, $Definition.Xml, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
    $existing = Get-DgwService -Name $Definition.ServiceName
    if ($existing -and $existing.PathName.Trim().Trim('"') -ne $Definition.HostPath) {
        if ($existing.State -ne 'Stopped') { Stop-Service -Name $Definition.ServiceName -ErrorAction Stop }
        $null = Invoke-DgwSc -ArgumentList @('delete', $Definition.ServiceName)
        $existing = $null
    }
    if (-not $existing) {
        $output = @(& $Definition.HostPath install 2>&1 | ForEach-Object { [string]$_ })
        if ($LASTEXITCODE -ne 0) { throw ('{0} install failed with exit code {1}: {2}' -f $Definition.HostPath, $LASTEXITCODE, ($output -join ' ').Trim()) }
    }
    # A virtual account has no password: sc.exe leaves it unset.
    $null = Invoke-DgwSc -ArgumentList @('config', $Definition.ServiceName, 'start=', 'auto', 'obj=', $Definition.Account, 'DisplayName=', $Definition.DisplayName)
    $null = Invoke-DgwSc -ArgumentList @('sidtype', $Definition.ServiceName, 'unrestricted')
    $null = Invoke-DgwSc -ArgumentList @('failure', $Definition.ServiceName, 'reset=', [string]$Definition.ResetSeconds, 'actions=', $Definition.FailureActions)
    $null = Invoke-DgwSc -ArgumentList @('failureflag', $Definition.ServiceName, '1')
}

function Unregister-DgwService {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Name
    )

    $null = Invoke-DgwSc -ArgumentList @('delete', $Name)
}

function Start-DgwService {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Name
    )

    Start-Service -Name $Name -ErrorAction Stop
}

function Stop-DgwService {
    # Waits until the service has stopped: WinSW runs "gateway stop", which waits for the agent.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Name
    )

    Stop-Service -Name $Name -ErrorAction Stop
}
