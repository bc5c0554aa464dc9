#!/usr/bin/env bash
# Installs what the Pester suite needs, idempotently: PowerShell 7 as a .NET global tool
# (~/.dotnet/tools/pwsh) and Pester from NuGet into test/powershell/.modules (git-ignored).
# Usage: bash test/powershell/install-pester.sh     (PESTER_VERSION=6.2.0 to try Pester 6)
set -euo pipefail

PWSH_VERSION="${PWSH_VERSION:-7.6.9}"
PESTER_VERSION="${PESTER_VERSION:-5.7.1}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
modules="$here/.modules"
tools="$HOME/.dotnet/tools"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

installed_pwsh="$("$tools/pwsh" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null || true)"
if [ "$installed_pwsh" != "$PWSH_VERSION" ]; then
  echo "install-pester: installing PowerShell $PWSH_VERSION (found: ${installed_pwsh:-none})"
  if [ -n "$installed_pwsh" ]; then
    dotnet tool update --global PowerShell --version "$PWSH_VERSION"
  else
    dotnet tool install --global PowerShell --version "$PWSH_VERSION"
  fi
fi

target="$modules/Pester/$PESTER_VERSION"
if [ ! -f "$target/Pester.psd1" ]; then
  echo "install-pester: downloading Pester $PESTER_VERSION from NuGet"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # A throwaway project that only downloads the package: dotnet restore is NuGet's own client.
  sdk_major="$(dotnet --version | cut -d. -f1)"
  cat > "$work/download.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net${sdk_major}.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[${PESTER_VERSION}]" /></ItemGroup>
</Project>
CSPROJ
  dotnet restore "$work/download.csproj" --packages "$work/packages" --verbosity quiet
  rm -rf "$target.partial"
  mkdir -p "$target.partial"
  cp -R "$work/packages/pester/$PESTER_VERSION/tools/." "$target.partial/"
  rm -rf "$target"
  mv "$target.partial" "$target"
fi

"$tools/pwsh" -NoProfile -NonInteractive -Command "Import-Module '$target/Pester.psd1'; 'install-pester: PowerShell ' + \$PSVersionTable.PSVersion + ', Pester ' + (Get-Module Pester).Version + ' in $modules'"
