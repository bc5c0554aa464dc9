function Set-DicomGatewayPowerPolicy {
    <#
    .SYNOPSIS
    Sets the active power plan to never sleep and turns hibernation off.

    .DESCRIPTION
    Runs Test-DicomGatewayPowerPolicy and changes only what fails: the sleep timeout of the
    active power plan to never (AC and battery, powercfg /change standby-timeout-ac|dc 0) and
    hibernation off (powercfg /hibernate off). Returns the SleepTimeout and Hibernation results
    with Changed and Previous. A power policy set by Group Policy or Intune wins over this; set it
    there too. Off Windows both results are NotApplicable and nothing is changed.

    .PARAMETER EnableException
    Throw a terminating error when powercfg fails, instead of a warning.

    .EXAMPLE
    Set-DicomGatewayPowerPolicy

    Makes the computer never sleep and turns hibernation off.

    .EXAMPLE
    Set-DicomGatewayPowerPolicy -WhatIf

    Shows what would change, and changes nothing.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([pscustomobject])]
    param(
        [switch]$EnableException
    )

    $steps = @(
        @{ Name = 'SleepTimeout'; Action = 'set the active power plan to never sleep'; Change = { Set-DgwSleepTimeout -Minutes 0 } }
        @{ Name = 'Hibernation'; Action = 'turn hibernation off'; Change = { Disable-DgwHibernation } }
    )
    foreach ($step in $steps) {
        $checkName = $step.Name
        try {
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target 'power policy' -Action $step.Action `
                -TestScript { Test-DicomGatewayPowerPolicy | Where-Object { $_.Name -eq $checkName } } `
                -ChangeScript $step.Change
        } catch {
            Stop-DicomGatewayFunction -Message ('Could not {0}' -f $step.Action) -ErrorRecord $_ -Target 'power policy' -EnableException:$EnableException
            return
        }
    }
}
