#!/usr/bin/env bash
# Shared body of build-node-image.sh and build-go-image.sh (the seed's interface): LANGUAGE and SCRIPT
# come from the caller, whose header comment is the usage text.
set -euo pipefail
: "${LANGUAGE:?}" "${SCRIPT:?}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python3}

usage() {
    sed -n 's/^#   //p' "$ROOT/scripts/$SCRIPT" | sed "1s/^/usage: /"
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
    language = load_catalog().service(service).kind
except ToolError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
if language != wanted:
    other = script.replace(wanted, language)
    print(f"error: {service} is a {language} service, not {wanted}: use scripts/{other} {service}", file=sys.stderr)
    sys.exit(2)
PY
exec "$PYTHON" -m invoke build --service "$service" --target "$target" --version "$version" "${options[@]}"
