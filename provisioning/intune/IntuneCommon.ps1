# Shared by Install.ps1 and Uninstall.ps1 (dot-sourced). Detect.ps1 stands alone: Intune uploads
# it on its own.

$script:IntuneLogFile = $null

function Get-Intune64BitPowerShell {
    <#
    .SYNOPSIS
    The 64-bit Windows PowerShell to run this script in again, or $null when this one is 64-bit (or the OS is 32-bit).

    .DESCRIPTION
    The Intune Management Extension is a 32-bit process, so a plain "powershell.exe" install
    command runs 32-bit, where Program Files, System32 and the registry are redirected.
    Sysnative is how a 32-bit process names the 64-bit System32.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param()

    if ([System.Environment]::Is64BitProcess -or -not [System.Environment]::Is64BitOperatingSystem) { return $null }
    Join-Path $env:SystemRoot 'Sysnative\WindowsPowerShell\v1.0\powershell.exe'
}

function Invoke-IntuneScriptAs64Bit {
    <#
    .SYNOPSIS
    Runs the calling script again in 64-bit Windows PowerShell when Intune started it in 32-bit.

    .DESCRIPTION
    Returns the exit code of the 64-bit run, or $null when this already is 64-bit. What the
    64-bit run prints goes to this one's host (Intune's STDOUT), never into the returned value,
    so the exit code stays a number whatever it printed.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$ScriptPath,

        [Parameter(Mandatory)]
        [System.Collections.IDictionary]$BoundParameters
    )

    $powershell = Get-Intune64BitPowerShell
    if (-not $powershell) { return $null }
    $arguments = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $ScriptPath) + @(ConvertTo-IntuneArgumentList -Parameters $BoundParameters)
    & $powershell @arguments 2>&1 | Out-Host
    [int]$LASTEXITCODE
}

function Invoke-IntuneCommand {
    <#
    .SYNOPSIS
    The frame of Install.ps1 and Uninstall.ps1: 64-bit, log, module, command, results, exit code.

    .DESCRIPTION
    Invocation is the calling script's $MyInvocation. Runs that script again in 64-bit PowerShell
    when needed and returns that run's exit code. Otherwise starts the log
    <LogFolder>\intune-<script name in lower case>.log, logs "<script>: <Message>", imports the
    DicomGateway module from ModulePath and runs Command, which returns the module's result
    objects. Logs them, one line each, and returns their exit code (Get-IntuneExitCode); anything
    thrown is logged and returns 1. Command may end the script itself with another exit code
    (Install.ps1 exits 2 when a prerequisite fails). Command runs in a child scope of this
    function: it sees the calling script's variables unless one here has the same name.
    #>
    [CmdletBinding()]
    [OutputType([int])]
    param(
        [Parameter(Mandatory)]
        [System.Management.Automation.InvocationInfo]$Invocation,

        [Parameter(Mandatory)]
        [string]$ModulePath,

        [Parameter(Mandatory)]
        [string]$LogFolder,

        [Parameter(Mandatory)]
        [string]$Message,

        [Parameter(Mandatory)]
        [scriptblock]$Command
    )

    $scriptPath = $Invocation.MyCommand.Path
    $exitCodeOf64BitRun = Invoke-IntuneScriptAs64Bit -ScriptPath $scriptPath -BoundParameters $Invocation.BoundParameters
    if ($null -ne $exitCodeOf64BitRun) { return $exitCodeOf64BitRun }

    $scriptName = Split-Path -Path $scriptPath -Leaf
    try {
        Start-IntuneLog -Folder $LogFolder -Name ([System.IO.Path]::GetFileNameWithoutExtension($scriptName).ToLowerInvariant())
        Write-IntuneLog -Message ('{0}: {1}' -f $scriptName, $Message)
        Import-Module -Name $ModulePath -ErrorAction Stop

        $commandResults = @(& $Command)
        Write-IntuneResult -Result $commandResults
        Write-IntuneFailure -Result $commandResults
        $exitCode = Get-IntuneExitCode -Result $commandResults
        Write-IntuneLog -Message ('{0}: done; exit code {1}' -f $scriptName, $exitCode)
        Write-Host ('{0}: exit code {1}' -f $scriptName, $exitCode)
        $exitCode
    } catch {
        Write-IntuneLog -Message ('{0}: failed: {1}; exit code 1' -f $scriptName, $_.Exception.Message)
        Write-Host ('{0}: FAILED: {1}' -f $scriptName, $_.Exception.Message)
        1
    }
}

