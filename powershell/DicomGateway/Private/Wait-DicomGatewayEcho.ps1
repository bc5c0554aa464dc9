function Wait-DicomGatewayEcho {
    <#
    .SYNOPSIS
    Sends C-ECHO to the local agent until it answers or the attempts run out.

    .DESCRIPTION
    The agent needs a while after a start (its PostgreSQL starts first), so one failed echo is not
    yet a failure.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout,

        [Parameter(Mandatory)]
        [string]$AeTitle,

        [Parameter(Mandatory)]
        [int]$Port,

        [int]$TimeoutSeconds = 120,

        [int]$IntervalSeconds = 2
    )

    $attempts = [Math]::Max(1, [int][Math]::Ceiling($TimeoutSeconds / [double]$IntervalSeconds))
    $echo = $null
    for ($attempt = 1; $attempt -le $attempts; $attempt++) {
        $echo = Invoke-DgwGatewayCli -ExecutablePath $Layout.Executable -ArgumentList @('echo', '--ae-title', $AeTitle, '--port', [string]$Port)
        if ($echo.ExitCode -eq 0) {
            return [pscustomobject]@{ Succeeded = $true; Attempts = $attempt; Output = $echo.Output }
        }
        if ($attempt -lt $attempts) { Start-Sleep -Seconds $IntervalSeconds }
    }
    [pscustomobject]@{ Succeeded = $false; Attempts = $attempts; Output = (@($echo.Output, $echo.ErrorOutput) | Where-Object { $_ }) -join ' ' }
}
