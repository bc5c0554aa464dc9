function Test-DicomGatewayPowerPolicy {
    <#
    .SYNOPSIS
    Checks that the computer never sleeps and does not hibernate.

    .DESCRIPTION
    A sleeping gateway refuses the studies modalities send it. Returns two results: SleepTimeout
    (Pass when the active power plan never sleeps, on AC power and on battery) and Hibernation
    (Pass when hibernation is off). Off Windows both results are NotApplicable.

    .EXAMPLE
    Test-DicomGatewayPowerPolicy

    Checks the active power plan and hibernation.

    .EXAMPLE
    Test-DicomGatewayPowerPolicy | Where-Object Status -eq 'Fail'

    Shows only the power settings that need to change (Set-DicomGatewayPowerPolicy changes them).
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'SleepTimeout', 'Hibernation'
    }

    Invoke-DicomGatewayCheck -CheckName 'SleepTimeout' -CheckScript {
        $timeout = Get-DgwSleepTimeout
        if ($timeout.AcSeconds -eq 0 -and $timeout.DcSeconds -eq 0) {
            New-DicomGatewayResult -Name 'SleepTimeout' -Status Pass -Detail 'The active power plan never sleeps'
        } else {
            $describe = { param($seconds) if ($seconds -eq 0) { 'never' } else { 'after {0} min' -f [Math]::Round($seconds / 60) } }
            New-DicomGatewayResult -Name 'SleepTimeout' -Status Fail -Detail ('The active power plan sleeps: on AC power {0}, on battery {1}' -f (& $describe $timeout.AcSeconds), (& $describe $timeout.DcSeconds))
        }
    }

    Invoke-DicomGatewayCheck -CheckName 'Hibernation' -CheckScript {
        if (Get-DgwHibernation) {
            New-DicomGatewayResult -Name 'Hibernation' -Status Fail -Detail 'Hibernation is on'
        } else {
            New-DicomGatewayResult -Name 'Hibernation' -Status Pass -Detail 'Hibernation is off'
        }
    }
}
