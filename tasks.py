"""SOS App image tasks. `invoke --list` is the table of contents; the logic lives in src/sos_images."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from invoke import Collection, Context, Exit, task

from sos_images import catalog as catalog_mod
from sos_images.errors import ToolError, UsageError
from sos_images.report import Reporter


def edge(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the package's typed errors into one line and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(c: Context, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(c, *args, **kwargs)
        except ToolError as exc:
            raise Exit(f"error: {exc}", code=exc.exit_code) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None

    return wrapper


def _int_option(flag: str, value: str) -> int | None:
    """Invoke's own int conversion ends in a traceback on bad input; ours is one line."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a whole number (e.g. {flag} 2)") from None


def _catalog() -> catalog_mod.Catalog:
    return catalog_mod.load_catalog()


@task(help={"json": "print the catalog as JSON"})
@edge
def services(c: Context, json: bool = False) -> None:
    """List the services: language, targets, port."""
    from sos_images.commands import list_services

    list_services(_catalog(), Reporter(json))


@task(
    help={
        "service": "service folder under services/ (see 'invoke services')",
        "target": "build stage: production (default), development, production-alpine (go)",
        "version": "image tag, e.g. v1.0.0 (default: latest)",
        "build-arg": "extra build argument NAME=VALUE (repeatable)",
        "no-cache": "build without the layer cache",
        "platform": "target platform, e.g. linux/arm64",
        "cache-from": "cache source, e.g. type=registry,ref=host/repo:cache (repeatable)",
        "cache-to": "cache export, e.g. type=inline (repeatable)",
        "builder": "buildx builder name (remote BuildKit, kubernetes driver...)",
        "ca-bundle": "extra CA bundle (PEM) given to the build as a secret; default $SOS_CA_BUNDLE",
        "registry": "registry profile the image name points at (default from pyproject.toml)",
        "progress": "BuildKit progress output: auto, plain, tty, quiet",
        "dry-run": "print the docker command and build nothing",
        "json": "print the build report as JSON on stdout",
    },
    iterable=["build_arg", "cache_from", "cache_to"],
)
@edge
def build(
    c: Context,
    service: str = "",
    target: str = "",
    version: str = "latest",
    build_arg: list[str] | None = None,
    no_cache: bool = False,
    platform: str = "",
    cache_from: list[str] | None = None,
    cache_to: list[str] | None = None,
    builder: str = "",
    ca_bundle: str = "",
    registry: str = "",
    progress: str = "auto",
    dry_run: bool = False,
    json: bool = False,
) -> None:
    """Build one service image with BuildKit (pre-build checks, labels, report)."""
    from sos_images.build import build as run_build
    from sos_images.plans import BuildOptions

    options = BuildOptions(
        version=version,
        target=target or None,
        build_args=tuple(build_arg or ()),
        no_cache=no_cache,
        platform=platform or None,
        cache_from=tuple(cache_from or ()),
        cache_to=tuple(cache_to or ()),
        builder=builder or None,
        ca_bundle=ca_bundle or None,
        progress=progress,
        registry=registry or None,
    )
    out = Reporter(json)
    result = run_build(_catalog(), service, options, out, dry_run=dry_run)
    if json:
        out.emit_json(result.to_dict())


@task(help={"registry": "registry profile: ghcr, dockerhub, private or one from pyproject.toml"})
@edge
def login(c: Context, registry: str = "") -> None:
    """Log in to a registry with credentials from the environment (password via stdin)."""
    from sos_images.registry import login as do_login

    do_login(_catalog(), registry or None, Reporter())


PUSH_HELP = {
    "service": "service to push (built first with 'invoke build')",
    "registry": "registry profile: ghcr, dockerhub, private or one from pyproject.toml",
    "version": "version that was built, e.g. v1.2.3 (default: latest)",
    "target": "build target that was built (default: production)",
    "semver": "require a semantic version and push MAJOR.MINOR.PATCH, MAJOR.MINOR, MAJOR too",
    "sha": "also push sha-<short commit>",
    "latest": "push 'latest' for a release of the default target (--no-latest to skip)",
    "dry-run": "print the references that would be pushed, push nothing",
    "json": "print the pushed references and digests as JSON",
}


