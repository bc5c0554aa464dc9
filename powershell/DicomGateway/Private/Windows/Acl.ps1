# File system permission wrappers. A folder's access is handed around as the object
# Get-DicomGatewayFolderAccessDefinition makes: Owner (SID), Protected (inheritance off) and
# Rules (Sid, Type, Rights, Inheritance), rights as FileSystemRights names without the
# Synchronize Windows adds to each.

function ConvertTo-DgwAccessRule {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Security.AccessControl.FileSystemAccessRule]$Rule
    )

    # Full control includes Synchronize; any lesser right has it added by Windows: drop it there.
    $full = [int][System.Security.AccessControl.FileSystemRights]::FullControl
    $value = [int]$Rule.FileSystemRights
    if (($value -band $full) -ne $full) { $value = $value -band -bnot [int][System.Security.AccessControl.FileSystemRights]::Synchronize }
    $rights = [System.Security.AccessControl.FileSystemRights]$value
    [pscustomobject]@{
        Sid         = $Rule.IdentityReference.Value
        Type        = [string]$Rule.AccessControlType
        Rights      = [string]$rights
        Inheritance = [string]$Rule.InheritanceFlags
    }
}

function Get-DgwFolderAccess {
    # $null when the folder does not exist. Rules: the explicit ones only.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    if (-not (Test-Path -LiteralPath $Path -PathType Container)) { return $null }
    $acl = Get-Acl -LiteralPath $Path -ErrorAction Stop
    $sid = [System.Security.Principal.SecurityIdentifier]
    [pscustomobject]@{
        Owner     = $acl.GetOwner($sid).Value
        Protected = $acl.AreAccessRulesProtected
        Rules     = @($acl.GetAccessRules($true, $false, $sid) | ForEach-Object { ConvertTo-DgwAccessRule -Rule $_ })
    }
}

function ConvertTo-DgwDirectorySecurity {
    [CmdletBinding()]
    [OutputType([System.Security.AccessControl.DirectorySecurity])]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    $security = New-Object System.Security.AccessControl.DirectorySecurity
    $security.SetOwner((New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $Definition.Owner))
    $security.SetAccessRuleProtection([bool]$Definition.Protected, $false)
    foreach ($rule in $Definition.Rules) {
        $security.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule -ArgumentList @(
                    (New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $rule.Sid),
                    [System.Security.AccessControl.FileSystemRights]$rule.Rights,
                    [System.Security.AccessControl.InheritanceFlags]$rule.Inheritance,
                    [System.Security.AccessControl.PropagationFlags]::None,
                    [System.Security.AccessControl.AccessControlType]::Allow)))
    }
    $security
}

function Set-DgwFolderAccess {
    # Creates the folder with its permissions in one step (nobody can slip a file in between), or
    # sets them on an existing one. With -ResetChildren, everything below it is given to
    # Administrators and inherits again, so no file planted earlier keeps permissions of its own.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Definition,

        [switch]$ResetChildren
    )

    $security = ConvertTo-DgwDirectorySecurity -Definition $Definition
    if (-not (Test-Path -LiteralPath $Definition.Path)) {
        $parent = Split-Path -Path $Definition.Path -Parent
        if (-not (Test-Path -LiteralPath $parent)) { $null = New-Item -Path $parent -ItemType Directory -Force }
        if ($PSVersionTable.PSEdition -eq 'Desktop') {
            $null = [System.IO.Directory]::CreateDirectory($Definition.Path, $security)
        } else {
            $null = [System.IO.FileSystemAclExtensions]::Create((New-Object System.IO.DirectoryInfo -ArgumentList $Definition.Path), $security)
        }
        return
    }
    Set-Acl -LiteralPath $Definition.Path -AclObject $security -ErrorAction Stop
    if ($ResetChildren -and @(Get-ChildItem -LiteralPath $Definition.Path -Force).Count -gt 0) {
        $icacls = Join-Path $env:SystemRoot 'System32\icacls.exe'
        $children = Join-Path $Definition.Path '*'
        foreach ($arguments in @(@($children, '/setowner', ('*{0}' -f $Definition.Owner), '/T', '/C', '/Q'), @($children, '/reset', '/T', '/C', '/Q'))) {
            $output = @(& $icacls @arguments 2>&1 | ForEach-Object { [string]$_ })
            if ($LASTEXITCODE -ne 0) { throw ('icacls {0} failed with exit code {1}: {2}' -f ($arguments -join ' '), $LASTEXITCODE, ($output -join ' ').Trim()) }
        }
    }
}
