function Stop-DicomGatewayAgent {
    <#
    .SYNOPSIS
    Stops the agent (its service, or the scheduled task of an earlier version) and whatever still runs from the install folder.

    .DESCRIPTION
    Stopping the service is orderly: WinSW runs "gateway stop", which waits until the agent has
    finished its associations and stopped its PostgreSQL. A task of an earlier version is ended
    outright. Processes still running from the install folder afterwards (a PostgreSQL left by
    such a task, and the trays only with -IncludeTray, as they keep gateway.exe open) are
    stopped. Callers have already asked ShouldProcess. Returns how many processes were stopped.
    #>
    [CmdletBinding()]
    [OutputType([int])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout,

        [switch]$IncludeTray
    )

    $service = Get-DgwService -Name $script:DicomGatewayDefault.ServiceName
    if ($service -and $service.State -ne 'Stopped') {
        Stop-DgwService -Name $script:DicomGatewayDefault.ServiceName
    }
    $agent = Get-DicomGatewayTaskDefinition -Role Agent -Layout $Layout
    $task = Get-DgwScheduledTask -TaskPath $agent.TaskPath -TaskName $agent.TaskName
    if ($task -and $task.State -eq 'Running') {
        Stop-DgwScheduledTask -TaskPath $agent.TaskPath -TaskName $agent.TaskName
    }
    $processes = @(Get-DgwProcess -Path $Layout.InstallPath | Where-Object { $IncludeTray -or ([string]$_.CommandLine) -notmatch '\stray(\s|$)' })
    foreach ($process in $processes) {
        Stop-DgwProcess -Id $process.ProcessId
    }
    $processes.Count
}
