"""Every command-line option, worded once (keyed by its name), and the parsing of the raw values front ends pass.

A task's help is `help_for(task, its parameters)`: "<task>.<option>" where one verb means something of its
own by the name, else the option's one wording. Defaults that live in the settings schema are read from it.
"""

from __future__ import annotations

from typing import Any

from . import platforms
from .errors import UsageError
from .plans import BuildOptions
from .settings import schema_key

SIGN_KEY = "cosign key: a file (password in $COSIGN_PASSWORD), env://VAR or a KMS URI"

HELP: dict[str, str] = {
    "service": "service folder under services/ (see 'invoke services')",
    "target": "build stage: production (default), development, production-alpine (go)",
    "version": "the image's version tag, e.g. v1.2.3 (default: latest)",
    "registry": "registry profile: ghcr, dockerhub, private or one from pyproject.toml (default: its registry key)",
    "dry-run": "print what would be done (the commands, the references) and change nothing",
    "json": "print the result as JSON on stdout",
    "build-arg": "extra build argument NAME=VALUE (repeatable)",
    "no-cache": "build without the layer cache (and without the up-to-date check)",
    "rebuild": "build even when the image's input digest says it is up to date (keeps the layer cache)",
    "platform": "target platforms, e.g. linux/amd64,linux/arm64 (several: one OCI index)",
    "cache": "'registry': import and export BuildKit's cache (mode=max) beside the image in its registry",
    "provenance": "provenance attestation: min, max or off (default: min for publish, off for a local build)",
    "reproducible": "file times clamped to the commit time: the same digest on every machine (publish: default on)",
    "refresh": "fresh base images from their registry, OS packages (apk) not taken from the cache",
    "if-changed": "push (and sign) only when the rebuilt digests differ from the registry's (weekly refresh)",
    "reproduce": "instead: rebuild this commit and compare each platform's digest with the registry's",
    "cache-from": "extra cache source, e.g. type=registry,ref=host/repo:cache (repeatable)",
    "cache-to": "extra cache export, e.g. type=inline (repeatable)",
    "builder": "buildx builder name (remote BuildKit, kubernetes driver...)",
    "ca-bundle": "extra CA bundle (PEM) given to the build as a secret; default $SOS_CA_BUNDLE",
    "progress": "BuildKit progress output: auto, plain, tty, quiet",
    "semver": "require a semantic version and push MAJOR.MINOR.PATCH, MAJOR.MINOR, MAJOR too",
    "sha": "also push sha-<short commit>",
    "latest": "push 'latest' for a release of the default target (--no-latest to skip)",
    "force": "overwrite a version or sha- tag that holds other content, deliberately (the new digest is signed)",
    "force-tags": "move floating tags (latest, MAJOR, MAJOR.MINOR) even to a lower version, or without a tag list",
    "sign": "then sign the pushed digest and attest its SBOM with cosign (a digest signed by this key is skipped)",
    "key": f"{SIGN_KEY}; default [tool.sos-images.sign] key",
    "keyless": "keyless signing (CI's OIDC token, Fulcio and Rekor) instead of a key",
    "tlog-upload": "also record the signature in the Rekor transparency log",
    "format": "SBOM format: cyclonedx-json (default) or spdx-json",
    "output": "SBOM file (default: reports/sbom-<service>-<tag>.cdx.json or .spdx.json)",
    "language": "only the services of this language: node or go",
    "jobs": "builds at once (default: the number of CPUs, at most 4)",
    "log-dir": "folder for the per-build logs (default: reports/logs)",
    "since": "git reference to compare with, e.g. origin/main or HEAD~1",
    "timeout": "seconds to wait until healthy (default: [tool.sos-images.{table}] {key}, else {default:g})",
    "budget-mb": "size budget, MB (default: catalog)",
    "signed": "instead: check the pushed image's cosign signature and SBOM attestation (before deploy)",
    "file": "lint this Dockerfile instead of dockerfiles/Dockerfile.* (repeatable)",
    "trivy": "also run trivy config: auto (when installed, default), always, never",
    "severity": "severities to report, e.g. CRITICAL,HIGH (default: pyproject.toml)",
    "fail-on": "severities that fail the scan (default: --severity)",
    "ignore-unfixed": "leave out vulnerabilities without a fixed version",
    "scanners": "what Trivy looks for: vuln,secret (default), misconfig, license",
    "skip-db-update": "use the vulnerability database already in Trivy's cache",
    "db-repository": "OCI repository of the vulnerability database (a mirror)",
    "offline": "no network: no API calls, built-in misconfiguration checks",
    "if-available": "skip with a warning when Trivy is not installed",
    "max-wasted-bytes": "fail above this many wasted bytes, e.g. 10MB (default: pyproject.toml)",
    "min-efficiency": "fail below this efficiency, e.g. 0.95 or 95% (default: pyproject.toml)",
    "max-user-wasted-percent": "fail above this share of the bytes above the base layer wasted, e.g. 0.1",
    "ci-config": "a dive CI file whose rules apply (default: .dive-ci at the repository root, if any)",
    "env": "environment variable NAME=VALUE, or NAME to pass yours on (repeatable)",
    "env-file": "file of NAME=VALUE lines for the container",
    "port": "host port of the service (default: its catalog port, see README)",
    "debug-port": "host port of the debugger (Node inspector, Delve)",
    "no-build": "run the image as it is, without building first",
    "production": "the production targets (compose.production.yaml) instead of development",
    "watch": "then watch: Go edits rebuild and restart, Node edits reload (Ctrl-C stops watching)",
    "follow": "keep following the logs",
    "tail": "lines per service",
    "check": "fail if the files differ from the catalog instead of writing them (CI)",
    "by-digest": "build the one --platform given, push it by digest (no tag); then 'invoke merge' (one runner each)",
    "digests": "folder of the per-platform digest records (default: reports/digests; CI carries it as an artifact)",
    "summary": "append a Markdown job summary to this file (e.g. $GITHUB_STEP_SUMMARY)",
    "publish.verify": "with --by-digest: smoke-test the image on this runner before pushing (its platform only)",
    "merge.service": "service whose platform digests to join (each pushed by 'invoke publish --by-digest')",
    "merge.sign": "then sign the index and attest its SBOM with cosign",
    # Where one verb means something of its own by a name:
    "push.dry-run": "read the registry; print which tags would be created, moved, kept or refused; push nothing",
    "publish.dry-run": "build locally (for the digest), read the registry, print which tags would be created, "
    "moved, kept or refused; push and sign nothing",
    "publish.service": "service to build (named for the registry), push and, with --sign, sign",
    "build-all.target": "build this target of every service; 'all' for every target (default: production)",
    "build-all.cache-from": "cache source per build; {{service}} and {{target}} are filled in (repeatable)",
    "bake-file.file": "where to write the bake definition ('-': stdout; default docker-bake.json)",
    "bake-file.target": "this target of every service; 'all' for every target (default: production)",
    "bake-file.since": "only the services a change since this git ref affects (see 'invoke affected')",
    "build-all.since": "only the services a change since this git ref affects (see 'invoke affected')",
    "run.target": "build stage (default development: sources mounted for Node, debugger port published)",
    "up.service": "service to start (repeatable; default: all)",
    "logs.service": "service whose logs to show (repeatable; default: all)",
    "verify.key": "with --signed: the public key (default [tool.sos-images.sign] public-key)",
    "sign.key": f"{SIGN_KEY} (default [tool.sos-images.sign] key)",
    "scan.format": "report format: table (default), json, sarif",
    "scan.output": "write the report to this file instead of the terminal",
}

