function Stop-DicomGatewayAgent {
    <#
    .SYNOPSIS
    Stops the agent task and every process that still runs from the install folder.

    .DESCRIPTION
    Ending the task does not end the PostgreSQL server the agent started, and a tray keeps
    gateway.exe open, so processes running from the install folder are stopped as well (the
    trays only with -IncludeTray). Callers have already asked ShouldProcess. Returns how many
    processes were stopped.
    #>
    [CmdletBinding()]
    [OutputType([int])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout,

        [switch]$IncludeTray
    )

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
