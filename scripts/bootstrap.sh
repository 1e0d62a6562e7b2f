#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine (as root): Docker engine + BuildKit client + base images
# (scripts/bootstrap-engine.sh), then this package with its test tools. Safe to run again.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/bootstrap-engine.sh"
echo "[bootstrap] pip install -e '$here[test]'"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e "$here[test]"
echo "[bootstrap] done: try 'invoke services'"
