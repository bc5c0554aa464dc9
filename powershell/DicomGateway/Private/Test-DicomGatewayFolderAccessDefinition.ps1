function Test-DicomGatewayFolderAccessDefinition {
    # One folder against its definition: the result Test- and Set-DicomGatewayFolderAccess give.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    $fix = 'Set-DicomGatewayFolderAccess (or Install-DicomGateway) sets them again'
    $existing = Get-DgwFolderAccess -Path $Definition.Path
    if ($null -eq $existing) {
        return New-DicomGatewayResult -Name $Definition.Name -Status Fail -Detail ('{0} does not exist; {1}' -f $Definition.Path, $fix)
    }
    $differences = @(Compare-DicomGatewayFolderAccess -Existing $existing -Definition $Definition)
    if ($differences.Count -gt 0) {
        return New-DicomGatewayResult -Name $Definition.Name -Status Fail -Detail ('The permissions of {0} drifted: {1}. {2}' -f $Definition.Path, ($differences -join '; '), $fix)
    }
    New-DicomGatewayResult -Name $Definition.Name -Status Pass -Detail ('{0} has the permissions the gateway sets' -f $Definition.Path)
}