function ConvertTo-IntuneArgumentList {
    <#
    .SYNOPSIS
    Bound parameters as arguments for "powershell.exe -File": switches as bare names, the rest as text.

    .DESCRIPTION
    Trailing backslashes are dropped: Windows PowerShell would pass "C:\Folder\" with the quote
    escaped. No value of these scripts needs one (an AE title has no backslash).
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary]$Parameters
    )

    $arguments = New-Object System.Collections.Generic.List[string]
    foreach ($name in @($Parameters.Keys)) {
        $value = $Parameters[$name]
        if ($value -is [System.Management.Automation.SwitchParameter] -or $value -is [bool]) {
            if ([bool]$value) { $arguments.Add('-' + $name) }
            continue
        }
        $arguments.Add('-' + $name)
        $arguments.Add(([string](@($value) -join ',')).TrimEnd('\'))
    }
    $arguments.ToArray()
}

function Start-IntuneLog {
    <#
    .SYNOPSIS
    Sends the log lines of this run to <Folder>\intune-<Name>.log as well.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Folder,

        [Parameter(Mandatory)]
        [string]$Name
    )

    $null = New-Item -Path $Folder -ItemType Directory -Force
    $script:IntuneLogFile = Join-Path $Folder ('intune-{0}.log' -f $Name)
}

function Write-IntuneLog {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [AllowEmptyString()]
        [string]$Message
    )

    $line = '{0:yyyy-MM-dd HH:mm:ss} {1}' -f (Get-Date), $Message
    Write-Verbose -Message $line
    if ($script:IntuneLogFile) { Add-Content -LiteralPath $script:IntuneLogFile -Value $line -Encoding UTF8 }
}

function Write-IntuneResult {
    <#
    .SYNOPSIS
    Logs the result objects of the DicomGateway module, one line each.
    #>
    [CmdletBinding()]
    param(
        [AllowEmptyCollection()]
        [object[]]$Result = @()
    )

    foreach ($entry in $Result) {
        $changed = ''
        if ($entry.PSObject.Properties['Changed'] -and $entry.Changed) { $changed = ' (changed)' }
        Write-IntuneLog -Message ('{0,-13} {1}{2}: {3}' -f $entry.Status, $entry.Name, $changed, $entry.Detail)
    }
}

function Write-IntuneFailure {
    <#
    .SYNOPSIS
    Prints each failed step on STDOUT, which Intune keeps with the app's install status.
    #>
    [CmdletBinding()]
    param(
        [AllowEmptyCollection()]
        [object[]]$Result = @()
    )

    foreach ($entry in @($Result | Where-Object { $_.Status -eq 'Fail' })) {
        Write-Host ('FAILED {0}: {1}' -f $entry.Name, $entry.Detail)
    }
}

function Get-IntuneRecordedDataPath {
    <#
    .SYNOPSIS
    The data folder the install recorded under HKLM\SOFTWARE\DicomGateway, else the default one.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param()

    $record = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\DicomGateway' -ErrorAction SilentlyContinue
    if ($record -and $record.PSObject.Properties['DataPath'] -and $record.DataPath) { return [string]$record.DataPath }
    '{0}\DicomGateway' -f $(if ($env:ProgramData) { $env:ProgramData } else { 'C:\ProgramData' })
}

function Get-IntuneExitCode {
    <#
    .SYNOPSIS
    The exit code Intune reads from an install or uninstall: 0 success, 3010 soft reboot, 1 failure.

    .DESCRIPTION
    Any Fail is a failure. An install whose agent could not be started now (AgentRunning: Warn)
    is complete but runs only after the next boot: 3010, so Intune reports a pending restart.
    These scripts never restart the computer themselves, so they never return 1641.
    #>
    [CmdletBinding()]
    [OutputType([int])]
    param(
        [AllowEmptyCollection()]
        [object[]]$Result = @()
    )

    if (@($Result | Where-Object { $_.Status -eq 'Fail' }).Count -gt 0) { return 1 }
    if (@($Result | Where-Object { $_.Name -eq 'AgentRunning' -and $_.Status -eq 'Warn' }).Count -gt 0) { return 3010 }
    0
}
