function Get-DgwTcpListener {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [int]$Port
    )

    foreach ($listener in @(Get-NetTCPConnection -State Listen -LocalPort $Port -ErrorAction SilentlyContinue)) {
        $process = Get-Process -Id $listener.OwningProcess -ErrorAction SilentlyContinue
        [pscustomobject]@{
            LocalAddress = [string]$listener.LocalAddress
            ProcessId    = [int]$listener.OwningProcess
            ProcessName  = $(if ($process) { [string]$process.ProcessName } else { '' })
        }
    }
}

function Resolve-DgwHostName {
    [CmdletBinding()]
    [OutputType([string[]])]
    param(
        [Parameter(Mandatory)]
        [string]$Name
    )

    [System.Net.Dns]::GetHostAddresses($Name) | ForEach-Object { $_.IPAddressToString }
}

function Test-DgwTcpConnection {
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string]$ComputerName,

        [Parameter(Mandatory)]
        [int]$Port,

        [int]$TimeoutMilliseconds = 5000
    )

    $client = New-Object System.Net.Sockets.TcpClient
    try {
        $connect = $client.ConnectAsync($ComputerName, $Port)
        if (-not $connect.Wait($TimeoutMilliseconds)) {
            return [pscustomobject]@{ Connected = $false; Error = ('no answer within {0} ms' -f $TimeoutMilliseconds) }
        }
        [pscustomobject]@{ Connected = [bool]$client.Connected; Error = '' }
    } catch {
        $exception = $_.Exception
        while ($exception.InnerException) { $exception = $exception.InnerException }
        [pscustomobject]@{ Connected = $false; Error = $exception.Message }
    } finally {
        $client.Close()
    }
}
