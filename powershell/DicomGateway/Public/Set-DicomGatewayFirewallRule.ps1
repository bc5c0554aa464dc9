function Set-DicomGatewayFirewallRule {
    <#
    .SYNOPSIS
    Creates or corrects the Windows Firewall rule that lets DICOM in on the gateway's port only.

    .DESCRIPTION
    Runs Test-DicomGatewayFirewallRule; when the rule is missing it is created, when it differs it
    is corrected, when it matches nothing is changed and the result says so. Returns the
    FirewallRule result with Changed (whether anything was changed) and Previous (the state found).
    Off Windows the result is NotApplicable and nothing is changed.

    .PARAMETER Port
    The DICOM port. Default: the configuration's, else 4104.

    .PARAMETER TlsPort
    The DICOM-TLS port, opened too. Default: the configuration's tls.port, else none.

    The HL7 MLLP port (hl7.port, 2575 by default) is opened too when the configuration in DataPath
    has an hl7 section.

    .PARAMETER DataPath
    The data folder whose gateway.json gives what is not given (the port, tls.port and the
    remote addresses the install saved). Default: the recorded install's, else C:\ProgramData\DicomGateway.

    .PARAMETER InstallPath
    The gateway's install folder; the rule is for gateway.exe in it. Default: the recorded
    install's, else C:\Program Files\DicomGateway.

    .PARAMETER RemoteAddress
    Who may connect: LocalSubnet, addresses, subnets (10.1.2.0/24), ranges or Any. Default: the
    addresses saved in the configuration (firewall.remoteAddresses), else LocalSubnet. Given,
    they are saved there (when the configuration exists), so later checks expect them.

    .PARAMETER EnableException
    Throw a terminating error when the rule cannot be written, instead of a warning.

    .EXAMPLE
    Set-DicomGatewayFirewallRule

    Lets TCP 4104 in for gateway.exe from the local subnet.

    .EXAMPLE
    Set-DicomGatewayFirewallRule -RemoteAddress '10.20.0.0/16' -WhatIf

    Shows what would change to admit only 10.20.0.0/16, and changes nothing.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([pscustomobject])]
    param(
        [ValidateRange(1, 65535)]
        [int]$Port,

        [ValidateRange(0, 65535)]
        [int]$TlsPort,

        [string]$InstallPath,

        [string]$DataPath,

        [ValidateNotNullOrEmpty()]
        [string[]]$RemoteAddress,

        [switch]$EnableException
    )

    $folders = Resolve-DicomGatewayFolder -InstallPath $InstallPath -DataPath $DataPath
    $layout = Get-DicomGatewayLayout -InstallPath $folders.InstallPath -DataPath $folders.DataPath
    $setting = Resolve-DicomGatewayFirewallSetting -Bound $PSBoundParameters -DataPath $folders.DataPath
    $wanted = Get-DicomGatewayFirewallDefinition -Port $setting.Port -TlsPort $setting.TlsPort -Hl7Port $setting.Hl7Port -Program $layout.Executable -RemoteAddress $setting.RemoteAddress
    try {
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('firewall rule {0}' -f $wanted.Name) `
            -Action ('allow inbound TCP {0} for {1} from {2}' -f $wanted.LocalPort, $layout.Executable, ($wanted.RemoteAddress -join ', ')) `
            -TestScript { Test-DicomGatewayFirewallRule -Port $setting.Port -TlsPort $setting.TlsPort -InstallPath $layout.InstallPath -DataPath $layout.DataPath -RemoteAddress $setting.RemoteAddress } `
            -ChangeScript {
                if (Get-DgwFirewallRule -Name $wanted.Name) { Set-DgwFirewallRule -Rule $wanted } else { New-DgwFirewallRule -Rule $wanted }
            }
        # Addresses given here become the saved ones, which every later check reads.
        $config = Read-DicomGatewayConfig -Path $layout.ConfigFile
        $saved = @(Get-DicomGatewayConfigValue -Config $config -Key 'firewall.remoteAddresses')
        if ($RemoteAddress -and $null -ne $config -and ($saved -join ',') -cne ($RemoteAddress -join ',') -and
            $PSCmdlet.ShouldProcess($layout.ConfigFile, ('save the remote addresses {0}' -f ($RemoteAddress -join ', ')))) {
            Set-DicomGatewayConfigValue -Config $config -Key 'firewall' -Value ([pscustomobject]@{ remoteAddresses = @($RemoteAddress) })
            Write-DicomGatewayConfig -Path $layout.ConfigFile -Config $config
        }
    } catch {
        Stop-DicomGatewayFunction -Message ('Could not set the firewall rule {0}' -f $wanted.Name) -ErrorRecord $_ -Target $wanted.Name -EnableException:$EnableException
        return
    }
}
