function Get-DicomGatewayUnconfirmedStudyResult {
    <#
    .SYNOPSIS
    UnconfirmedStudies: Fail while the data folder holds studies the cloud has not confirmed.

    .DESCRIPTION
    Asks the running agent (GET /api/status): instances queued, being sent, awaiting the cloud's
    Storage Commitment, or failed. When its API does not answer, nothing can tell which spooled
    files the cloud has, so any file in the spool counts as unconfirmed.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout
    )

    $config = $null
    try { $config = Read-DicomGatewayConfig -Path $Layout.ConfigFile } catch { $config = $null }
    $uri = 'http://127.0.0.1:{0}/api/status' -f [int](Get-DicomGatewayConfigValue -Config $config -Key 'api.port' -Default $script:DicomGatewayDefault.ApiPort)
    try {
        $status = Invoke-DgwLocalApi -Uri $uri
        $uploads = $status.uploads
        if ($null -eq $uploads) { throw 'the agent reports its database down' }
        $unconfirmed = [long]$uploads.queued + [long]$uploads.sending + [long]$uploads.awaitingCommitment + [long]$uploads.failed
        if ($unconfirmed -gt 0) {
            return New-DicomGatewayResult -Name 'UnconfirmedStudies' -Status Fail -Changed $false -Previous '' -Detail ('{0} instance(s) in {1} studies are not confirmed by the cloud yet ({2} queued, {3} sending, {4} awaiting commitment, {5} failed)' -f $unconfirmed, $status.queue.studies, $uploads.queued, $uploads.sending, $uploads.awaitingCommitment, $uploads.failed)
        }
        return New-DicomGatewayResult -Name 'UnconfirmedStudies' -Status Pass -Changed $false -Previous '' -Detail ('The cloud has confirmed every study ({0} done)' -f $uploads.studiesDone)
    } catch {
        $agentProblem = $_.Exception.Message
    }
    $spool = [System.IO.Path]::Combine($Layout.DataPath, 'spool')
    $files = @()
    if (Test-Path -LiteralPath $spool) { $files = @(Get-ChildItem -LiteralPath $spool -File -Recurse -Force -ErrorAction SilentlyContinue) }
    if ($files.Count -gt 0) {
        return New-DicomGatewayResult -Name 'UnconfirmedStudies' -Status Fail -Changed $false -Previous '' -Detail ('the agent cannot be asked ({0}) and {1} holds {2} file(s) that may not be confirmed by the cloud' -f $agentProblem, $spool, $files.Count)
    }
    New-DicomGatewayResult -Name 'UnconfirmedStudies' -Status Pass -Changed $false -Previous '' -Detail ('The agent cannot be asked ({0}), and {1} holds no file' -f $agentProblem, $spool)
}
