# Well-known SIDs, language-independent.
$script:DicomGatewaySid = @{
    System           = 'S-1-5-18'
    Administrators   = 'S-1-5-32-544'
    Users            = 'S-1-5-32-545'
    Interactive      = 'S-1-5-4'
    TrustedInstaller = 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464'
}

function Get-DicomGatewayFolderAccessDefinition {
    <#
    .SYNOPSIS
    The permissions of the gateway's folders: who may do what, as Install sets them and Test- checks them.

    .DESCRIPTION
    - InstallFolderAccess: SYSTEM and Administrators full control, Users read and execute;
      inheritance off, so a drive root's "Authenticated Users: Modify" cannot reach gateway.exe,
      which the service runs.
    - DataFolderAccess: SYSTEM and Administrators full control, the agent's virtual account
      (NT SERVICE\DicomGateway) modify; inheritance off. Nobody else may read the spool (patient
      data), the configuration, the secrets or the database.
    - TrayFolderAccess: <data>\tray, where the agent writes the API port and token for the tray:
      inherits the above and adds read for INTERACTIVE (whoever is logged on at the computer,
      locally or by Remote Desktop), so the tray of any signed-in user can read it and nothing else.
    Every folder is owned by Administrators.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout
    )

    $sid = $script:DicomGatewaySid
    $tree = 'ContainerInherit, ObjectInherit'
    $rule = { param([string]$Sid, [string]$Rights) [pscustomobject]@{ Sid = $Sid; Type = 'Allow'; Rights = $Rights; Inheritance = $tree } }
    $serviceSid = ConvertTo-DicomGatewayServiceSid -ServiceName $script:DicomGatewayDefault.ServiceName
    [pscustomobject]@{
        Name = 'InstallFolderAccess'; Path = $Layout.InstallPath; Owner = $sid.Administrators; Protected = $true
        Rules = @((& $rule $sid.System 'FullControl'), (& $rule $sid.Administrators 'FullControl'), (& $rule $sid.Users 'ReadAndExecute'))
    }
    [pscustomobject]@{
        Name = 'DataFolderAccess'; Path = $Layout.DataPath; Owner = $sid.Administrators; Protected = $true
        Rules = @((& $rule $sid.System 'FullControl'), (& $rule $sid.Administrators 'FullControl'), (& $rule $serviceSid 'Modify'))
    }
    [pscustomobject]@{
        Name = 'TrayFolderAccess'; Path = $Layout.TrayFolder; Owner = $sid.Administrators; Protected = $false
        Rules = @((& $rule $sid.Interactive 'ReadAndExecute'))
    }
}

function Compare-DicomGatewayFolderAccess {
    <#
    .SYNOPSIS
    How a folder's permissions differ from its definition: one text per difference, none when equal.

    .DESCRIPTION
    An explicit rule the definition does not have is a difference too: whoever added it (a user
    who created the folder first, someone "fixing" access) can read or change what it guards.
    Deny rules are reported as well: they are not ours either.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [object]$Existing,

        [Parameter(Mandatory)]
        [object]$Definition
    )

    $key = { param($Rule) '{0}|{1}|{2}|{3}' -f $Rule.Sid, $Rule.Type, $Rule.Rights, $Rule.Inheritance }
    if ($Existing.Owner -ne $Definition.Owner) { 'owned by {0}, not by Administrators' -f $Existing.Owner }
    if ($Definition.Protected -and -not $Existing.Protected) { 'inherits permissions from its parent folder' }
    $wanted = @($Definition.Rules | ForEach-Object { & $key $_ })
    $have = @($Existing.Rules | ForEach-Object { & $key $_ })
    foreach ($rule in $Definition.Rules) {
        if ($have -notcontains (& $key $rule)) { '{0} lacks {1} ({2})' -f $rule.Sid, $rule.Rights, $rule.Inheritance }
    }
    foreach ($rule in $Existing.Rules) {
        if ($wanted -notcontains (& $key $rule)) { '{0} has {1} {2} ({3}), which is not ours' -f $rule.Sid, $rule.Type, $rule.Rights, $rule.Inheritance }
    }
}

function Test-DicomGatewayFolderOwner {
    <#
    .SYNOPSIS
    Why an existing folder must not be taken over by the install, or $null when it may be.

    .DESCRIPTION
    A folder that exists before the install and is owned by anyone but SYSTEM, Administrators,
    TrustedInstaller or the installing account was made by someone else, who as its owner can
    change its permissions back at any time and may have left files in it.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string]$Path,

        [AllowNull()]
        [object]$Existing,

        [AllowEmptyString()]
        [string]$InstallerSid = ''
    )

    if ($null -eq $Existing) { return $null }
    $trusted = @($script:DicomGatewaySid.System, $script:DicomGatewaySid.Administrators, $script:DicomGatewaySid.TrustedInstaller, $InstallerSid) | Where-Object { $_ }
    if ($trusted -contains $Existing.Owner) { return $null }
    '{0} already exists and is owned by {1}, not by SYSTEM or Administrators: someone else created it and could change its permissions at any time. Check what is in it, then delete it or take it over (takeown /a /r /d y /f "{0}"), and install again' -f $Path, $Existing.Owner
}
