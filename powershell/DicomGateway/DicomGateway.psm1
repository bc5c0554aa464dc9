# DicomGateway: Public/ holds one exported function per file, Private/ the helpers.
# Private/Windows/ is the only place that calls Windows (CIM, NetSecurity, Defender, BitLocker,
# powercfg, ScheduledTasks, processes, the gateway executable); its functions are named *-Dgw*
# so that Pester can mock every one of them on any host.
Set-StrictMode -Version 3.0

$privateFiles = @(Get-ChildItem -Path (Join-Path $PSScriptRoot 'Private') -Filter '*.ps1' -Recurse)
$publicFiles = @(Get-ChildItem -Path (Join-Path $PSScriptRoot 'Public') -Filter '*.ps1')

foreach ($file in ($privateFiles + $publicFiles)) {
    . $file.FullName
}

Export-ModuleMember -Function ($publicFiles | ForEach-Object { $_.BaseName })
