function Get-DicomGatewayTaskDefinition {
    <#
    .SYNOPSIS
    The scheduled task that runs the tray (at each user logon), or the one that ran the agent in earlier versions.

    .DESCRIPTION
    The agent is a service now (Get-DicomGatewayServiceDefinition); its old task (at startup, as
    SYSTEM, repeating every 5 minutes) is described only so that Install and Uninstall can find
    and remove it. Principals are SIDs so that the task registers on Windows in any language.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [ValidateSet('Agent', 'Tray')]
        [string]$Role,

        [Parameter(Mandatory)]
        [object]$Layout
    )

    if ($Role -eq 'Agent') {
        return [pscustomobject]@{
            Name              = 'AgentTask'
            TaskPath          = $script:DicomGatewayDefault.TaskPath
            TaskName          = $script:DicomGatewayDefault.AgentTaskName
            Description       = 'DICOM gateway agent: receives studies and uploads them. Started at boot, restarted when it stops.'
            Execute           = $Layout.Executable
            Arguments         = 'run --config "{0}"' -f $Layout.ConfigFile
            WorkingDirectory  = $Layout.InstallPath
            Triggers          = 'AtStartup,Repeat'
            PrincipalSid      = 'S-1-5-18'
            MultipleInstances = 'IgnoreNew'
        }
    }
    [pscustomobject]@{
        Name              = 'TrayTask'
        TaskPath          = $script:DicomGatewayDefault.TaskPath
        TaskName          = $script:DicomGatewayDefault.TrayTaskName
        Description       = 'DICOM gateway tray icon for the signed-in user.'
        Execute           = $Layout.TrayExecutable
        # The data folder by name: a user may not read gateway.json to find it.
        Arguments         = 'tray --data-dir "{0}"' -f $Layout.DataPath
        WorkingDirectory  = $Layout.InstallPath
        Triggers          = 'AtLogOn'
        PrincipalSid      = 'S-1-5-32-545'
        MultipleInstances = 'Parallel'
    }
}
