function Invoke-DicomGatewayChange {
    <#
    .SYNOPSIS
    The idempotent step every Set- and Install- is made of: test, change only a Fail, test again.

    .DESCRIPTION
    TestScript returns one result object. When its Status is not Fail nothing is changed and the
    result says "No change". Otherwise ChangeScript runs (after ShouldProcess on the calling
    cmdlet), the test runs again and its result is returned with Changed = $true. Errors from
    ChangeScript reach the caller, which reports them with Stop-DicomGatewayFunction.
    Both scripts run in a child scope of this function: to hand a value back, set a key of a
    hashtable that the caller owns.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]$Cmdlet,

        [Parameter(Mandatory)]
        [scriptblock]$TestScript,

        [Parameter(Mandatory)]
        [scriptblock]$ChangeScript,

        [Parameter(Mandatory)]
        [string]$Target,

        [Parameter(Mandatory)]
        [string]$Action
    )

    $stateBefore = & $TestScript
    if ($stateBefore.Status -ne 'Fail') {
        return New-DicomGatewayResult -Name $stateBefore.Name -Status $stateBefore.Status -Requirement $stateBefore.Requirement `
            -Detail ('No change: {0}' -f $stateBefore.Detail) -Changed $false -Previous $stateBefore.Detail
    }
    if (-not $Cmdlet.ShouldProcess($Target, $Action)) {
        return New-DicomGatewayResult -Name $stateBefore.Name -Status $stateBefore.Status -Requirement $stateBefore.Requirement `
            -Detail ('Not changed (WhatIf or declined): would {0} on {1}. Now: {2}' -f $Action, $Target, $stateBefore.Detail) -Changed $false -Previous $stateBefore.Detail
    }
    $null = & $ChangeScript
    $stateAfter = & $TestScript
    New-DicomGatewayResult -Name $stateAfter.Name -Status $stateAfter.Status -Requirement $stateAfter.Requirement `
        -Detail $stateAfter.Detail -Changed $true -Previous $stateBefore.Detail
}
