function Test-DicomGatewayService {
    <#
    .SYNOPSIS
    Checks the agent's Windows service: registered as the install sets it, and running.

    .DESCRIPTION
    Returns two results. AgentService: the service DicomGateway runs gateway-service.exe (WinSW,
    with the configuration the install writes) as NT SERVICE\DicomGateway, starts automatically
    and has recovery actions that restart it within seconds, also when the agent exits with an
    error. AgentRunning: the service is running. Fail says what differs and how to fix it. Off
    Windows both are NotApplicable.

    .PARAMETER InstallPath
    The install folder. Default C:\Program Files\DicomGateway.

    .PARAMETER DataPath
    The data folder. Default C:\ProgramData\DicomGateway.

    .EXAMPLE
    Test-DicomGatewayService

    Checks the service of the default install.

    .EXAMPLE
    Test-DicomGatewayService -DataPath 'D:\DicomGateway' | Format-List

    Checks an install with its data on D:.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [ValidateNotNullOrEmpty()]
        [string]$InstallPath = $script:DicomGatewayDefault.InstallPath,

        [ValidateNotNullOrEmpty()]
        [string]$DataPath = $script:DicomGatewayDefault.DataPath
    )

    if (-not (Test-DgwWindows)) {
        return Get-DicomGatewayNotApplicableResult -Name 'AgentService', 'AgentRunning'
    }
    $layout = Get-DicomGatewayLayout -InstallPath $InstallPath -DataPath $DataPath
    $definition = Get-DicomGatewayServiceDefinition -Layout $layout
    Invoke-DicomGatewayCheck -CheckName 'AgentService' -CheckScript {
        $result = Test-DicomGatewayServiceRegistration -Definition $definition
        if ($result.Status -eq 'Fail') {
            $result = New-DicomGatewayResult -Name $result.Name -Status Fail -Detail ('{0}; Install-DicomGateway registers it again' -f $result.Detail)
        }
        $result
    }
    Invoke-DicomGatewayCheck -CheckName 'AgentRunning' -CheckScript {
        $service = Get-DgwService -Name $definition.ServiceName
        if ($service -and $service.State -eq 'Running') {
            New-DicomGatewayResult -Name 'AgentRunning' -Status Pass -Detail ('The service {0} is running' -f $definition.ServiceName)
        } else {
            $state = if ($service) { $service.State } else { 'not registered' }
            New-DicomGatewayResult -Name 'AgentRunning' -Status Fail -Detail ('The service {0} is {1}: Start-Service {0}; its logs are in {2}' -f $definition.ServiceName, $state, $layout.LogFolder)
        }
    }
}
