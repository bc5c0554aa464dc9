function Test-DicomGatewayBitLocker {
    <#
    .SYNOPSIS
    Checks that BitLocker protects the system volume and the volume of the data folder.

    .DESCRIPTION
    The gateway keeps patient data on disk. The licence asks for whole-disk encryption (BitLocker)
    or physical access to the computer restricted to authorised personnel. Returns two results,
    SystemVolumeEncryption and DataVolumeEncryption: Pass when BitLocker protection is on, and
    Warn otherwise, naming the physical-security alternative; never Fail, since that alternative
    cannot be checked from here. Off Windows both results are NotApplicable.

    .PARAMETER DataPath
    The data folder; its volume is checked. Default C:\ProgramData\DicomGateway.

    .EXAMPLE
    Test-DicomGatewayBitLocker

    Checks the system volume and the volume of the default data folder.

    .EXAMPLE
    Test-DicomGatewayBitLocker -DataPath 'D:\DicomGateway' | Format-Table Name, Status, Detail

    Checks C: (or the system volume) and D: and shows the outcome as a table.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath
    )

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'SystemVolumeEncryption', 'DataVolumeEncryption'
    }
    $alternative = 'unless physical access to this computer is restricted to authorised personnel (the licence alternative), turn on BitLocker'
    foreach ($checkName in 'SystemVolumeEncryption', 'DataVolumeEncryption') {
        try {
            $mountPoint = if ($checkName -eq 'SystemVolumeEncryption') { Get-DgwSystemDrive } else { Get-DicomGatewayDriveLetter -Path $DataPath }
            $volume = Get-DgwBitLockerVolume -MountPoint $mountPoint
        } catch {
            New-DicomGatewayResult -Name $checkName -Status Warn -Detail ('BitLocker state could not be read ({0}); {1}' -f $_.Exception.Message, $alternative)
            continue
        }
        if ($volume.ProtectionStatus -eq 'On') {
            New-DicomGatewayResult -Name $checkName -Status Pass -Detail ('{0} is protected by BitLocker' -f $mountPoint)
        } elseif ($volume.VolumeStatus -eq 'EncryptionInProgress') {
            New-DicomGatewayResult -Name $checkName -Status Warn -Detail ('{0} is being encrypted by BitLocker ({1:N0} %); protection is not on yet' -f $mountPoint, $volume.EncryptionPercentage)
        } else {
            New-DicomGatewayResult -Name $checkName -Status Warn -Detail ('{0} is not protected by BitLocker (protection {1}, {2}); {3}' -f $mountPoint, $volume.ProtectionStatus, $volume.VolumeStatus, $alternative)
        }
    }
}
