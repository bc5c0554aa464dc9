function Compare-DicomGatewayPackage {
    <#
    .SYNOPSIS
    Which files of the package are missing or different in the install folder.

    .DESCRIPTION
    Content decides (SHA-256; a different size spares the hash): the build gives every file the
    same time, and a same-length change (0.1.0 -> 0.1.1) must still be copied. Files in the
    install folder that the package does not have are left alone: a wrong install path must
    never lose someone's files.
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
        if (-not $existing -or $existing.Length -ne $file.Length -or
            (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash -ne (Get-FileHash -LiteralPath $file.FullName -Algorithm SHA256).Hash) {
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
    Copies the given files (paths relative to both folders) from one folder to the other.
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
    }
}

function Backup-DicomGatewayPackageFile {
    <#
    .SYNOPSIS
    Keeps the installed files an upgrade is about to replace in <InstallPath>.previous, to roll back to.

    .DESCRIPTION
    Returns the backup: its folder, the files kept there and the files the upgrade adds (deleted
    again by a rollback). $null when the install folder has no gateway yet (a first install has
    nothing to roll back to).
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [object]$Layout,

        [Parameter(Mandatory)]
        [AllowEmptyCollection()]
        [string[]]$RelativePath,

        [AllowEmptyString()]
        [string]$Version
    )

    if (-not (Test-Path -LiteralPath $Layout.Executable -PathType Leaf)) { return $null }
    $folder = $Layout.InstallPath.TrimEnd('\', '/') + '.previous'
    if (Test-Path -LiteralPath $folder) { Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction Stop }
    $replaced = @($RelativePath | Where-Object { Test-Path -LiteralPath ([System.IO.Path]::Combine($Layout.InstallPath, $_)) -PathType Leaf })
    $added = @($RelativePath | Where-Object { $replaced -notcontains $_ })
    $null = New-Item -Path $folder -ItemType Directory -Force
    Copy-DicomGatewayPackageFile -SourceRoot $Layout.InstallPath -Destination $folder -RelativePath $replaced
    [pscustomobject]@{ Folder = $folder; Replaced = $replaced; Added = $added; Version = $Version }
}

function Restore-DicomGatewayPackageFile {
    <#
    .SYNOPSIS
    Puts the files of a backup back into the install folder and deletes the ones the upgrade added.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [object]$Layout,

        [Parameter(Mandatory)]
        [object]$Backup
    )

    Copy-DicomGatewayPackageFile -SourceRoot $Backup.Folder -Destination $Layout.InstallPath -RelativePath $Backup.Replaced
    foreach ($relative in $Backup.Added) {
        Remove-Item -LiteralPath ([System.IO.Path]::Combine($Layout.InstallPath, $relative)) -Force -ErrorAction SilentlyContinue
    }
}

function Get-DicomGatewayPackageVersion {
    <#
    .SYNOPSIS
    The version the build wrote into the package's version.txt; $null when there is none.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string]$Path
    )

    $file = [System.IO.Path]::Combine($Path, 'version.txt')
    if (-not (Test-Path -LiteralPath $file -PathType Leaf)) { return $null }
    $text = ([System.IO.File]::ReadAllText($file)).Trim()
    if ($text -notmatch '^\d+\.\d+\.\d+') { return $null }
    $text
}
