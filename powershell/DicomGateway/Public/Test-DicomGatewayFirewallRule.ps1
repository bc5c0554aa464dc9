function Test-DicomGatewayFirewallRule {
    <#
    .SYNOPSIS
    Checks that Windows Firewall lets DICOM in on the gateway's port, and nothing else.

    .DESCRIPTION
    Looks for the gateway's rule (name DicomGateway-DICOM-TCP-In) and compares it with what the
    gateway needs: enabled, inbound, allow, TCP, the DICOM port only, for gateway.exe, from the
    allowed remote addresses (the local subnet by default), all profiles. Returns one result named
    FirewallRule: Pass when it matches, Fail when it is missing or differs (Detail says how).
    Off Windows the result is NotApplicable.

    .PARAMETER Port
    The DICOM port. Default 4104.

    .PARAMETER InstallPath
    The gateway's install folder; the rule is for gateway.exe in it. Default
    C:\Program Files\DicomGateway.

    .PARAMETER RemoteAddress
    Who may connect: LocalSubnet (default), addresses, subnets (10.1.2.0/24), ranges or Any.

    .EXAMPLE
    Test-DicomGatewayFirewallRule

    Checks the rule for port 4104 from the local subnet.

    .EXAMPLE
    Test-DicomGatewayFirewallRule -Port 11112 -RemoteAddress '10.20.0.0/16', '10.30.1.5'

    Checks a rule for port 11112 that admits one subnet and one PACS.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [ValidateRange(1, 65535)]
        [int]$Port = $script:DicomGatewayDefault.Port,

        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string[]]$RemoteAddress = $script:DicomGatewayDefault.RemoteAddress
    )

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'FirewallRule'
    }
    $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $script:DicomGatewayDefault.DataPath
    $wanted = Get-DicomGatewayFirewallDefinition -Port $Port -Program $layout.Executable -RemoteAddress $RemoteAddress

    Invoke-DicomGatewayCheck -CheckName 'FirewallRule' -CheckScript {
        $existing = Get-DgwFirewallRule -Name $wanted.Name
        $summary = 'inbound TCP {0} for {1} from {2}' -f $wanted.LocalPort, $wanted.Program, ($wanted.RemoteAddress -join ', ')
        if (-not $existing) {
            New-DicomGatewayResult -Name 'FirewallRule' -Status Fail -Detail ('There is no rule {0}; wanted {1}' -f $wanted.Name, $summary)
            return
        }
        $differences = @(Compare-DicomGatewayFirewallRule -Existing $existing -Wanted $wanted)
        if ($differences.Count -gt 0) {
            New-DicomGatewayResult -Name 'FirewallRule' -Status Fail -Detail ('The rule {0} differs: {1}' -f $wanted.Name, ($differences -join '; '))
        } else {
            New-DicomGatewayResult -Name 'FirewallRule' -Status Pass -Detail ('The rule {0} allows {1}' -f $wanted.Name, $summary)
        }
    }
}