@task(help=PUSH_HELP)
@edge
def push(
    c: Context,
    service: str = "",
    registry: str = "",
    version: str = "latest",
    target: str = "",
    semver: bool = False,
    sha: bool = False,
    latest: bool = True,
    dry_run: bool = False,
    json: bool = False,
) -> None:
    """Tag a built image with the release tag policy and push every tag."""
    from sos_images.commands import push_service

    push_service(
        _catalog(),
        service,
        registry,
        version,
        target,
        Reporter(json),
        semver=semver,
        sha=sha,
        latest=None if latest else False,
        dry_run=dry_run,
    )


PUBLISH_HELP = {k: v for k, v in PUSH_HELP.items() if k != "dry-run"} | {
    "build-arg": "extra build argument NAME=VALUE (repeatable)",
    "no-cache": "build without the layer cache",
}


@task(help=PUBLISH_HELP, iterable=["build_arg"])
@edge
def publish(
    c: Context,
    service: str = "",
    registry: str = "",
    version: str = "latest",
    target: str = "",
    build_arg: list[str] | None = None,
    no_cache: bool = False,
    semver: bool = False,
    sha: bool = False,
    latest: bool = True,
    json: bool = False,
) -> None:
    """Build then push one service, stopping at the first failure."""
    from sos_images.build import build as run_build
    from sos_images.commands import push_service
    from sos_images.plans import BuildOptions

    catalog, out = _catalog(), Reporter(json)
    options = BuildOptions(
        version=version,
        target=target or None,
        build_args=tuple(build_arg or ()),
        no_cache=no_cache,
    )
    run_build(catalog, service, options, out)
    push_service(
        catalog, service, registry, version, target, out, semver=semver, sha=sha, latest=None if latest else False
    )


@task(
    help={
        "target": "build this target of every service; 'all' for every target (default: production)",
        "language": "only the services of this language: node or go",
        "jobs": "builds at once (default: the number of CPUs, at most 4)",
        "version": "image tag of every image, e.g. v1.0.0 (default: latest)",
        "no-cache": "build without the layer cache",
        "cache-from": "cache source per build; {service} and {target} are filled in (repeatable)",
        "cache-to": "cache export per build, e.g. type=inline (repeatable)",
        "builder": "buildx builder name (remote BuildKit, kubernetes driver...)",
        "registry": "registry profile the image names point at (default from pyproject.toml)",
        "log-dir": "folder for the per-build logs (default: reports/logs)",
        "dry-run": "print every build command and build nothing",
        "json": "print the results as JSON on stdout",
    },
    iterable=["cache_from", "cache_to"],
)
@edge
def build_all(
    c: Context,
    target: str = "",
    language: str = "",
    jobs: str = "",
    version: str = "latest",
    no_cache: bool = False,
    cache_from: list[str] | None = None,
    cache_to: list[str] | None = None,
    builder: str = "",
    registry: str = "",
    log_dir: str = "",
    dry_run: bool = False,
    json: bool = False,
) -> None:
    """Build many images in parallel, one log per build, a summary table; exit 1 if any failed."""
    from pathlib import Path

    from sos_images.buildall import build_all as run_all
    from sos_images.plans import BuildOptions

    options = BuildOptions(
        version=version,
        no_cache=no_cache,
        cache_from=tuple(cache_from or ()),
        cache_to=tuple(cache_to or ()),
        builder=builder or None,
        registry=registry or None,
    )
    run_all(
        _catalog(),
        options,
        Reporter(json),
        language=language or None,
        target=target or None,
        jobs=_int_option("--jobs", jobs),
        log_dir=Path(log_dir) if log_dir else None,
        dry_run=dry_run,
    )


IMAGE_HELP = {
    "service": "service whose built image to check (see 'invoke services')",
    "target": "build target that was built (default: production)",
    "version": "version that was built, e.g. v1.2.3 (default: latest)",
    "registry": "registry profile the image name points at (default from pyproject.toml)",
    "json": "print the result as JSON on stdout",
}


