function Set-DicomGatewayAntivirusExclusion {
    <#
    .SYNOPSIS
    Adds Microsoft Defender exclusions for the gateway's install, data and PostgreSQL folders.

    .DESCRIPTION
    Runs Test-DicomGatewayAntivirusExclusion and adds an exclusion only for a folder that is not
    excluded yet (a folder inside an excluded one needs none). Returns the three results with
    Changed and Previous. A folder still scanned after the exclusion was added is a Warn: a
    policy (Intune, Group Policy) forbids local exclusions; add the folder in that policy.
    When Defender cannot be asked, the results are Warn and nothing is changed.
    Off Windows every result is NotApplicable and nothing is changed.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default C:\ProgramData\DicomGateway.

    .PARAMETER PostgresPath
    The PostgreSQL folder. Default <InstallPath>\postgres.

    .PARAMETER EnableException
    Throw a terminating error when an exclusion cannot be added, instead of a warning.

    .EXAMPLE
    Set-DicomGatewayAntivirusExclusion

    Excludes the default folders from Defender's scans.

    .EXAMPLE
    Set-DicomGatewayAntivirusExclusion -DataPath 'D:\DicomGateway' -WhatIf

    Shows which exclusions would be added for a data folder on D:, and adds none.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [string]$PostgresPath,

        [switch]$EnableException
    )

    $testParameters = @{ InstallPath = $InstallPath; DataPath = $DataPath; PostgresPath = $PostgresPath }
    $folders = Get-DicomGatewayExclusionFolder @testParameters
    foreach ($checkName in @($folders.Keys)) {
        $folder = $folders[$checkName]
        try {
            $result = Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target 'Microsoft Defender' -Action ('exclude {0} from scanning' -f $folder) `
                -TestScript { Test-DicomGatewayAntivirusExclusion @testParameters | Where-Object { $_.Name -eq $checkName } } `
                -ChangeScript { Add-DgwDefenderExclusionPath -Path $folder }
        } catch {
            Stop-DicomGatewayFunction -Message ('Could not exclude {0} from Microsoft Defender' -f $folder) -ErrorRecord $_ -Target $folder -EnableException:$EnableException
            return
        }
        if ($result.Changed -and $result.Status -eq 'Fail') {
            # Defender took the exclusion and dropped it: a policy owns exclusions. The gateway works
            # without them (more slowly), so this is for the policy's owner, not a failed install.
            $result = New-DicomGatewayResult -Name $result.Name -Status Warn -Changed $true -Previous $result.Previous `
                -Detail ('Microsoft Defender did not keep the exclusion of {0}: a policy (Intune, Group Policy) manages exclusions; add it there' -f $folder)
        }
        $result
    }
}
