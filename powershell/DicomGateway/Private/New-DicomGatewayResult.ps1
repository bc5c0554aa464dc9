function New-DicomGatewayResult {
    <#
    .SYNOPSIS
    Builds the one result object every public function returns.

    .DESCRIPTION
    A flat PSCustomObject of strings (and one boolean) so that ConvertTo-Json gives the agent's
    bridge plain JSON. Check results carry Name, Status, Detail and Requirement; results of a
    change (given -Changed) also carry Changed and Previous (the Detail before the change).
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Name,

        [Parameter(Mandatory)]
        [ValidateSet('Pass', 'Warn', 'Fail', 'NotApplicable')]
        [string]$Status,

        [Parameter(Mandatory)]
        [AllowEmptyString()]
        [string]$Detail,

        [string]$Requirement,

        [Nullable[bool]]$Changed,

        [AllowEmptyString()]
        [string]$Previous
    )

    if (-not $Requirement) {
        $Requirement = $script:DicomGatewayRequirement[$Name]
    }
    $result = [ordered]@{
        Name        = $Name
        Status      = $Status
        Detail      = $Detail
        Requirement = [string]$Requirement
    }
    if ($null -ne $Changed) {
        $result.Changed = [bool]$Changed
        $result.Previous = $Previous
    }
    [pscustomobject]$result
}
