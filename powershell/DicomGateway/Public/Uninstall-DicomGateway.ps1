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
    - InstallFolder: deletes the install folder.
    - DataFolder: kept (it may hold studies not yet uploaded, the configuration and the logs),
      so that a reinstall carries on; deleted only with -RemoveData.
    The power policy stays as it is. Returns one result per step with Changed and Previous; a
    second run changes nothing and says so.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default C:\ProgramData\DicomGateway.

    .PARAMETER RemoveData
    Also delete the data folder: received studies not yet uploaded are lost.

    .PARAMETER EnableException
    Throw a terminating error when a step fails, instead of a warning.

    .EXAMPLE
    Uninstall-DicomGateway

    Removes the gateway and keeps C:\ProgramData\DicomGateway (asks for confirmation first).

    .EXAMPLE
    Uninstall-DicomGateway -RemoveData -Confirm:$false

    Removes the gateway and its data without asking.

    .EXAMPLE
    Uninstall-DicomGateway -WhatIf

    Shows what would be removed, and removes nothing.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath,

        [switch]$RemoveData,

        [switch]$EnableException
    )

    if (-not (Test-DgwWindows)) {
        Stop-DicomGatewayFunction -Message 'Uninstall-DicomGateway runs on Windows only' -Category NotImplemented -EnableException:$EnableException
        return
    }
    $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath
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

        $deletions = @([pscustomobject]@{ StepName = 'InstallFolder'; Path = $layout.InstallPath; Action = 'delete the install folder' })
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
