function Compare-DicomGatewayPackage {
    <#
    .SYNOPSIS
    Which files of the package are missing or different in the install folder.

    .DESCRIPTION
    Size and last write time decide, as robocopy does; Copy-DicomGatewayPackageFile sets the time
    of each copy, so a second run finds nothing to copy. Files in the install folder that the
    package does not have are left alone: a wrong install path must never lose someone's files.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$Source,

        [Parameter(Mandatory)]
        [string]$Destination
    )

    $sourceRoot = (Resolve-Path -LiteralPath $Source).ProviderPath.TrimEnd('\', '/')
    $files = @(Get-ChildItem -LiteralPath $sourceRoot -File -Recurse -Force)
    $changed = New-Object System.Collections.Generic.List[string]
    foreach ($file in $files) {
        $relativePath = $file.FullName.Substring($sourceRoot.Length + 1)
        $target = [System.IO.Path]::Combine($Destination, $relativePath)
        $existing = Get-Item -LiteralPath $target -Force -ErrorAction SilentlyContinue
        if (-not $existing -or $existing.Length -ne $file.Length -or $existing.LastWriteTimeUtc -ne $file.LastWriteTimeUtc) {
            $changed.Add($relativePath)
        }
    }
    [pscustomobject]@{
        SourceRoot = $sourceRoot
        FileCount  = $files.Count
        Changed    = $changed.ToArray()
    }
}

function Copy-DicomGatewayPackageFile {
    <#
    .SYNOPSIS
    Copies the given package files into the install folder, keeping their last write times.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$SourceRoot,

        [Parameter(Mandatory)]
        [string]$Destination,

        [Parameter(Mandatory)]
        [AllowEmptyCollection()]
        [string[]]$RelativePath
    )

    foreach ($relative in $RelativePath) {
        $from = [System.IO.Path]::Combine($SourceRoot, $relative)
        $to = [System.IO.Path]::Combine($Destination, $relative)
        $folder = Split-Path -Path $to -Parent
        if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -Path $folder -ItemType Directory -Force }
        Copy-Item -LiteralPath $from -Destination $to -Force
        (Get-Item -LiteralPath $to -Force).LastWriteTimeUtc = (Get-Item -LiteralPath $from -Force).LastWriteTimeUtc
    }
}
