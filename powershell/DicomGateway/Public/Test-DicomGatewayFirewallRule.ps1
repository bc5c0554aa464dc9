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
    The DICOM port. Default: the configuration's, else 4104.

    .PARAMETER TlsPort
    The DICOM-TLS port, opened too. Default: the configuration's tls.port, else none.

    .PARAMETER DataPath
    The data folder whose gateway.json gives what is not given (the port, tls.port and the
    remote addresses the install saved). Default: the recorded install's, else C:\ProgramData\DicomGateway.

    .PARAMETER InstallPath
    The gateway's install folder; the rule is for gateway.exe in it. Default: the recorded
    install's, else C:\Program Files\DicomGateway.

    .PARAMETER RemoteAddress
    Who may connect: LocalSubnet, addresses, subnets (10.1.2.0/24), ranges or Any. Default: the
    addresses saved in the configuration (firewall.remoteAddresses), else LocalSubnet.

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
        [int]$Port,

        [ValidateRange(0, 65535)]
        [int]$TlsPort,

        [string]$InstallPath,

        [string]$DataPath,

        [ValidateNotNullOrEmpty()]
        [string[]]$RemoteAddress
    )

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'FirewallRule'
    }
    $folders = Resolve-DicomGatewayFolder -InstallPath $InstallPath -DataPath $DataPath
    $layout = Get-DicomGatewayLayout -InstallPath $folders.InstallPath -DataPath $folders.DataPath
    $setting = Resolve-DicomGatewayFirewallSetting -Bound $PSBoundParameters -DataPath $folders.DataPath
    $wanted = Get-DicomGatewayFirewallDefinition -Port $setting.Port -TlsPort $setting.TlsPort -Hl7Port $setting.Hl7Port -Program $layout.Executable -RemoteAddress $setting.RemoteAddress

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
