# NetSecurity wrappers. A rule is handed around as the object Get-DicomGatewayFirewallDefinition makes.

function Get-DgwFirewallRule {
    # $null when there is no rule of that name.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Name
    )

    $rule = Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue
    if (-not $rule) { return $null }
    $portFilter = $rule | Get-NetFirewallPortFilter
    $applicationFilter = $rule | Get-NetFirewallApplicationFilter
    $addressFilter = $rule | Get-NetFirewallAddressFilter
    [pscustomobject]@{
        Name          = [string]$rule.Name
        Enabled       = ([string]$rule.Enabled -eq 'True')
        Direction     = [string]$rule.Direction
        Action        = [string]$rule.Action
        Protocol      = [string]$portFilter.Protocol
        LocalPort     = @($portFilter.LocalPort) -join ','
        Program       = [string]$applicationFilter.Program
        RemoteAddress = @($addressFilter.RemoteAddress | ForEach-Object { [string]$_ })
        Profile       = [string]$rule.Profile
    }
}

function ConvertTo-DgwFirewallRuleParameter {
    # The settings New-NetFirewallRule and Set-NetFirewallRule both take from a rule, for splatting.
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [object]$Rule
    )

    @{
        Description   = $Rule.Description
        Enabled       = 'True'
        Direction     = $Rule.Direction
        Action        = $Rule.Action
        Protocol      = $Rule.Protocol
        LocalPort     = $Rule.LocalPort
        Program       = $Rule.Program
        RemoteAddress = $Rule.RemoteAddress
        Profile       = $Rule.Profile
        ErrorAction   = 'Stop'
    }
}

function New-DgwFirewallRule {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Rule
    )

    $settings = ConvertTo-DgwFirewallRuleParameter -Rule $Rule
    $null = New-NetFirewallRule -Name $Rule.Name -DisplayName $Rule.DisplayName -Group $Rule.Group @settings
}

function Set-DgwFirewallRule {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Rule
    )

    $settings = ConvertTo-DgwFirewallRuleParameter -Rule $Rule
    Set-NetFirewallRule -Name $Rule.Name -NewDisplayName $Rule.DisplayName @settings
}

function Remove-DgwFirewallRule {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Name
    )

    Remove-NetFirewallRule -Name $Name -ErrorAction Stop
}
