function Get-DicomGatewayDriveLetter {
    <#
    .SYNOPSIS
    The drive ('C:') a Windows path is on; throws for a path that is not on a local drive.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    if ($Path -match '^([A-Za-z]):') { return ('{0}:' -f $Matches[1].ToUpperInvariant()) }
    throw ("'{0}' is not on a local drive (expected a path such as D:\DicomGateway)" -f $Path)
}
