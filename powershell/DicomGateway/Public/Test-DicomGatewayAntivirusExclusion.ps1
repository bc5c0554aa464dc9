function Test-DicomGatewayAntivirusExclusion {
    <#
    .SYNOPSIS
    Checks that Microsoft Defender skips only the gateway folders users cannot write to, and scans the data folder.

    .DESCRIPTION
    Scanning the gateway's program files and its database's constant writes slows it, so two
    folders are excluded: the install folder (users may only read it) and the embedded database
    folder (<data>\postgres, which only the agent and administrators may open). The data folder
    as a whole is not: its spool holds files that came from the network, and an exclusion there
    would let anything a modality sends sit unscanned. Returns three results:
    InstallFolderExclusion and DatabaseFolderExclusion (Pass when Defender excludes the folder or
    one above it, Fail when it scans it) and DataFolderNotExcluded (Fail when an exclusion covers
    the data folder, naming it). All three are Warn when Defender cannot be asked (not
    installed, or another antivirus product in use: set the same there). Off Windows every
    result is NotApplicable.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder (spool, embedded database, logs). Default C:\ProgramData\DicomGateway.

    .PARAMETER DatabasePath
    The database folder. Default: the embedded PostgreSQL's <DataPath>\postgres.

    .EXAMPLE
    Test-DicomGatewayAntivirusExclusion

    Checks the default folders.

    .EXAMPLE
    Test-DicomGatewayAntivirusExclusion -DataPath 'D:\DicomGateway'

    Checks with a data folder on D:.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [string]$DatabasePath
    )

    $folders = Get-DicomGatewayExclusionFolder -InstallPath $InstallPath -DataPath $DataPath -DatabasePath $DatabasePath
    $names = @($folders.Keys) + 'DataFolderNotExcluded'
    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name $names
    }

    try {
        $exclusions = @(Get-DgwDefenderExclusionPath)
    } catch {
        $reason = $_.Exception.Message
        foreach ($name in $folders.Keys) {
            New-DicomGatewayResult -Name $name -Status Warn -Detail ('Microsoft Defender could not be asked ({0}); if another antivirus product is in use, exclude {1} there' -f $reason, $folders[$name])
        }
        New-DicomGatewayResult -Name 'DataFolderNotExcluded' -Status Warn -Detail ('Microsoft Defender could not be asked ({0}); if another antivirus product is in use, let it scan {1}' -f $reason, $DataPath)
        return
    }
    foreach ($name in $folders.Keys) {
        $folder = $folders[$name]
        $covering = Get-DicomGatewayCoveringExclusion -Path $folder -Exclusion $exclusions
        if (-not $covering) {
            New-DicomGatewayResult -Name $name -Status Fail -Detail ('Microsoft Defender scans {0}' -f $folder)
        } elseif ($covering.TrimEnd('\') -eq $folder.TrimEnd('\')) {
            New-DicomGatewayResult -Name $name -Status Pass -Detail ('Microsoft Defender excludes {0}' -f $folder)
        } else {
            New-DicomGatewayResult -Name $name -Status Pass -Detail ('Microsoft Defender excludes {0} through the exclusion {1}' -f $folder, $covering)
        }
    }
    $spoolCovering = Get-DicomGatewayCoveringExclusion -Path $DataPath -Exclusion $exclusions
    if ($spoolCovering) {
        New-DicomGatewayResult -Name 'DataFolderNotExcluded' -Status Fail -Detail ('Microsoft Defender does not scan {0} (exclusion {1}), where received files arrive from the network; remove it: Remove-MpPreference -ExclusionPath ''{1}''' -f $DataPath, $spoolCovering)
    } else {
        New-DicomGatewayResult -Name 'DataFolderNotExcluded' -Status Pass -Detail ('Microsoft Defender scans {0} (received files)' -f $DataPath)
    }
}
