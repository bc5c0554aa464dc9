function Get-DgwBitLockerVolume {
    # Throws where the BitLocker feature is not installed (Windows Server without it).
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$MountPoint
    )

    $volume = Get-BitLockerVolume -MountPoint $MountPoint -ErrorAction Stop
    [pscustomobject]@{
        MountPoint           = [string]$volume.MountPoint
        ProtectionStatus     = [string]$volume.ProtectionStatus
        VolumeStatus         = [string]$volume.VolumeStatus
        EncryptionPercentage = [double]$volume.EncryptionPercentage
    }
}
