# ScheduledTasks wrappers. A task is handed around as the object Get-DicomGatewayTaskDefinition makes.

function ConvertTo-DgwSid {
    # Task Scheduler reports principals by name; names are translated, SIDs are not.
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [AllowEmptyString()]
        [string]$Account
    )

    if (-not $Account -or $Account -match '^S-1-') { return $Account }
    try {
        (New-Object System.Security.Principal.NTAccount -ArgumentList $Account).Translate([System.Security.Principal.SecurityIdentifier]).Value
    } catch {
        $Account
    }
}

function Get-DgwScheduledTask {
    # $null when the task is not registered.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$TaskPath,

        [Parameter(Mandatory)]
        [string]$TaskName
    )

    $task = Get-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -ErrorAction SilentlyContinue
    if (-not $task) { return $null }
    $action = @($task.Actions)[0]
    $triggers = foreach ($trigger in @($task.Triggers)) {
        switch ($trigger.CimClass.CimClassName) {
            'MSFT_TaskBootTrigger' { 'AtStartup' }
            'MSFT_TaskLogonTrigger' { 'AtLogOn' }
            'MSFT_TaskTimeTrigger' { 'Repeat' }
            default { $trigger.CimClass.CimClassName }
        }
    }
    $principal = $task.Principal
    $account = if ($principal.UserId) { [string]$principal.UserId } else { [string]$principal.GroupId }
    [pscustomobject]@{
        TaskPath     = [string]$task.TaskPath
        TaskName     = [string]$task.TaskName
        Execute      = [string]$action.Execute
        Arguments    = [string]$action.Arguments
        Triggers     = @($triggers) -join ','
        PrincipalSid = ConvertTo-DgwSid -Account $account
        State        = [string]$task.State
    }
}

function Register-DgwScheduledTask {
    # Registers (or replaces) the task.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    $action = New-ScheduledTaskAction -Execute $Definition.Execute -Argument $Definition.Arguments -WorkingDirectory $Definition.WorkingDirectory
    # Only the tray is registered as a task now: at each logon, for the Users group, with limited rights.
    $triggers = foreach ($kind in $Definition.Triggers.Split(',')) {
        switch ($kind) {
            'AtLogOn' { New-ScheduledTaskTrigger -AtLogOn }
            default { throw ('Unknown trigger kind {0}' -f $kind) }
        }
    }
    $principal = New-ScheduledTaskPrincipal -GroupId $Definition.PrincipalSid -RunLevel Limited
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable `
        -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
        -MultipleInstances $Definition.MultipleInstances
    $null = Register-ScheduledTask -TaskPath $Definition.TaskPath -TaskName $Definition.TaskName -Description $Definition.Description `
        -Action $action -Trigger $triggers -Principal $principal -Settings $settings -Force -ErrorAction Stop
}

function Unregister-DgwScheduledTask {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$TaskPath,

        [Parameter(Mandatory)]
        [string]$TaskName
    )

    Unregister-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -Confirm:$false -ErrorAction Stop
}

function Start-DgwScheduledTask {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$TaskPath,

        [Parameter(Mandatory)]
        [string]$TaskName
    )

    Start-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -ErrorAction Stop
}

function Stop-DgwScheduledTask {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$TaskPath,

        [Parameter(Mandatory)]
        [string]$TaskName
    )

    Stop-ScheduledTask -TaskPath $TaskPath -TaskName $TaskName -ErrorAction Stop
}
