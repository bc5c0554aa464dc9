# Where the gateway lives on Windows and the names it registers there. Public functions take
# these as parameter defaults. ProgramW6432 is the 64-bit Program Files even from a 32-bit host.
$script:DicomGatewayDefault = @{
    InstallPath      = '{0}\DicomGateway' -f $(if ($env:ProgramW6432) { $env:ProgramW6432 } elseif ($env:ProgramFiles) { $env:ProgramFiles } else { 'C:\Program Files' })
    DataPath         = '{0}\DicomGateway' -f $(if ($env:ProgramData) { $env:ProgramData } else { 'C:\ProgramData' })
    Port             = 4104
    ApiPort          = 4180
    Hl7Port          = 2575
    UpstreamPort     = 443
    RemoteAddress    = @('LocalSubnet')
    ExecutableName   = 'gateway.exe'
    ConfigFileName   = 'gateway.json'
    TaskPath         = '\DicomGateway\'
    AgentTaskName    = 'DicomGateway Agent'
    ServiceName      = 'DicomGateway'
    ServiceHostName  = 'gateway-service'
    TrayTaskName     = 'DicomGateway Tray'
    FirewallRuleName = 'DicomGateway-DICOM-TCP-In'
    FirewallGroup    = 'DICOM Gateway'
    # Where an install records its folders and version, found by Detect, Uninstall and upgrades.
    RegistryKey      = 'HKLM:\SOFTWARE\DicomGateway'
    UninstallKey     = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\DicomGateway'
    EventLogSource   = 'DicomGateway'
    DisplayName      = 'DICOM Gateway'
    Publisher        = 'DICOM Cloud Gateway'
    # Seconds an install waits for the started agent to answer C-ECHO and report its database up.
    HealthTimeout    = 180
}
