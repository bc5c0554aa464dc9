# DPAPI wrappers, machine scope: a value protected here opens only on this computer; who may
# read the file that holds it is left to the data folder's permissions. The entropy ties each
# value to its name, so one cannot be passed off as another.

function Get-DgwSecretEntropy {
    param([string]$Name)
    [System.Text.Encoding]::UTF8.GetBytes('DicomGateway:' + $Name)
}

function Protect-DgwSecret {
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string]$Name,

        [Parameter(Mandatory)]
        [string]$Value
    )

    if (-not ('System.Security.Cryptography.ProtectedData' -as [type])) { Add-Type -AssemblyName System.Security }
    $bytes = [System.Security.Cryptography.ProtectedData]::Protect([System.Text.Encoding]::UTF8.GetBytes($Value), (Get-DgwSecretEntropy -Name $Name), [System.Security.Cryptography.DataProtectionScope]::LocalMachine)
    [System.Convert]::ToBase64String($bytes)
}

function Unprotect-DgwSecret {
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string]$Name,

        [Parameter(Mandatory)]
        [string]$Protected
    )

    if (-not ('System.Security.Cryptography.ProtectedData' -as [type])) { Add-Type -AssemblyName System.Security }
    $bytes = [System.Security.Cryptography.ProtectedData]::Unprotect([System.Convert]::FromBase64String($Protected), (Get-DgwSecretEntropy -Name $Name), [System.Security.Cryptography.DataProtectionScope]::LocalMachine)
    [System.Text.Encoding]::UTF8.GetString($bytes)
}
