function Get-DicomGatewayExclusionFolder {
    <#
    .SYNOPSIS
    The folders Defender must not scan, by result name (install, data, PostgreSQL).
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param(
        [Parameter(Mandatory)]
        [string]$InstallPath,

        [Parameter(Mandatory)]
        [string]$DataPath,

        [string]$PostgresPath
    )

    if (-not $PostgresPath) {
        $PostgresPath = (Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath).PostgresFolder
    }
    [ordered]@{
        InstallFolderExclusion  = $InstallPath
        DataFolderExclusion     = $DataPath
        PostgresFolderExclusion = $PostgresPath
    }
}
