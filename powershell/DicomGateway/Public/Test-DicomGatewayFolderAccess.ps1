function Test-DicomGatewayFolderAccess {
    <#
    .SYNOPSIS
    Checks the permissions of the gateway's install, data and tray folders.

    .DESCRIPTION
    Returns three results, InstallFolderAccess, DataFolderAccess and TrayFolderAccess: Pass when
    the folder's owner, inheritance and explicit rules are exactly those the install sets
    (see Set-DicomGatewayFolderAccess), Fail with every difference and the fix when they drifted
    or the folder is missing. Off Windows every result is NotApplicable.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default C:\ProgramData\DicomGateway.

    .EXAMPLE
    Test-DicomGatewayFolderAccess

    Checks the default folders.

    .EXAMPLE
    Test-DicomGatewayFolderAccess -DataPath 'D:\DicomGateway' | Where-Object Status -ne 'Pass'

    Shows only the folders whose permissions drifted.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath
    )

    $definitions = @(Get-DicomGatewayFolderAccessDefinition -Layout (Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath))
    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name @($definitions.Name)
    }
    foreach ($definition in $definitions) {
        Invoke-DicomGatewayCheck -CheckName $definition.Name -CheckScript { Test-DicomGatewayFolderAccessDefinition -Definition $definition }
    }
}
