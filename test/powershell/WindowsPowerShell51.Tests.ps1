# Intune and most sites run Windows PowerShell 5.1, while these tests run on pwsh 7: every script of
# the module and of the Intune package is parsed here and refused when it uses what 5.1 lacks.
BeforeDiscovery {
    $root = (Resolve-Path (Join-Path $PSScriptRoot '..\..')).ProviderPath
    $script:ScriptFiles = @(
        Get-ChildItem -LiteralPath (Join-Path $root 'powershell/DicomGateway') -Recurse -File -Include '*.ps1', '*.psm1', '*.psd1'
        Get-ChildItem -LiteralPath (Join-Path $root 'provisioning/intune') -File -Filter '*.ps1'
    ) | ForEach-Object { @{ Name = $_.FullName.Substring($root.Length + 1); Path = $_.FullName } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')

    # Parameters that came after 5.1, by command (aliases of the commands included).
    $script:NewerParameters = @{
        'ForEach-Object'    = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob')
        '%'                 = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob')
        'foreach'           = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds', 'AsJob')
        'ConvertFrom-Json'  = @('AsHashtable', 'Depth', 'NoEnumerate')
        'ConvertTo-Json'    = @('AsArray', 'EnumsAsStrings', 'EscapeHandling')
        'Get-Content'       = @('AsByteStream')
        'Set-Content'       = @('AsByteStream')
        'Add-Content'       = @('AsByteStream')
        'Join-Path'         = @('AdditionalChildPath')
        'Invoke-RestMethod' = @('SkipCertificateCheck', 'SkipHttpErrorCheck', 'StatusCodeVariable', 'Authentication', 'Token', 'ResponseHeadersVariable', 'SslProtocol', 'NoProxy')
        'Invoke-WebRequest' = @('SkipCertificateCheck', 'SkipHttpErrorCheck', 'Authentication', 'Token', 'SslProtocol', 'NoProxy')
        'Test-Connection'   = @('TcpPort', 'TargetName')
        'Select-Object'     = @('SkipIndex')
        'Get-ChildItem'     = @('FollowSymlink')
        'Start-Process'     = @('Environment')
    }
    # Encodings 5.1 does not know (it would write UTF-16 or fail).
    $script:NewerEncodings = @('utf8NoBOM', 'utf8BOM', 'ansi')
    # Automatic variables that are $null in 5.1: "-not $IsWindows" is true there.
    $script:NewerVariables = @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR')

    function Get-WindowsPowerShell51Problem {
        # What in the file's syntax tree Windows PowerShell 5.1 cannot run, one line each.
        param([string]$Path)

        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        foreach ($parseError in $errors) { 'parse error at line {0}: {1}' -f $parseError.Extent.StartLineNumber, $parseError.Message }
        foreach ($token in $tokens) {
            if ($token.Kind -in 'QuestionQuestionEquals', 'QuestionDot', 'QuestionLBracket') {
                'line {0}: the operator {1} (PowerShell 7)' -f $token.Extent.StartLineNumber, $token.Text
            }
        }
        $found = $ast.FindAll({ $true }, $true)
        foreach ($node in $found) {
            $line = $node.Extent.StartLineNumber
            $typeName = $node.GetType().Name
            if ($typeName -eq 'TernaryExpressionAst') { 'line {0}: a ternary a ? b : c (PowerShell 7)' -f $line }
            elseif ($typeName -eq 'PipelineChainAst') { 'line {0}: a pipeline chain && / || (PowerShell 7)' -f $line }
            elseif ($typeName -eq 'BinaryExpressionAst' -and [string]$node.Operator -eq 'QuestionQuestion') { 'line {0}: the operator ?? (PowerShell 7)' -f $line }
            elseif ($typeName -eq 'ScriptBlockAst' -and $node.PSObject.Properties['CleanBlock'] -and $node.CleanBlock) { 'line {0}: a clean block (PowerShell 7.3)' -f $line }
            elseif ($typeName -eq 'VariableExpressionAst' -and $node.VariablePath.UserPath -in $script:NewerVariables) {
                'line {0}: ${1} is $null in Windows PowerShell 5.1' -f $line, $node.VariablePath.UserPath
            } elseif ($typeName -eq 'CommandAst') {
                $commandName = $node.GetCommandName()
                if (-not $commandName) { continue }
                $parameters = @($node.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] })
                $newer = $script:NewerParameters[$commandName]
                foreach ($parameter in $parameters) {
                    if ($newer -and @($newer | Where-Object { $_ -like ($parameter.ParameterName + '*') }).Count -gt 0) {
                        'line {0}: {1} -{2} (after 5.1)' -f $line, $commandName, $parameter.ParameterName
                    }
                }
                $encodingIndex = [array]::FindIndex([object[]]$node.CommandElements, [Predicate[object]] { param($e) $e -is [System.Management.Automation.Language.CommandParameterAst] -and $e.ParameterName -eq 'Encoding' })
                if ($encodingIndex -ge 0 -and $encodingIndex + 1 -lt $node.CommandElements.Count) {
                    $value = $node.CommandElements[$encodingIndex + 1].Extent.Text.Trim("'", '"')
                    if ($value -in $script:NewerEncodings) { 'line {0}: {1} -Encoding {2} (after 5.1)' -f $line, $commandName, $value }
                }
                if ($commandName -eq 'Join-Path') {
                    $positional = @($node.CommandElements | Select-Object -Skip 1 | Where-Object { $_ -isnot [System.Management.Automation.Language.CommandParameterAst] })
                    if ($parameters.Count -eq 0 -and $positional.Count -gt 2) { 'line {0}: Join-Path with more than one child path (after 5.1)' -f $line }
                }
            }
        }
    }
}

