function Test-DicomGatewayTask {
    <#
    .SYNOPSIS
    Whether a task of the gateway is registered as its definition says: Pass, or Fail with how it differs.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    $taskFullName = $Definition.TaskPath + $Definition.TaskName
    $existing = Get-DgwScheduledTask -TaskPath $Definition.TaskPath -TaskName $Definition.TaskName
    if (-not $existing) {
        return New-DicomGatewayResult -Name $Definition.Name -Status Fail -Detail ('The task {0} is not registered' -f $taskFullName)
    }
    # Windows compares the program path without regard to case; arguments and principal count exactly.
    $differences = @(
        Compare-DicomGatewayProperty -Property 'Execute' -Existing $existing -Wanted $Definition
        Compare-DicomGatewayProperty -Property 'Arguments', 'Triggers', 'PrincipalSid' -Existing $existing -Wanted $Definition -CaseSensitive
    )
    if ($differences.Count -gt 0) {
        return New-DicomGatewayResult -Name $Definition.Name -Status Fail -Detail ('The task {0} differs: {1}' -f $taskFullName, ($differences -join '; '))
    }
    New-DicomGatewayResult -Name $Definition.Name -Status Pass -Detail ('The task {0} runs "{1}" {2} ({3})' -f $taskFullName, $Definition.Execute, $Definition.Arguments, $Definition.Triggers)
}
