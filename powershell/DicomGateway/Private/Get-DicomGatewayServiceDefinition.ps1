function Get-DicomGatewayServiceDefinition {
    <#
    .SYNOPSIS
    The Windows service that runs the agent: WinSW (gateway-service.exe) hosting "gateway run".

    .DESCRIPTION
    A Node executable cannot answer the service control manager, so WinSW (from npm node-windows,
    MIT) does: it starts "gateway.exe run --config <file>" and, when the service is stopped, runs
    "gateway.exe stop --config <file>", which asks the agent through its local API to finish and
    waits until the agent and its PostgreSQL have exited. WinSW appends <arguments> to both
    the start and stop arguments, so the verb goes in <startargument> and <stopargument> (WinSW 1.x
    knows only these singular elements; <startarguments> came with 2.0) and --config in <arguments>.
    The account is the virtual account NT SERVICE\DicomGateway: a SID of its own that no other
    service shares (LocalService is shared by many), no password, no rights beyond what the
    folder permissions grant it. A child that exits non-zero makes WinSW exit with that code,
    which the service control manager treats as a failure: the recovery actions restart it
    after 5 s (twice), then every 30 s; the failure count resets after a day.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout
    )

    $name = $script:DicomGatewayDefault.ServiceName
    $definition = [pscustomobject]@{
        Name             = 'AgentService'
        ServiceName      = $name
        DisplayName      = 'DICOM Gateway'
        Description      = 'Receives DICOM studies from PACS and modalities, keeps them on disk and uploads them to the cloud PACS.'
        Account          = 'NT SERVICE\{0}' -f $name
        AccountSid       = ConvertTo-DicomGatewayServiceSid -ServiceName $name
        StartMode        = 'Auto'
        HostPath         = $Layout.ServiceHost
        ConfigPath       = $Layout.ServiceConfig
        Executable       = $Layout.Executable
        Arguments        = '--config "{0}"' -f $Layout.ConfigFile
        StartArguments   = 'run'
        StopArguments    = 'stop'
        WorkingDirectory = $Layout.InstallPath
        LogFolder        = $Layout.ServiceLogFolder
        # sc.exe failure: reset period in seconds, then action/delay in milliseconds.
        ResetSeconds     = 86400
        FailureActions   = 'restart/5000/restart/5000/restart/30000'
        Xml              = ''
    }
    $definition.Xml = ConvertTo-DicomGatewayServiceXml -Definition $definition
    $definition
}

function ConvertTo-DicomGatewayServiceXml {
    <#
    .SYNOPSIS
    WinSW's configuration (gateway-service.xml beside gateway-service.exe) for the service definition.

    .DESCRIPTION
    Only elements WinSW 1.17 reads. The account and the recovery actions are not here: Install
    sets them with sc.exe, where Test- reads them back.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    $escape = { param([string]$Text) [System.Security.SecurityElement]::Escape($Text) }
    @(
        '<service>'
        '  <id>{0}</id>' -f (& $escape $Definition.ServiceName)
        '  <name>{0}</name>' -f (& $escape $Definition.DisplayName)
        '  <description>{0}</description>' -f (& $escape $Definition.Description)
        '  <executable>{0}</executable>' -f (& $escape $Definition.Executable)
        '  <arguments>{0}</arguments>' -f (& $escape $Definition.Arguments)
        '  <startargument>{0}</startargument>' -f (& $escape $Definition.StartArguments)
        '  <stopexecutable>{0}</stopexecutable>' -f (& $escape $Definition.Executable)
        '  <stopargument>{0}</stopargument>' -f (& $escape $Definition.StopArguments)
        '  <workingdirectory>{0}</workingdirectory>' -f (& $escape $Definition.WorkingDirectory)
        '  <startmode>Automatic</startmode>'
        '  <logpath>{0}</logpath>' -f (& $escape $Definition.LogFolder)
        '  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>8</keepFiles></log>'
        '</service>'
    ) -join "`r`n"
}
