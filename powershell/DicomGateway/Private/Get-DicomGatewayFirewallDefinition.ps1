function Get-DicomGatewayFirewallDefinition {
    <#
    .SYNOPSIS
    The firewall rule the gateway needs: inbound TCP on the DICOM port (and the DICOM-TLS port and the HL7 MLLP port when there are) only, for gateway.exe.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [int]$Port,

        [int]$TlsPort,

        [int]$Hl7Port,

        [Parameter(Mandatory)]
        [string]$Program,

        [Parameter(Mandatory)]
        [string[]]$RemoteAddress
    )

    $ports = @($Port)
    if ($TlsPort) { $ports += $TlsPort }
    if ($Hl7Port) { $ports += $Hl7Port }
    $localPort = (@($ports | Sort-Object -Unique) | ForEach-Object { [string]$_ }) -join ','
    [pscustomobject]@{
        Name          = $script:DicomGatewayDefault.FirewallRuleName
        DisplayName   = 'DICOM Gateway (TCP {0} in)' -f $localPort
        Group         = $script:DicomGatewayDefault.FirewallGroup
        Description   = $(if ($Hl7Port) { 'Lets PACS and modalities send DICOM, and the RIS/EMR send HL7, to the gateway on its DICOM, DICOM-TLS and MLLP ports; nothing else.' } else { 'Lets PACS and modalities send DICOM to the gateway on its DICOM and DICOM-TLS ports; nothing else.' })
        Enabled       = $true
        Direction     = 'Inbound'
        Action        = 'Allow'
        Protocol      = 'TCP'
        LocalPort     = $localPort
        Program       = $Program
        RemoteAddress = @(ConvertTo-DicomGatewayFirewallAddress -Address $RemoteAddress)
        Profile       = 'Any'
    }
}
