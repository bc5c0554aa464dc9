function Get-DicomGatewayNotApplicableResult {
    <#
    .SYNOPSIS
    The results a Windows-only check gives on any other host: the same names, Status NotApplicable.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string[]]$Name
    )

    $detail = 'Windows only; this host runs {0}' -f [System.Runtime.InteropServices.RuntimeInformation]::OSDescription
    foreach ($checkName in $Name) {
        New-DicomGatewayResult -Name $checkName -Status NotApplicable -Detail $detail
    }
}
