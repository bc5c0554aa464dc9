# Windows Event Log wrappers: the source the agent writes its warnings and errors under.

function Test-DgwEventLogSource {
    [CmdletBinding()]
    [OutputType([bool])]
    param(
        [Parameter(Mandatory)]
        [string]$Source
    )

    [System.Diagnostics.EventLog]::SourceExists($Source)
}

function Register-DgwEventLogSource {
    # In the Application log, with the .NET message file, which shows each entry's text as written.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Source
    )

    New-EventLog -LogName Application -Source $Source -ErrorAction Stop
}

function Unregister-DgwEventLogSource {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Source
    )

    Remove-EventLog -Source $Source -ErrorAction Stop
}
