function Set-DicomGatewayAntivirusExclusion {
    <#
    .SYNOPSIS
    Excludes the install and database folders from Microsoft Defender and removes the data folder exclusion of earlier versions.

    .DESCRIPTION
    Runs Test-DicomGatewayAntivirusExclusion and adds an exclusion only for a folder that is not
    excluded yet (a folder inside an excluded one needs none). An exclusion of exactly the data
    folder, which earlier versions added, is removed; an exclusion of a folder above it (a whole
    drive) is someone else's: the result stays Fail and says so. Returns the three results with
    Changed and Previous. A folder still scanned after the exclusion was added is a Warn: a
    policy (Intune, Group Policy) forbids local exclusions; add the folder in that policy.
    When Defender cannot be asked, the results are Warn and nothing is changed.
    Off Windows every result is NotApplicable and nothing is changed.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default C:\ProgramData\DicomGateway.

    .PARAMETER DatabasePath
    The database folder. Default <DataPath>\postgres.

    .PARAMETER EnableException
    Throw a terminating error when an exclusion cannot be changed, instead of a warning.

    .EXAMPLE
    Set-DicomGatewayAntivirusExclusion

    Sets the exclusions for the default folders.

    .EXAMPLE
    Set-DicomGatewayAntivirusExclusion -DataPath 'D:\DicomGateway' -WhatIf

    Shows which exclusions would change for a data folder on D:, and changes none.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [string]$DatabasePath,

        [switch]$EnableException
    )

    $testParameters = @{ InstallPath = $InstallPath; DataPath = $DataPath; DatabasePath = $DatabasePath }
    $folders = Get-DicomGatewayExclusionFolder @testParameters
    foreach ($checkName in @($folders.Keys) + 'DataFolderNotExcluded') {
        $folder = if ($folders.Contains($checkName)) { $folders[$checkName] } else { $DataPath }
        $action = if ($folders.Contains($checkName)) { 'exclude {0} from scanning' -f $folder } else { 'remove the exclusion of {0}' -f $folder }
        try {
            $result = Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target 'Microsoft Defender' -Action $action `
                -TestScript { Test-DicomGatewayAntivirusExclusion @testParameters | Where-Object { $_.Name -eq $checkName } } `
                -ChangeScript {
                    if ($folders.Contains($checkName)) {
                        Add-DgwDefenderExclusionPath -Path $folder
                    } else {
                        foreach ($exclusion in @(Get-DgwDefenderExclusionPath | Where-Object { $_.TrimEnd('\') -eq $folder.TrimEnd('\') })) { Remove-DgwDefenderExclusionPath -Path $exclusion }
                    }
                }
        } catch {
            Stop-DicomGatewayFunction -Message ('Could not {0} in Microsoft Defender' -f $action) -ErrorRecord $_ -Target $folder -EnableException:$EnableException
            return
        }
        if ($result.Changed -and $result.Status -eq 'Fail') {
            # Defender dropped the exclusion, or a broader exclusion than ours remains: a policy
            # or someone else owns it. That is for its owner to settle, not a failed install.
            $result = New-DicomGatewayResult -Name $result.Name -Status Warn -Changed $true -Previous $result.Previous `
                -Detail ('{0}; a policy (Intune, Group Policy) or an administrator manages this exclusion: settle it there' -f $result.Detail)
        }
        $result
    }
}
