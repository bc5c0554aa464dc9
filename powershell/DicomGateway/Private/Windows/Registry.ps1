# Registry wrappers: the install's record under HKLM and its Programs and Features entry. A key is
# handed around as its PowerShell path (HKLM:\...) and its values as a hashtable.

function Get-DgwRegistryValue {
    # The key's values by name, or $null when there is no such key.
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [string]$Key
    )

    $item = Get-ItemProperty -LiteralPath $Key -ErrorAction SilentlyContinue
    if (-not $item) { return $null }
    $values = @{}
    foreach ($property in $item.PSObject.Properties) {
        if ($property.Name -notlike 'PS*') { $values[$property.Name] = $property.Value }
    }
    $values
}

function Set-DgwRegistryValue {
    # Creates the key when needed and sets the values: integers as DWORD, the rest as strings.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Key,

        [Parameter(Mandatory)]
        [hashtable]$Values
    )

    if (-not (Test-Path -LiteralPath $Key)) { $null = New-Item -Path $Key -Force -ErrorAction Stop }
    foreach ($name in $Values.Keys) {
        $type = if ($Values[$name] -is [int]) { 'DWord' } else { 'String' }
        $null = New-ItemProperty -LiteralPath $Key -Name $name -Value $Values[$name] -PropertyType $type -Force -ErrorAction Stop
    }
}

function Remove-DgwRegistryKey {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string]$Key
    )

    Remove-Item -LiteralPath $Key -Recurse -Force -ErrorAction Stop
}
