# powercfg wrappers. The active power scheme is a machine setting.

function Invoke-DgwPowerCfg {
    [CmdletBinding()]
    [OutputType([string[]])]
    param(
        [Parameter(Mandatory)]
        [string[]]$ArgumentList
    )

    $output = @(& powercfg.exe @ArgumentList 2>&1 | ForEach-Object { [string]$_ })
    if ($LASTEXITCODE -ne 0) {
        throw ('powercfg {0} failed with exit code {1}: {2}' -f ($ArgumentList -join ' '), $LASTEXITCODE, ($output -join ' ').Trim())
    }
    $output
}

function Get-DgwSleepTimeout {
    # Seconds before the computer sleeps on AC power and on battery; 0 means never.
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param()

    $values = ConvertFrom-DicomGatewayPowerCfgQuery -Text @(Invoke-DgwPowerCfg -ArgumentList @('/query', 'SCHEME_CURRENT', 'SUB_SLEEP', 'STANDBYIDLE'))
    [pscustomobject]@{ AcSeconds = $values.Ac; DcSeconds = $values.Dc }
}

function Set-DgwSleepTimeout {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [int]$Minutes
    )

    $null = Invoke-DgwPowerCfg -ArgumentList @('/change', 'standby-timeout-ac', [string]$Minutes)
    $null = Invoke-DgwPowerCfg -ArgumentList @('/change', 'standby-timeout-dc', [string]$Minutes)
}

function Get-DgwHibernation {
    # $true when hibernation is enabled.
    [CmdletBinding()]
    [OutputType([bool])]
    param()

    $power = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Power' -ErrorAction Stop
    foreach ($name in 'HibernateEnabled', 'HibernateEnabledDefault') {
        $property = $power.PSObject.Properties[$name]
        if ($property) { return ([int]$property.Value -ne 0) }
    }
    $true
}

function Disable-DgwHibernation {
    [CmdletBinding()]
    param()

    $null = Invoke-DgwPowerCfg -ArgumentList @('/hibernate', 'off')
}
