function Get-DicomGatewayLayout {
    <#
    .SYNOPSIS
    The gateway's files on this computer, from its install and data folders.

    .DESCRIPTION
    Path.Combine, not Join-Path: Join-Path wants the drive to exist, and a C:\ path must still be
    describable where there is no C: (the NotApplicable results off Windows, the tests).
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$InstallPath,

        [Parameter(Mandatory)]
        [string]$DataPath
    )

    [pscustomobject]@{
        InstallPath      = $InstallPath
        DataPath         = $DataPath
        Executable       = [System.IO.Path]::Combine($InstallPath, $script:DicomGatewayDefault.ExecutableName)
        # gateway.exe with the GUI subsystem: the tray starts at logon without a console window.
        TrayExecutable   = [System.IO.Path]::Combine($InstallPath, 'gateway-tray.exe')
        PostgresFolder   = [System.IO.Path]::Combine($InstallPath, 'postgres')
        ConfigFile       = [System.IO.Path]::Combine($DataPath, $script:DicomGatewayDefault.ConfigFileName)
        LogFolder        = [System.IO.Path]::Combine($DataPath, 'logs')
        SecretsFile      = [System.IO.Path]::Combine($DataPath, 'secrets.json')
        DatabaseFolder   = [System.IO.Path]::Combine($DataPath, 'postgres')
        TrayFolder       = [System.IO.Path]::Combine($DataPath, 'tray')
        ServiceHost      = [System.IO.Path]::Combine($InstallPath, $script:DicomGatewayDefault.ServiceHostName + '.exe')
        ServiceConfig    = [System.IO.Path]::Combine($InstallPath, $script:DicomGatewayDefault.ServiceHostName + '.xml')
        ServiceLogFolder = [System.IO.Path]::Combine($DataPath, 'logs', 'service')
    }
}
