# One line per check: the requirement each result object carries, so the wording lives in one place.
$script:DicomGatewayRequirement = @{
    OperatingSystem         = 'Windows 10, Windows 11 or Windows Server 2016 through 2022'
    Architecture            = '64-bit Windows'
    Processor               = 'Multicore processor: 2 cores minimum, 4 or more recommended'
    Memory                  = '8 GB of RAM minimum, 16 GB or more recommended'
    MemoryWithHl7           = '16 GB of RAM minimum with the HL7 interface'
    DataVolume              = 'Data volume of 1 TB minimum, 2 TB or more recommended'
    LocalAdministrator      = 'Run by a local administrator (elevated), not by a domain account'
    HostName                = 'Computer name without an underscore (_)'
    StaticIPAddress         = 'Static local IP address (or a DHCP reservation) so that PACS and modalities always find the gateway'
    DicomPort               = 'DICOM port (default 4104) free for the gateway'
    VisualCppRuntime        = 'Microsoft Visual C++ 2015-2022 x64 runtime installed (the embedded PostgreSQL needs it)'
    FolderOwner             = 'Install and data folders are new or owned by SYSTEM or Administrators'
    InstallFolderAccess     = 'Install folder: SYSTEM and Administrators full control, Users read and execute, nothing inherited'
    DataFolderAccess        = 'Data folder: SYSTEM, Administrators and NT SERVICE\DicomGateway only, nothing inherited'
    TrayFolderAccess        = 'Tray folder (API port and token): as the data folder, plus read for interactive users'
    Secrets                 = 'Cloud token and proxy password stored protected (DPAPI), not in gateway.json'
    AgentService            = 'Windows service DicomGateway runs "gateway run" as NT SERVICE\DicomGateway, starts automatically and restarts within seconds after a failure'
    DatabaseFolderExclusion = 'Microsoft Defender does not scan the embedded database folder'
    DataFolderNotExcluded   = 'Microsoft Defender scans the data folder (received files come from the network)'
    FirewallRule            = 'Windows Firewall allows inbound TCP on the DICOM port only (and the DICOM-TLS and HL7 ports when configured), for gateway.exe, from the allowed remote addresses (local subnet by default)'
    InstallFolderExclusion  = 'Microsoft Defender does not scan the install folder'
    DataFolderExclusion     = 'Uninstall: the Defender exclusion an earlier version added for the data folder is removed'
    PostgresFolderExclusion = 'Uninstall: the Defender exclusion an earlier version added for the PostgreSQL folder is removed'
    SystemVolumeEncryption  = 'System volume protected by BitLocker, or physical access to the computer restricted to authorised personnel (licence requirement)'
    DataVolumeEncryption    = 'Data volume protected by BitLocker, or physical access to the computer restricted to authorised personnel (licence requirement)'
    SleepTimeout            = 'Computer never sleeps, on AC power and on battery'
    Hibernation             = 'Hibernation disabled'
    UpstreamDns             = 'The upstream host name resolves'
    UpstreamTcp             = 'Outbound TCP to the upstream (port 443 by default) is allowed'
    GatewayConnectivityTest = 'gateway test-connectivity succeeds'
    Package                 = 'Gateway files in the install folder match the package'
    Configuration           = 'Configuration holds the AE title exactly as licensed, the DICOM port and the data folder'
    AgentTask               = 'No scheduled task runs the agent (earlier versions had one; the service replaces it)'
    TrayTask                = 'Scheduled task runs "gateway tray" at each user logon'
    AgentRunning            = 'The agent is running with the installed files and configuration'
    DataFolder              = 'Data folder kept unless removal is asked for (it may hold studies not yet uploaded)'
    AeTitle                 = 'AE title exactly as licensed (1-16 characters of the DICOM default repertoire, case-sensitive)'
    DicomEcho               = 'The agent answers C-ECHO on its DICOM port for its AE title'
    Certificates            = "The upstream's certificate files are in the protected data folder (certs), as the site gives them"
    InstallRecord           = 'The install folder, data folder and version are recorded under HKLM\SOFTWARE\DicomGateway'
    UninstallEntry          = 'Programs and Features lists the gateway, with a working uninstall command'
    StartMenuShortcut       = "The tray is in every user's Start menu, its shortcut carrying the AppUserModelID of its notifications (Windows shows them only then)"
    EventLogSource          = 'The Application event log has the source DicomGateway (the agent writes its warnings and errors there)'
    FirewallScope           = 'The firewall admits every subnet that PACS and modalities send from'
    AgentEcho               = 'The installed agent answers C-ECHO for its AE title'
    AgentDatabase           = 'The installed agent reports its database up'
    UpstreamConnectivity    = 'The installed agent reaches the cloud (gateway test-connectivity passes)'
    Rollback                = 'An upgrade that does not come up healthy puts the previous files back'
    UnconfirmedStudies      = 'Data is deleted only when the cloud has confirmed every study (or when forced)'
    UninstallRecord         = 'Uninstall: the registry record and the Programs and Features entry are removed'
    EventLogSourceRemoved   = 'Uninstall: the event log source is removed'
}

# Sizes a disk is sold by are decimal (1 TB = 10^12 bytes) and the volume on it is a little smaller
# once Windows has made its partitions, so the data volume limits allow 1 %. RAM is binary: 8 GB = 8 GiB.
$script:DicomGatewayThreshold = @{
    MemoryMinimumBytes         = 8GB
    MemoryRecommendedBytes     = 16GB
    DataVolumeMinimumBytes     = [long](0.99 * 1e12)
    DataVolumeRecommendedBytes = [long](1.98 * 1e12)
    ProcessorMinimumCores      = 2
    ProcessorRecommendedCores  = 4
}

# What the embedded PostgreSQL's executables and ICU DLLs import from the VC++ runtime (objdump -p).
$script:DicomGatewayVisualCppDll = @('VCRUNTIME140.dll', 'VCRUNTIME140_1.dll', 'MSVCP140.dll')
