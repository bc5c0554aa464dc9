function Test-DicomGatewayServiceRegistration {
    <#
    .SYNOPSIS
    Whether the agent's service is registered as its definition says: Pass, or Fail with how it differs.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    $existing = Get-DgwService -Name $Definition.ServiceName
    if (-not $existing) {
        return New-DicomGatewayResult -Name $Definition.Name -Status Fail -Detail ('The service {0} is not registered' -f $Definition.ServiceName)
    }
    $found = [pscustomobject]@{
        StartMode        = $existing.StartMode
        Account          = $existing.Account
        HostPath         = ([string]$existing.PathName).Trim().Trim('"')
        ResetSeconds     = $existing.ResetSeconds
        FailureActions   = $existing.FailureActions
        NonCrashFailures = $existing.NonCrashFailures
    }
    $wanted = $Definition | Select-Object StartMode, Account, HostPath, ResetSeconds, FailureActions, @{ Name = 'NonCrashFailures'; Expression = { $true } }
    $differences = @(Compare-DicomGatewayProperty -Property 'StartMode', 'Account', 'HostPath', 'ResetSeconds', 'FailureActions', 'NonCrashFailures' -Existing $found -Wanted $wanted)
    $xml = if (Test-Path -LiteralPath $Definition.ConfigPath -PathType Leaf) { [System.IO.File]::ReadAllText($Definition.ConfigPath) } else { '' }
    if ($xml -cne $Definition.Xml) { $differences += ('{0} is not the configuration the install writes' -f $Definition.ConfigPath) }
    if ($differences.Count -gt 0) {
        return New-DicomGatewayResult -Name $Definition.Name -Status Fail -Detail ('The service {0} differs: {1}' -f $Definition.ServiceName, ($differences -join '; '))
    }
    New-DicomGatewayResult -Name $Definition.Name -Status Pass -Detail ('The service {0} runs "{1}" {2} {3} as {4}, starts automatically and restarts after a failure ({5})' -f $Definition.ServiceName, $Definition.Executable, $Definition.StartArguments, $Definition.Arguments, $Definition.Account, $Definition.FailureActions)
}
