#!/usr/bin/env bash
# The seed's interface, kept so existing docs and pipelines work; the work is done by `invoke build`.
#   build-go-image.sh <service-name> [target] [version] [--option=value ...]
#   target: production (default, scratch), production-alpine or development; version: image tag (default: latest)
#   Options starting with "-" go to `invoke build` as they are (--dry-run, --no-cache, --registry=ghcr).
set -euo pipefail
LANGUAGE=go
SCRIPT=$(basename "$0")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}

usage() {
    sed -n 's/^#   //p' "$0" | sed "1s/^/usage: /"
}

positional=() options=()
for arg in "$@"; do
    case "$arg" in
        -h|--help) usage; exit 0 ;;
        -*) options+=("$arg") ;;
        *) positional+=("$arg") ;;
    esac
done
if [[ ${#positional[@]} -lt 1 || ${#positional[@]} -gt 3 ]]; then
    usage >&2
    exit 2
fi
service=${positional[0]} target=${positional[1]:-production} version=${positional[2]:-latest}

cd "$ROOT"
# The language comes from the catalog, like everything else: a service of the other language is refused.
"$PYTHON" - "$service" "$LANGUAGE" "$SCRIPT" <<'PY'
import sys

from sos_images.catalog import load_catalog
from sos_images.errors import ToolError

service, wanted, script = sys.argv[1:]
try:
    language = load_catalog().service(service).language.name
except ToolError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
if language != wanted:
    other = script.replace(wanted, language)
    print(f"error: {service} is a {language} service, not {wanted}: use scripts/{other} {service}", file=sys.stderr)
    sys.exit(2)
PY
exec "$PYTHON" -m invoke build --service "$service" --target "$target" --version "$version" "${options[@]}"
