#!/usr/bin/env bash
# Makes sure the command-line tools the letter tests read printed pages with are installed:
#   pdftoppm, pdftotext (poppler-utils)  rasterise letters and read their text (tests/letters-layout, letter-answer)
#   zbarimg (zbar-tools)                 decodes the QR code printed on a letter (tests/letter-answer)
# Missing ones are installed from Debian packages in one apt run.
set -euo pipefail

declare -A PACKAGE_OF=([pdftoppm]=poppler-utils [pdftotext]=poppler-utils [zbarimg]=zbar-tools)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${PACKAGE_OF[$tool]}")
done

if ((${#missing[@]} > 0)); then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "test tools: installing ${packages}from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $packages >/dev/null
fi
echo "test tools: $(pdftoppm -v 2>&1 | head -1); $(zbarimg --version 2>&1 | head -1)"
