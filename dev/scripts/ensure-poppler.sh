#!/usr/bin/env bash
# Makes sure pdftoppm (poppler-utils) is installed: tests/letters-layout.test.ts
# rasterises letters with it to check the envelope window pixel by pixel.
set -euo pipefail

if command -v pdftoppm >/dev/null; then
  echo "poppler-utils: $(pdftoppm -v 2>&1 | head -1)"
  exit 0
fi

echo "poppler-utils: not installed; installing from Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq poppler-utils >/dev/null
echo "poppler-utils: $(pdftoppm -v 2>&1 | head -1)"
