# The gateway's own faces: its executable and its local API.

function Invoke-DgwGatewayCli {
    # Runs gateway.exe with arguments; ExitCode, Output (stdout) and ErrorOutput (stderr) come back.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$ExecutablePath,

        [Parameter(Mandatory)]
        [string[]]$ArgumentList
    )

    # Windows PowerShell turns stderr lines into errors, which must not stop the caller.
    $ErrorActionPreference = 'Continue'
    $standardOutput = New-Object System.Collections.Generic.List[string]
    $errorOutput = New-Object System.Collections.Generic.List[string]
    & $ExecutablePath @ArgumentList 2>&1 | ForEach-Object {
        if ($_ -is [System.Management.Automation.ErrorRecord]) { $errorOutput.Add([string]$_) } else { $standardOutput.Add([string]$_) }
    }
    [pscustomobject]@{
        ExitCode    = [int]$LASTEXITCODE
        Output      = ($standardOutput -join "`n")
        ErrorOutput = ($errorOutput -join "`n")
    }
}

function Invoke-DgwLocalApi {
    # GET on the agent's API, which listens on 127.0.0.1 only.
    [CmdletBinding()]
    [OutputType([object])]
    param(
        [Parameter(Mandatory)]
        [string]$Uri,

        [int]$TimeoutSeconds = 5
    )

    Invoke-RestMethod -Uri $Uri -Method Get -TimeoutSec $TimeoutSeconds -UseBasicParsing -ErrorAction Stop
}
