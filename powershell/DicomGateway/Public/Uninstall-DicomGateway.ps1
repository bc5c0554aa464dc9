function Uninstall-DicomGateway {
    <#
    .SYNOPSIS
    Removes the gateway from this computer and keeps its data unless -RemoveData is given.

    .DESCRIPTION
    Each step only when needed:
    - AgentService: stops the agent's service (an orderly stop: "gateway stop" waits for the
      agent and its PostgreSQL) and deletes it.
    - AgentTask, TrayTask: unregisters the agent task of an earlier version and the tray task.
    - AgentProcesses: stops what still runs from the install folder (trays).
    - FirewallRule: removes the gateway's rule.
    - InstallFolderExclusion, DatabaseFolderExclusion, and the DataFolderExclusion and
      PostgresFolderExclusion of earlier versions: removes the Defender exclusions of those
      exact folders.
    - StartMenuShortcut: removes the tray's Start-menu shortcut.
    - EventLogSource: removes the Application log's source DicomGateway (the entries stay).
    - InstallRecord, UninstallEntry: removes the registry record and the Programs and Features entry.
    - InstallFolder: deletes the install folder (and <InstallPath>.previous of an upgrade).
    - DataFolder: kept (it may hold studies not yet uploaded, the configuration and the logs),
      so that a reinstall carries on; deleted only with -RemoveData, and then only when the
      cloud has confirmed every study (UnconfirmedStudies, checked before anything is changed:
      the agent's API is asked; when it does not answer, any file in the spool counts), unless
      -Force.
    The folders default to those the install recorded in the registry.
    The power policy stays as it is. Returns one result per step with Changed and Previous; a
    second run changes nothing and says so.

    .PARAMETER InstallPath
    The install folder. Default: the recorded one, else C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default: the recorded one, else C:\ProgramData\DicomGateway.

    .PARAMETER RemoveData
    Also delete the data folder; refused while the cloud has not confirmed every study.

    .PARAMETER Force
    With -RemoveData: delete the data folder even with studies the cloud has not confirmed (they are lost).

    .PARAMETER EnableException
    Throw a terminating error when a step fails, instead of a warning.

    .EXAMPLE
    Uninstall-DicomGateway

    Removes the gateway and keeps C:\ProgramData\DicomGateway (asks for confirmation first).

    .EXAMPLE
    Uninstall-DicomGateway -RemoveData -Confirm:$false

    Removes the gateway and its data without asking, once the cloud has confirmed every study.

    .EXAMPLE
    Uninstall-DicomGateway -WhatIf

    Shows what would be removed, and removes nothing.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType([pscustomobject])]
    param(
        [string]$InstallPath,

        [string]$DataPath,

        [switch]$RemoveData,

        [switch]$Force,

        [switch]$EnableException
    )

    if (-not (Test-DgwWindows)) {
        Stop-DicomGatewayFunction -Message 'Uninstall-DicomGateway runs on Windows only' -Category NotImplemented -EnableException:$EnableException
        return
    }
    $folders = Resolve-DicomGatewayFolder -InstallPath $InstallPath -DataPath $DataPath
    $InstallPath = $folders.InstallPath
    $DataPath = $folders.DataPath
    $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath
    if ($RemoveData) {
        $unconfirmed = Get-DicomGatewayUnconfirmedStudyResult -Layout $layout
        if ($unconfirmed.Status -eq 'Fail' -and -not $Force) {
            $unconfirmed
            Stop-DicomGatewayFunction -Message ('Cannot remove the data: {0}. Wait until they are uploaded (Get-DicomGatewayStatus), uninstall without -RemoveData, or add -Force to lose them' -f $unconfirmed.Detail) -Category ResourceExists -Target $layout.DataPath -EnableException:$EnableException
            return
        }
        $unconfirmed
    }
    $removed = @{
        AgentService            = 'Uninstall: the agent service is stopped and deleted'
        AgentTask               = 'Uninstall: the agent task of an earlier version is removed'
        TrayTask                = 'Uninstall: the tray task is removed'
        AgentProcesses          = 'Uninstall: nothing runs from the install folder'
        FirewallRule            = "Uninstall: the gateway's firewall rule is removed"
        InstallFolderExclusion  = 'Uninstall: the Defender exclusion of the install folder is removed'
        DatabaseFolderExclusion = 'Uninstall: the Defender exclusion of the database folder is removed'
        PostgresFolderExclusion = 'Uninstall: the Defender exclusion of the PostgreSQL folder (earlier versions) is removed'
        DataFolderExclusion     = 'Uninstall: the Defender exclusion of the data folder (earlier versions) is removed'
        StartMenuShortcut       = "Uninstall: the tray's Start-menu shortcut is removed"
        EventLogSource          = 'Uninstall: the event log source DicomGateway is removed'
        InstallRecord           = $script:DicomGatewayRequirement.UninstallRecord
        UninstallEntry          = $script:DicomGatewayRequirement.UninstallRecord
        InstallFolder           = 'Uninstall: the install folder is deleted'
        DataFolder              = $script:DicomGatewayRequirement.DataFolder
    }
    # Steps of an uninstall test for presence: Fail while the thing is still there.
    $presence = {
        param([string]$StepName, [bool]$Present, [string]$Detail)
        $status = if ($Present) { 'Fail' } else { 'Pass' }
        New-DicomGatewayResult -Name $StepName -Status $status -Detail $Detail -Requirement $removed[$StepName]
    }

    try {
        $serviceName = $script:DicomGatewayDefault.ServiceName
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('service {0}' -f $serviceName) -Action 'stop and delete' `
            -TestScript {
                $registered = [bool](Get-DgwService -Name $serviceName)
                & $presence 'AgentService' $registered ('The service {0} is {1}' -f $serviceName, $(if ($registered) { 'registered' } else { 'not registered' }))
            } `
            -ChangeScript {
                $null = Stop-DicomGatewayAgent -Layout $layout
                Unregister-DgwService -Name $serviceName
            }

        foreach ($task in (Get-DicomGatewayTaskDefinition -Role Agent -Layout $layout), (Get-DicomGatewayTaskDefinition -Role Tray -Layout $layout)) {
            $taskFullName = $task.TaskPath + $task.TaskName
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('scheduled task {0}' -f $taskFullName) -Action 'stop and unregister' `
                -TestScript {
                    $registered = [bool](Get-DgwScheduledTask -TaskPath $task.TaskPath -TaskName $task.TaskName)
                    & $presence $task.Name $registered ('The task {0} is {1}' -f $taskFullName, $(if ($registered) { 'registered' } else { 'not registered' }))
                } `
                -ChangeScript {
                    if ($task.Name -eq 'AgentTask') { $null = Stop-DicomGatewayAgent -Layout $layout }
                    Unregister-DgwScheduledTask -TaskPath $task.TaskPath -TaskName $task.TaskName
                }
        }

        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $layout.InstallPath -Action 'stop the processes running from it' `
            -TestScript {
                $running = @(Get-DgwProcess -Path $layout.InstallPath)
                & $presence 'AgentProcesses' ($running.Count -gt 0) ('{0} process(es) run from {1}' -f $running.Count, $layout.InstallPath)
            } `
            -ChangeScript { $null = Stop-DicomGatewayAgent -Layout $layout -IncludeTray }

        $ruleName = $script:DicomGatewayDefault.FirewallRuleName
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('firewall rule {0}' -f $ruleName) -Action 'remove' `
            -TestScript {
                $exists = [bool](Get-DgwFirewallRule -Name $ruleName)
                & $presence 'FirewallRule' $exists ('The firewall rule {0} {1}' -f $ruleName, $(if ($exists) { 'exists' } else { 'does not exist' }))
            } `
            -ChangeScript { Remove-DgwFirewallRule -Name $ruleName }

        $folders = Get-DicomGatewayExclusionFolder -InstallPath $InstallPath -DataPath $DataPath
        $legacy = Get-DicomGatewayLegacyExclusionFolder -Layout $layout
        foreach ($name in $legacy.Keys) { $folders[$name] = $legacy[$name] }
        foreach ($checkName in @($folders.Keys)) {
            $folder = $folders[$checkName]
            try {
                $null = Get-DgwDefenderExclusionPath
            } catch {
                New-DicomGatewayResult -Name $checkName -Status Warn -Requirement $removed[$checkName] -Changed $false -Previous '' `
                    -Detail ('Microsoft Defender could not be asked ({0}); remove an exclusion of {1} by hand if there is one' -f $_.Exception.Message, $folder)
                continue
            }
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target 'Microsoft Defender' -Action ('remove the exclusion of {0}' -f $folder) `
                -TestScript {
                    $exclusion = @(Get-DgwDefenderExclusionPath | Where-Object { $_.TrimEnd('\') -eq $folder.TrimEnd('\') })
                    & $presence $checkName ($exclusion.Count -gt 0) ('Microsoft Defender {0} {1}' -f $(if ($exclusion.Count -gt 0) { 'excludes' } else { 'does not exclude' }), $folder)
                } `
                -ChangeScript {
                    foreach ($exclusion in @(Get-DgwDefenderExclusionPath | Where-Object { $_.TrimEnd('\') -eq $folder.TrimEnd('\') })) {
                        Remove-DgwDefenderExclusionPath -Path $exclusion
                    }
                }
        }

        $shortcut = Get-DicomGatewayShortcutDefinition -Layout $layout
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $shortcut.Path -Action 'remove' `
            -TestScript {
                $exists = $null -ne (Get-DgwShortcut -Path $shortcut.Path)
                & $presence 'StartMenuShortcut' $exists ('{0} {1}' -f $shortcut.Path, $(if ($exists) { 'exists' } else { 'does not exist' }))
            } `
            -ChangeScript { Remove-DgwShortcut -Path $shortcut.Path }

        $eventSource = $script:DicomGatewayDefault.EventLogSource
        Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target ('event log source {0}' -f $eventSource) -Action 'remove' `
            -TestScript {
                $exists = Test-DgwEventLogSource -Source $eventSource
                & $presence 'EventLogSource' $exists ('The Application log {0} the source {1}' -f $(if ($exists) { 'has' } else { 'does not have' }), $eventSource)
            } `
            -ChangeScript { Unregister-DgwEventLogSource -Source $eventSource }

        foreach ($registryStep in @(@{ Name = 'InstallRecord'; Key = $script:DicomGatewayDefault.RegistryKey }, @{ Name = 'UninstallEntry'; Key = $script:DicomGatewayDefault.UninstallKey })) {
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $registryStep.Key -Action 'remove' `
                -TestScript {
                    $exists = $null -ne (Get-DgwRegistryValue -Key $registryStep.Key)
                    & $presence $registryStep.Name $exists ('{0} {1}' -f $registryStep.Key, $(if ($exists) { 'exists' } else { 'does not exist' }))
                } `
                -ChangeScript { Remove-DgwRegistryKey -Key $registryStep.Key }
        }

        $deletions = @([pscustomobject]@{ StepName = 'InstallFolder'; Path = $layout.InstallPath; Action = 'delete the install folder' })
        $upgradeBackup = $layout.InstallPath.TrimEnd('\', '/') + '.previous'
        if (Test-Path -LiteralPath $upgradeBackup) { Remove-Item -LiteralPath $upgradeBackup -Recurse -Force -ErrorAction Stop }
        if ($RemoveData) {
            $deletions += [pscustomobject]@{ StepName = 'DataFolder'; Path = $layout.DataPath; Action = 'delete the data folder with any study not yet uploaded' }
        }
        foreach ($deletion in $deletions) {
            Invoke-DicomGatewayChange -Cmdlet $PSCmdlet -Target $deletion.Path -Action $deletion.Action `
                -TestScript {
                    $exists = Test-Path -LiteralPath $deletion.Path
                    & $presence $deletion.StepName $exists ('{0} {1}' -f $deletion.Path, $(if ($exists) { 'exists' } else { 'does not exist' }))
                } `
                -ChangeScript { Remove-Item -LiteralPath $deletion.Path -Recurse -Force -ErrorAction Stop }
        }
        if (-not $RemoveData -and (Test-Path -LiteralPath $layout.DataPath)) {
            New-DicomGatewayResult -Name 'DataFolder' -Status Pass -Changed $false -Previous '' `
                -Detail ('Kept {0} (configuration, logs, studies not yet uploaded); -RemoveData deletes it' -f $layout.DataPath)
        }
    } catch {
        Stop-DicomGatewayFunction -Message 'Uninstall-DicomGateway stopped' -ErrorRecord $_ -EnableException:$EnableException
        return
    }
}
