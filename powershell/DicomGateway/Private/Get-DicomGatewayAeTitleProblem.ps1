function Get-DicomGatewayAeTitleProblem {
    <#
    .SYNOPSIS
    Why an AE title is not valid, or $null when it is.

    .DESCRIPTION
    DICOM PS3.5 VR AE: 1 to 16 characters of the default repertoire (printable ASCII), no
    backslash, not only spaces. Leading and trailing spaces are not significant in DICOM, so a
    title with them could not be matched exactly as licensed: they are refused, never trimmed.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [AllowEmptyString()]
        [AllowNull()]
        [string]$AeTitle
    )

    if ([string]::IsNullOrEmpty($AeTitle)) { return 'the AE title is empty' }
    if ($AeTitle.Length -gt 16) { return ("the AE title '{0}' has {1} characters; at most 16 are allowed" -f $AeTitle, $AeTitle.Length) }
    if ($AeTitle -notmatch '^[\x20-\x7E]+$') { return ("the AE title '{0}' has a character outside the DICOM default repertoire (printable ASCII)" -f $AeTitle) }
    if ($AeTitle.Contains('\')) { return ("the AE title '{0}' contains a backslash" -f $AeTitle) }
    if ($AeTitle.Trim().Length -eq 0) { return 'the AE title consists of spaces only' }
    if ($AeTitle -ne $AeTitle.Trim()) { return ("the AE title '{0}' has leading or trailing spaces" -f $AeTitle) }
    return $null
}
