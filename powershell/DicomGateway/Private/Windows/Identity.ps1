function Get-DgwCurrentIdentity {
    # Authority is the part before the backslash: the computer's name for a local account.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object System.Security.Principal.WindowsPrincipal -ArgumentList $identity
    $parts = $identity.Name.Split('\')
    [pscustomobject]@{
        Name            = $identity.Name
        Sid             = $identity.User.Value
        Authority       = $(if ($parts.Count -gt 1) { $parts[0] } else { '' })
        IsAdministrator = $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
        IsSystem        = $identity.IsSystem
        ComputerName    = $env:COMPUTERNAME
    }
}
