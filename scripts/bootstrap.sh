#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine (as root): Docker engine + BuildKit client + base images
# (scripts/bootstrap-engine.sh), then this package with its test tools. Safe to run again.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/bootstrap-engine.sh"
echo "[bootstrap] pip install -e '$here[test]'"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e "$here[test]"
# pyenv installs need a rehash before new console scripts (invoke, nox) are on PATH.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
echo "[bootstrap] done: try 'invoke services'"