Describe 'Windows PowerShell 5.1 syntax' {
    It '<Name> uses nothing Windows PowerShell 5.1 lacks' -ForEach $script:ScriptFiles {
        @(Get-WindowsPowerShell51Problem -Path $Path) | Should -BeNullOrEmpty
    }

    It 'finds each construct that 5.1 lacks' {
        $sample = Join-Path $TestDrive 'newer.ps1'
        Set-Content -LiteralPath $sample -Value @(
            '$a = $b ? 1 : 2'
            '$c = $d ?? 3'
            '$e ??= 4'
            '$f = ${g}?.Name'
            'git status && git log'
            '1..3 | ForEach-Object -Parallel { $_ }'
            'function Get-Thing { process { 1 } clean { 2 } }'
            'if ($IsWindows) { 5 }'
            '$h = Get-Content -Raw x | ConvertFrom-Json -AsHashtable'
            'Set-Content -LiteralPath x -Value y -Encoding utf8NoBOM'
            'Join-Path a b c'
        )
        $problems = @(Get-WindowsPowerShell51Problem -Path $sample)
        foreach ($expected in 'ternary', 'operator \?\?', 'operator \?\?=', 'operator \?\.', 'pipeline chain', 'ForEach-Object -Parallel', 'clean block', 'IsWindows', 'ConvertFrom-Json -AsHashtable', 'utf8NoBOM', 'more than one child path') {
            ($problems -join "`n") | Should -Match $expected
        }
    }

    It 'accepts what 5.1 has' {
        $sample = Join-Path $TestDrive 'classic.ps1'
        Set-Content -LiteralPath $sample -Value @(
            '$a = if ($b) { 1 } else { 2 }'
            'foreach ($item in 1..3) { $item }'
            '1..3 | ForEach-Object { $_ }'
            'Join-Path $env:ProgramData ''DicomGateway'''
            'Get-Content -LiteralPath x -Encoding UTF8 | ConvertFrom-Json'
        )
        @(Get-WindowsPowerShell51Problem -Path $sample) | Should -BeNullOrEmpty
    }
}
