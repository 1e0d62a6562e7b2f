#!/usr/bin/env bash
# The seed's interface, kept so existing docs and pipelines work; the work is done by `invoke build`.
#   build-go-image.sh <service-name> [target] [version] [--option=value ...]
#   target: production (default, scratch), production-alpine or development; version: image tag (default: latest)
#   Options starting with "-" go to `invoke build` as they are (--dry-run, --no-cache, --registry=ghcr).
set -euo pipefail
LANGUAGE=go SCRIPT=$(basename "$0") exec bash "$(dirname "$0")/lib/build-image.sh" "$@"
