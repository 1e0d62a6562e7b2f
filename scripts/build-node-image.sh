#!/usr/bin/env bash
# The seed's interface, kept so existing docs and pipelines work; the work is done by `invoke build`.
#   build-node-image.sh <service-name> [environment] [version] [--option=value ...]
#   environment: production (default) or development; version: image tag (default: latest)
#   Options starting with "-" go to `invoke build` as they are (--dry-run, --no-cache, --registry=ghcr).
set -euo pipefail
LANGUAGE=node SCRIPT=$(basename "$0") exec bash "$(dirname "$0")/lib/build-image.sh" "$@"
