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
    # Registers (or replaces) the task; SYSTEM runs with highest privileges, users with limited ones.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Definition
    )

    $action = New-ScheduledTaskAction -Execute $Definition.Execute -Argument $Definition.Arguments -WorkingDirectory $Definition.WorkingDirectory
    $triggers = foreach ($kind in $Definition.Triggers.Split(',')) {
        switch ($kind) {
            'AtStartup' { New-ScheduledTaskTrigger -AtStartup }
            'AtLogOn' { New-ScheduledTaskTrigger -AtLogOn }
            # Without -RepetitionDuration the repetition goes on indefinitely (Windows 10 / Server 2016 and later).
            'Repeat' { New-ScheduledTaskTrigger -Once -At (Get-Date).Date -RepetitionInterval (New-TimeSpan -Minutes 5) }
            default { throw ('Unknown trigger kind {0}' -f $kind) }
        }
    }
    if ($Definition.PrincipalSid -eq 'S-1-5-18') {
        $principal = New-ScheduledTaskPrincipal -UserId $Definition.PrincipalSid -LogonType ServiceAccount -RunLevel Highest
    } else {
        $principal = New-ScheduledTaskPrincipal -GroupId $Definition.PrincipalSid -RunLevel Limited
    }
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
