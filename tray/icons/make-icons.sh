#!/usr/bin/env bash
# Regenerates the tray icons (committed): a filled disc per state, PNG for Linux/macOS, ICO (16/24/32/48) for Windows.
# Needs ImageMagick's `convert`. Run from anywhere: bash tray/icons/make-icons.sh
set -euo pipefail
cd "$(dirname "$0")"
declare -A COLOURS=([green]='#2e9d4a' [amber]='#e8a317' [red]='#d32f2f' [grey]='#8a8a8a')
for name in "${!COLOURS[@]}"; do
  convert -size 64x64 xc:none -fill "${COLOURS[$name]}" -stroke '#ffffff' -strokewidth 4 -draw 'circle 32,32 32,5' \
    -resize 32x32 -strip -define png:exclude-chunks=date,time "$name.png"
  convert -size 64x64 xc:none -fill "${COLOURS[$name]}" -stroke '#ffffff' -strokewidth 4 -draw 'circle 32,32 32,5' \
    -define icon:auto-resize=48,32,24,16 -strip "$name.ico"
done
