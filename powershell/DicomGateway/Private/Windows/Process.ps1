function Get-DgwProcess {
    # Processes whose executable lies under Path (gateway.exe, its PostgreSQL, trays of every session).
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    $prefix = $Path.TrimEnd('\') + '\'
    foreach ($process in @(Get-CimInstance -ClassName Win32_Process -ErrorAction Stop)) {
        $executable = [string]$process.ExecutablePath
        if ($executable -and $executable.StartsWith($prefix, [System.StringComparison]::OrdinalIgnoreCase)) {
            [pscustomobject]@{
                ProcessId   = [int]$process.ProcessId
                Name        = [string]$process.Name
                CommandLine = [string]$process.CommandLine
            }
        }
    }
}

function Stop-DgwProcess {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [int]$Id
    )

    # A process may already have ended with its parent.
    Stop-Process -Id $Id -Force -ErrorAction SilentlyContinue
}
