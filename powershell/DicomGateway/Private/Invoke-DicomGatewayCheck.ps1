function Invoke-DicomGatewayCheck {
    <#
    .SYNOPSIS
    Runs one check; a check that throws becomes a Fail result instead of ending the whole test.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$CheckName,

        [Parameter(Mandatory)]
        [scriptblock]$CheckScript
    )

    try {
        & $CheckScript
    } catch {
        New-DicomGatewayResult -Name $CheckName -Status Fail -Detail ('Could not be checked: {0}' -f $_.Exception.Message)
    }
}
