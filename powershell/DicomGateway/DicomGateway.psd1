@{
    RootModule           = 'DicomGateway.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6c059926-823e-4d4f-9584-b2fcf6c6f62e'
    Author               = 'DICOM Cloud Gateway contributors'
    CompanyName          = 'DICOM Cloud Gateway'
    Copyright            = '(c) DICOM Cloud Gateway contributors. MIT licence.'
    Description          = 'Checks and prepares a Windows computer for the DICOM cloud gateway, installs it, changes its AE title and reads its status.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FunctionsToExport    = @(
        'Get-DicomGatewayStatus'
        'Install-DicomGateway'
        'Set-DicomGatewayAeTitle'
        'Set-DicomGatewayAntivirusExclusion'
        'Set-DicomGatewayFirewallRule'
        'Set-DicomGatewayFolderAccess'
        'Set-DicomGatewayPowerPolicy'
        'Test-DicomGatewayAntivirusExclusion'
        'Test-DicomGatewayBitLocker'
        'Test-DicomGatewayConnectivity'
        'Test-DicomGatewayFirewallRule'
        'Test-DicomGatewayFolderAccess'
        'Test-DicomGatewayHealth'
        'Test-DicomGatewayPowerPolicy'
        'Test-DicomGatewayPrerequisite'
        'Test-DicomGatewayService'
        'Uninstall-DicomGateway'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('DICOM', 'PACS', 'Gateway', 'Intune', 'Windows')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
