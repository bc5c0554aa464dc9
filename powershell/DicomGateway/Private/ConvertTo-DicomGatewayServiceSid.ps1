function ConvertTo-DicomGatewayServiceSid {
    <#
    .SYNOPSIS
    The SID of a service's virtual account (NT SERVICE\<name>), computed as Windows does.

    .DESCRIPTION
    S-1-5-80- followed by the SHA-1 of the upper-case service name in UTF-16LE, read as five
    little-endian 32-bit numbers. Computed rather than looked up, so that folder permissions can
    name the account before the service exists (and tests can check them anywhere).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string]$ServiceName
    )

    $sha1 = [System.Security.Cryptography.SHA1]::Create()
    try {
        $hash = $sha1.ComputeHash([System.Text.Encoding]::Unicode.GetBytes($ServiceName.ToUpperInvariant()))
    } finally {
        $sha1.Dispose()
    }
    $parts = foreach ($offset in 0, 4, 8, 12, 16) { [System.BitConverter]::ToUInt32($hash, $offset) }
    'S-1-5-80-{0}' -f ($parts -join '-')
}
