function Stop-DicomGatewayFunction {
    <#
    .SYNOPSIS
    The module's one way to report an error that stops a command.

    .DESCRIPTION
    As dbatools' Stop-Function: a friendly warning by default, a terminating error when the caller
    asked for -EnableException. The caller returns right after calling it.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Message,

        [System.Management.Automation.ErrorRecord]$ErrorRecord,

        [string]$Target,

        [System.Management.Automation.ErrorCategory]$Category = 'NotSpecified',

        [switch]$EnableException
    )

    $innerException = $null
    if ($ErrorRecord) {
        $Message = '{0}: {1}' -f $Message, $ErrorRecord.Exception.Message
        $innerException = $ErrorRecord.Exception
    }
    if ($EnableException) {
        $exception = New-Object System.InvalidOperationException -ArgumentList $Message, $innerException
        $record = New-Object System.Management.Automation.ErrorRecord -ArgumentList $exception, 'DicomGateway', $Category, $Target
        throw $record
    }
    Write-Warning -Message $Message
}
