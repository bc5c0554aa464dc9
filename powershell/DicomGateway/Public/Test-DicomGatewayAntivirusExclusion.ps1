function Test-DicomGatewayAntivirusExclusion {
    <#
    .SYNOPSIS
    Checks that Microsoft Defender does not scan the gateway's install, data and PostgreSQL folders.

    .DESCRIPTION
    Scanning the files the gateway writes slows it and can make a store or an upload fail, so the
    three folders are excluded. Returns three results: InstallFolderExclusion,
    DataFolderExclusion and PostgresFolderExclusion. Each is Pass when Defender excludes the
    folder or a folder above it, Fail when it does not, and Warn when Defender cannot be asked
    (not installed, or another antivirus product in use: exclude the folders there).
    Off Windows every result is NotApplicable.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder (spool, embedded database, logs). Default C:\ProgramData\DicomGateway.

    .PARAMETER PostgresPath
    The PostgreSQL folder. Default: the embedded PostgreSQL in <InstallPath>\postgres; give the
    folder of an external server (for example C:\Program Files\PostgreSQL) when it runs here.

    .EXAMPLE
    Test-DicomGatewayAntivirusExclusion

    Checks the default folders.

    .EXAMPLE
    Test-DicomGatewayAntivirusExclusion -DataPath 'D:\DicomGateway' -PostgresPath 'C:\Program Files\PostgreSQL'

    Checks a data folder on D: and a PostgreSQL server installed on this computer.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [string]$PostgresPath
    )

    $folders = Get-DicomGatewayExclusionFolder -InstallPath $InstallPath -DataPath $DataPath -PostgresPath $PostgresPath
    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name @($folders.Keys)
    }

    try {
        $exclusions = @(Get-DgwDefenderExclusionPath)
    } catch {
        $reason = $_.Exception.Message
        foreach ($name in $folders.Keys) {
            New-DicomGatewayResult -Name $name -Status Warn -Detail ('Microsoft Defender could not be asked ({0}); if another antivirus product is in use, exclude {1} there' -f $reason, $folders[$name])
        }
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
}
