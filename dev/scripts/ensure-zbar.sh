#!/usr/bin/env bash
# Makes sure zbarimg (zbar-tools) is installed: tests/letter-answer.test.ts
# decodes the QR code printed on a letter with it, from the rasterised page.
set -euo pipefail

if command -v zbarimg >/dev/null; then
  echo "zbar-tools: $(zbarimg --version 2>&1 | head -1)"
  exit 0
fi

echo "zbar-tools: not installed; installing from Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq zbar-tools >/dev/null
echo "zbar-tools: $(zbarimg --version 2>&1 | head -1)"