TIMEOUTS = {"verify": ("verify", "health-timeout"), "run": ("run", "timeout"), "up": ("up", "timeout")}


def help_for(task: str, names: list[str]) -> dict[str, str]:
    """The help of each option of one task (KeyError: an option nobody has worded yet)."""
    return {name: _help(task, name) for name in names}


def _help(task: str, name: str) -> str:
    text = HELP.get(f"{task}.{name}") or HELP[name]
    if name == "timeout":
        table, key = TIMEOUTS[task]
        return text.format(table=table, key=key, default=schema_key(table, key).default)
    return text.replace("{{", "{").replace("}}", "}")


def given(value: Any) -> Any:
    """Invoke's unset options are '' or None: both mean 'not given'."""
    return value or None


def whole_number(flag: str, value: str) -> int | None:
    """Invoke's own int conversion ends in a traceback on bad input; ours is one line."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a whole number (e.g. {flag} 2)") from None


BUILD_FIELDS = [
    "version",
    "target",
    "build_arg",
    "no_cache",
    "rebuild",
    "platform",
    "cache",
    "provenance",
    "refresh",
    "cache_from",
    "cache_to",
    "builder",
    "ca_bundle",
    "progress",
    "registry",
]


def build_options(values: dict[str, Any], **extra: Any) -> BuildOptions:
    """The one place CLI values become BuildOptions: '' and None mean 'not given'; unknown keys are ignored."""
    picked = {name: values[name] for name in BUILD_FIELDS if name in values}
    picked["build_args"] = tuple(picked.pop("build_arg", None) or ())
    picked["platforms"] = platforms.parse(picked.pop("platform", ""))
    for name in ("cache_from", "cache_to"):
        picked[name] = tuple(picked.get(name) or ())
    for name in ("target", "builder", "ca_bundle", "registry", "provenance"):
        picked[name] = picked.get(name) or None
    if "reproducible" in values:  # build: off unless asked; publish: on where the engine can, --no-reproducible
        on = values["reproducible"]
        picked["reproducible"] = (None if on else False) if extra.get("release") else (True if on else None)
    return BuildOptions(**picked, **extra)
