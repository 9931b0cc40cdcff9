#!/usr/bin/env bash
# Makes sure the programs the tests drive are installed:
#   pdftoppm, pdftotext (poppler-utils)  rasterise letters and read their text (tests/letters-layout, letter-answer)
#   zbarimg (zbar-tools)                 decodes the QR code printed on a letter (tests/letter-answer)
#   chromium (chromium)                  the headless browser of the staff console's tests (tests/browser/), driven
#                                        by playwright-core, which downloads no browser of its own
#   Noto Sans CJK (fonts-noto-cjk)       so Japanese renders in the console's screenshots, not as empty boxes
# Missing ones are installed from Debian packages in one apt run.
set -euo pipefail

declare -A PACKAGE_OF=([pdftoppm]=poppler-utils [pdftotext]=poppler-utils [zbarimg]=zbar-tools [chromium]=chromium)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${PACKAGE_OF[$tool]}")
done
# A font is no command: ask fontconfig whether a CJK face is there.
if ! fc-list :lang=ja 2>/dev/null | grep -qi 'Noto Sans CJK'; then
  missing+=(fonts-noto-cjk)
fi

if ((${#missing[@]} > 0)); then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "test tools: installing ${packages}from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $packages >/dev/null
fi
echo "test tools: $(pdftoppm -v 2>&1 | head -1); $(zbarimg --version 2>&1 | head -1); $(chromium --version 2>/dev/null | head -1); $(fc-list :lang=ja family | grep -c 'Noto Sans CJK') Noto CJK faces"