def _image(service: str, target: str, version: str, registry: str) -> tuple[catalog_mod.Catalog, Any]:
    from sos_images.checks import image_ref

    catalog = _catalog()
    return catalog, image_ref(catalog, service, target, version, registry)


@task(
    help=IMAGE_HELP
    | {"timeout": "seconds to wait for healthy (default 60)", "budget-mb": "size budget, MB (default: catalog)"}
)
@edge
def verify(
    c: Context,
    service: str = "",
    target: str = "",
    version: str = "latest",
    registry: str = "",
    timeout: str = "",
    budget_mb: str = "",
    json: bool = False,
) -> None:
    """Smoke-test a built image: hardened run, health, user, labels, port, signals, size."""
    from sos_images.checks.verify import verify as run_verify

    catalog, ref = _image(service, target, version, registry)
    run_verify(catalog, ref, Reporter(json), timeout=timeout, budget_mb=budget_mb)


@task(
    help={
        "file": "lint this Dockerfile instead of dockerfiles/Dockerfile.* (repeatable)",
        "trivy": "also run trivy config: auto (when installed, default), always, never",
        "json": "print the findings as JSON on stdout",
    },
    iterable=["file"],
)
@edge
def lint(c: Context, file: list[str] | None = None, trivy: str = "", json: bool = False) -> None:
    """Lint the Dockerfiles with hadolint (.hadolint.yaml) and trivy config."""
    from sos_images.checks.lint import lint as run_lint

    run_lint(_catalog(), Reporter(json), files=tuple(file or ()), trivy=trivy)


@task(
    help=IMAGE_HELP
    | {
        "severity": "severities to report, e.g. CRITICAL,HIGH (default: pyproject.toml)",
        "fail-on": "severities that fail the scan (default: --severity)",
        "ignore-unfixed": "leave out vulnerabilities without a fixed version",
        "format": "report format: table (default), json, sarif",
        "output": "write the report to this file instead of the terminal",
        "scanners": "what Trivy looks for: vuln,secret (default), misconfig, license",
        "skip-db-update": "use the vulnerability database already in Trivy's cache",
        "db-repository": "OCI repository of the vulnerability database (a mirror)",
        "offline": "no network: no API calls, built-in misconfiguration checks",
        "if-available": "skip with a warning when Trivy is not installed",
    }
)
@edge
def scan(
    c: Context,
    service: str = "",
    target: str = "",
    version: str = "latest",
    registry: str = "",
    severity: str = "",
    fail_on: str = "",
    ignore_unfixed: bool = False,
    format: str = "",
    output: str = "",
    scanners: str = "",
    skip_db_update: bool = False,
    db_repository: str = "",
    offline: bool = False,
    if_available: bool = False,
    json: bool = False,
) -> None:
    """Scan a built image with Trivy; fail on findings at the gating severities."""
    from sos_images.checks.scan import scan as run_scan

    catalog, ref = _image(service, target, version, registry)
    run_scan(
        catalog,
        ref,
        Reporter(json),
        if_available=if_available,
        severity=severity,
        fail_on=fail_on,
        ignore_unfixed=ignore_unfixed,
        output_format=format,
        output=output,
        scanners=scanners,
        skip_db_update=skip_db_update,
        db_repository=db_repository,
        offline=offline,
    )


@task(
    help=IMAGE_HELP
    | {
        "format": "cyclonedx-json (default) or spdx-json",
        "output": "SBOM file (default: reports/sbom-<service>-<tag>.cdx.json or .spdx.json)",
    }
)
@edge
def sbom(
    c: Context,
    service: str = "",
    target: str = "",
    version: str = "latest",
    registry: str = "",
    format: str = "",
    output: str = "",
    json: bool = False,
) -> None:
    """Write the SBOM of a built image with syft."""
    from sos_images.checks.sbom import sbom as run_sbom

    catalog, ref = _image(service, target, version, registry)
    run_sbom(catalog, ref, Reporter(json), fmt=format, output=output)


