function Get-DicomGatewayFirewallDefinition {
    <#
    .SYNOPSIS
    The firewall rule the gateway needs: inbound TCP on the DICOM port only, for gateway.exe.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [int]$Port,

        [Parameter(Mandatory)]
        [string]$Program,

        [Parameter(Mandatory)]
        [string[]]$RemoteAddress
    )

    [pscustomobject]@{
        Name          = $script:DicomGatewayDefault.FirewallRuleName
        DisplayName   = 'DICOM Gateway (TCP {0} in)' -f $Port
        Group         = $script:DicomGatewayDefault.FirewallGroup
        Description   = 'Lets PACS and modalities send DICOM to the gateway on its DICOM port; nothing else.'
        Enabled       = $true
        Direction     = 'Inbound'
        Action        = 'Allow'
        Protocol      = 'TCP'
        LocalPort     = [string]$Port
        Program       = $Program
        RemoteAddress = @(ConvertTo-DicomGatewayFirewallAddress -Address $RemoteAddress)
        Profile       = 'Any'
    }
}
