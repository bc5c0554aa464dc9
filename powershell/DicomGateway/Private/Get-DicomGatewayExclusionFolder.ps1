function Get-DicomGatewayExclusionFolder {
    <#
    .SYNOPSIS
    The folders Defender need not scan, by result name: only folders users cannot write to.

    .DESCRIPTION
    The install folder (gateway.exe, the PostgreSQL binaries; Users may only read it) and the
    embedded database's folder (<data>\postgres, inside the data folder nobody but the agent and
    administrators may open), whose constant writes scanning would slow. Never the data folder as
    a whole: the spool holds files that came from the network.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param(
        [Parameter(Mandatory)]
        [string]$InstallPath,

        [Parameter(Mandatory)]
        [string]$DataPath,

        [string]$DatabasePath
    )

    if (-not $DatabasePath) {
        $DatabasePath = (Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath).DatabaseFolder
    }
    [ordered]@{
        InstallFolderExclusion  = $InstallPath
        DatabaseFolderExclusion = $DatabasePath
    }
}

function Get-DicomGatewayLegacyExclusionFolder {
    # Exclusions earlier versions added and this one removes: the whole data folder (spool
    # included) and the PostgreSQL binaries (inside the install folder anyway).
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout
    )

    [ordered]@{
        DataFolderExclusion     = $Layout.DataPath
        PostgresFolderExclusion = $Layout.PostgresFolder
    }
}