@task(
    help=IMAGE_HELP
    | {
        "max-wasted-bytes": "fail above this many wasted bytes, e.g. 10MB (default: pyproject.toml)",
        "min-efficiency": "fail below this efficiency, e.g. 0.95 or 95% (default: pyproject.toml)",
    }
)
@edge
def layers(
    c: Context,
    service: str = "",
    target: str = "",
    version: str = "latest",
    registry: str = "",
    max_wasted_bytes: str = "",
    min_efficiency: str = "",
    json: bool = False,
) -> None:
    """Per-layer sizes and instructions, wasted bytes and efficiency, as dive's CI mode."""
    from sos_images.checks.layers import layers as run_layers

    catalog, ref = _image(service, target, version, registry)
    run_layers(catalog, ref, Reporter(json), max_wasted=max_wasted_bytes, min_efficiency=min_efficiency)


DEV_HELP = {
    "service": "service to run (see 'invoke services'); repeatable for up and logs",
    "production": "the production targets (compose.production.yaml) instead of development",
}


@task(
    help={
        "service": "service to run (see 'invoke services')",
        "target": "build stage (default development: sources mounted for Node, debugger port published)",
        "version": "image version to build and run (default latest)",
        "env": "environment variable NAME=VALUE, or NAME to pass yours on (repeatable)",
        "env-file": "file of NAME=VALUE lines for the container",
        "port": "host port of the service (default: its catalog port, see README)",
        "debug-port": "host port of the debugger (Node inspector, Delve)",
        "timeout": "seconds to wait until healthy (default 90)",
        "no-build": "run the image as it is, without building first",
    },
    iterable=["env"],
)
@edge
def run(
    c: Context,
    service: str = "",
    target: str = "development",
    version: str = "latest",
    env: list[str] | None = None,
    env_file: str = "",
    port: str = "",
    debug_port: str = "",
    timeout: str = "",
    no_build: bool = False,
) -> None:
    """Run one service on its host ports until Ctrl-C: build, wait healthy, print URL and debugger attach."""
    from sos_images.devrun import RunOptions, run_service

    options = RunOptions(
        target=target,
        version=version,
        env=tuple(env or ()),
        env_file=env_file,
        port=_int_option("--port", port),
        debug_port=_int_option("--debug-port", debug_port),
        timeout=_int_option("--timeout", timeout) or 90,
        build=not no_build,
    )
    run_service(_catalog(), service, options, Reporter())


@task(
    help=DEV_HELP
    | {
        "watch": "then watch: Go edits rebuild and restart, Node edits reload (Ctrl-C stops watching)",
        "timeout": "seconds to wait until healthy (default 180)",
    },
    iterable=["service"],
)
@edge
def up(
    c: Context, service: list[str] | None = None, production: bool = False, watch: bool = False, timeout: str = ""
) -> None:
    """Start the stack (or some services) with Compose, wait healthy, print URLs and debugger ports."""
    from sos_images.stack import up as stack_up

    wait = _int_option("--timeout", timeout) or 180
    stack_up(_catalog(), service or [], Reporter(), production=production, watch=watch, timeout=wait)


@task
@edge
def down(c: Context) -> None:
    """Stop the stack and remove its containers, networks and volumes."""
    from sos_images.stack import down as stack_down

    stack_down(_catalog(), Reporter())


@task(
    help={"service": DEV_HELP["service"], "follow": "keep following the logs", "tail": "lines per service"},
    iterable=["service"],
)
@edge
def logs(c: Context, service: list[str] | None = None, follow: bool = False, tail: str = "") -> None:
    """Show the stack's logs (all services or some)."""
    from sos_images.stack import logs as stack_logs

    stack_logs(_catalog(), service or [], follow=follow, tail=tail)


@task(help={"check": "fail if the files differ from the catalog instead of writing them (CI)"})
@edge
def compose(c: Context, check: bool = False) -> None:
    """Write compose.yaml and compose.production.yaml from the catalog."""
    from sos_images.stack import write_files

    changed = write_files(_catalog(), Reporter(), check=check)
    if not changed:
        Reporter().success("compose.yaml and compose.production.yaml match the catalog")


ns = Collection(
    services, build, login, push, publish, build_all, verify, lint, scan, sbom, layers, run, up, down, logs, compose
)
