"""`verify`: a structure and smoke test of a built image, in the spirit of container-structure-test.

Static checks read the image config. Runtime checks run the image hardened as production would (read-only
root filesystem, tmpfs on /tmp, every capability dropped, no-new-privileges, the port on 127.0.0.1 only),
with the HEALTHCHECK interval cut to 1 s: the Dockerfiles keep the seed's 30 s, too slow for a test.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .. import process
from ..catalog import Catalog
from ..engine import Container, Engine
from ..errors import CheckFailed
from ..plans import OCI
from ..report import Reporter, size_text
from ..settings import argument, pick, schema_key
from ..sizes import image_sizes
from . import Check, ImageRef, failed_names, print_checks, require_image

PRODUCTION_UID = 1001
NS = 1_000_000_000
HEALTH = {"interval": 1 * NS, "timeout": 3 * NS, "retries": 3, "start_period": 5 * NS}
STOP_TIMEOUT_S = 10  # what `docker stop` gives the app before SIGKILL
STOP_BUDGET_S = 2.0  # a container that handles SIGTERM stops well within this
HARDENING: dict[str, Any] = {
    "read_only": True,
    "tmpfs": {"/tmp": "rw,noexec,nosuid,size=16m"},
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
}
SHELLS = ("/bin/sh", "/bin/ash", "/bin/bash", "/bin/busybox", "/usr/bin/sh", "/usr/bin/bash")


@dataclass(frozen=True)
class VerifyResult:
    ref: ImageRef
    checks: tuple[Check, ...]

    @property
    def failed(self) -> list[str]:
        return failed_names(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.ref.service.name,
            "target": self.ref.target,
            "version": self.ref.version,
            "image": self.ref.image,
            "passed": not self.failed,
            "failed": self.failed,
            "checks": [c.to_dict() for c in self.checks],
        }


# --- Static checks: the image config only (pure) -----------------------------------------------------


def static_checks(ref: ImageRef, data: dict[str, Any], source_url: str, budget_mb: int | None) -> list[Check]:
    config = data.get("Config") or {}
    return [
        check_labels(ref, config.get("Labels") or {}, source_url),
        check_port(ref, config.get("ExposedPorts") or {}),
        check_user(ref, config.get("User") or ""),
        check_healthcheck(config.get("Healthcheck") or {}, ref.service.health_path, ref.service.language is None),
        check_size(ref, *image_sizes(data), budget_mb),
    ]


def check_labels(ref: ImageRef, labels: dict[str, str], source_url: str) -> Check:
    keys = ["title", "version", "revision", "created"] + (["source"] if source_url else [])
    missing = [key for key in keys if not labels.get(OCI + key)]
    if missing:
        return Check("labels", False, "missing OCI labels: " + ", ".join(OCI + k for k in missing))
    version = labels[OCI + "version"]
    if version != ref.version:
        return Check("labels", False, f"{OCI}version is {version!r}, expected {ref.version!r}")
    return Check("labels", True, f"{len(keys)} OCI labels, version {version}")


def check_port(ref: ImageRef, exposed: dict[str, Any]) -> Check:
    want, debug = f"{ref.service.port}/tcp", ref.service.debug_port
    allowed = {want} | ({f"{debug}/tcp"} if debug and ref.target == "development" else set())
    ports = sorted(exposed)
    if want not in exposed:
        return Check("port", False, f"exposes {', '.join(ports) or 'nothing'}; the catalog says {want}")
    extra = [p for p in ports if p not in allowed and ref.service.language]  # an own Dockerfile may expose more
    if extra:
        return Check("port", False, f"exposes {', '.join(extra)} besides {want}")
    return Check("port", True, f"exposes {', '.join(ports)}")


def expected_uid(ref: ImageRef) -> int | None:
    """Production-like targets of the built-in Dockerfiles run as UID 1001; others only have to be non-root."""
    return None if ref.target == "development" or ref.service.language is None else PRODUCTION_UID


def check_user(ref: ImageRef, user: str) -> Check:
    uid = user.split(":")[0]
    if uid in ("", "0", "root"):
        return Check("user", False, f"USER is {user or 'not set'}: the image runs as root")
    want = expected_uid(ref)
    if want is not None and uid != str(want):
        return Check("user", False, f"USER is {user}; production images use the numeric UID {want}")
    return Check("user", True, f"USER {user}")


def check_healthcheck(health: dict[str, Any], health_path: str | None = "/health", own: bool = False) -> Check:
    """The built-in images must carry a HEALTHCHECK; an own Dockerfile may rely on its health-path instead."""
    test = health.get("Test") or []
    if not has_healthcheck(health):
        if own and health_path:
            return Check("healthcheck", None, f"no HEALTHCHECK in the image; health-endpoint probes {health_path}")
        if own:
            return Check("healthcheck", False, "no HEALTHCHECK in the image and no health-path: add one of them")
        return Check("healthcheck", False, "no HEALTHCHECK in the image")
    interval = (health.get("Interval") or 30 * NS) / NS
    command = " ".join(test[1:])
    command = command if len(command) <= 40 else command[:39] + "…"
    return Check("healthcheck", True, f"{command} (every {interval:g}s in the image)")


def check_size(ref: ImageRef, download: int | None, unpacked: int, budget_mb: int | None) -> Check:
    """Budgets are on the unpacked size, as the seed's figures ("<200MB for Node.js") mean."""
    text = size_text(download, unpacked)
    if not ref.is_default_target:
        default = ref.service.default_target
        return Check("size", None, f"{text}; budgets apply to the {default} image")
    if budget_mb is None:
        return Check("size", None, f"{text}; no budget-mb for this service")
    if unpacked > budget_mb * 10**6:
        return Check("size", False, f"{text}: unpacked is over the {budget_mb} MB budget")
    return Check("size", True, f"{text} (budget {budget_mb} MB unpacked)")


def has_healthcheck(health: dict[str, Any]) -> bool:
    test = health.get("Test") or []
    return bool(test) and test[0] != "NONE"


def run_options(ref: ImageRef, health_test: list[str] | None, address: str = "127.0.0.1") -> dict[str, Any]:
    """How the smoke test runs the image: hardened, port on loopback (random host port; a remote engine's host
    publishes it on its own addresses, where the probe reaches it), fast health."""
    return {
        **HARDENING,
        "ports": {f"{ref.service.port}/tcp": (address, None)},
        "healthcheck": {"test": health_test, **HEALTH} if health_test else None,
    }


def app_binary(config: dict[str, Any]) -> str:
    """The Go binary: every Go target's HEALTHCHECK runs it (it probes itself); else the ENTRYPOINT."""
    test = (config.get("Healthcheck") or {}).get("Test") or []
    if len(test) > 1 and test[0] == "CMD":
        return test[1]
    return (config.get("Entrypoint") or ["/app"])[0]


# --- Runtime checks: a real container (always removed) ---------------------------------------------


def runtime_checks(engine: Engine, ref: ImageRef, config: dict[str, Any], timeout: float) -> list[Check]:
    test = (config.get("Healthcheck") or {}).get("Test")
    where = engine.endpoint
    with engine.container(ref.image, **run_options(ref, test, where.publish_address)) as container:
        if has_healthcheck(config.get("Healthcheck") or {}) or ref.service.language is not None:
            checks = [wait_healthy(container, timeout)]
        else:
            checks = [Check("healthy", None, "no HEALTHCHECK in the image: the health-endpoint check decides")]
        port = container.host_port(ref.service.port)
        checks.append(check_endpoint(port, ref.service.health_path, ref, host=where.probe_host))
        checks.append(check_process_user(container, ref, local=not where.remote))
        checks.append(check_stop(container))
    return checks


def wait_healthy(container: Container, timeout: float) -> Check:
    started = time.monotonic()
    while True:
        state = container.state()
        status = (state.get("Health") or {}).get("Status")
        elapsed = time.monotonic() - started
        if status == "healthy":
            return Check("healthy", True, f"healthy after {elapsed:.1f}s")
        if not state.get("Running"):
            return Check("healthy", False, f"container exited (code {state.get('ExitCode')}): {_last_log(container)}")
        if status in (None, "unhealthy") or elapsed > timeout:
            return Check("healthy", False, f"{status or 'no health status'} after {elapsed:.1f}s: {_last_probe(state)}")
        time.sleep(0.25)


def _last_probe(state: dict[str, Any]) -> str:
    log = (state.get("Health") or {}).get("Log") or []
    if not log:
        return "no probe ran"
    output = " ".join((log[-1].get("Output") or "").split())[:120]
    return f"last probe exit {log[-1].get('ExitCode')}" + (f", {output}" if output else "")


def _last_log(container: Container) -> str:
    lines = container.logs(tail=5).strip().splitlines()
    return lines[-1][:160] if lines else "no output"


def check_endpoint(
    port: int | None, path: str | None, ref: ImageRef | None = None, timeout: float = 10.0, host: str = "127.0.0.1"
) -> Check:
    """GET the health path where the container listens: this machine's loopback, or a remote engine's host (then
    the detail names the URL, so it is plain where it was probed)."""
    if path is None:
        return Check("health-endpoint", None, "no health-path: the image's HEALTHCHECK is the health check")
    if port is None:
        return Check("health-endpoint", False, "no published port: the container is not running")
    url = f"http://{host}:{port}{path}"
    shown = path if host == "127.0.0.1" else url
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, ctype, body = process.http_get(url)
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                return Check("health-endpoint", False, f"GET {shown}: {exc}")
            time.sleep(0.3)
    if ref is not None and ref.service.language is None:  # an own Dockerfile: any service, not our /health JSON
        return Check("health-endpoint", status == 200, f"GET {shown} answered {status}")
    return judge_health_response(shown, status, ctype, body)


def judge_health_response(path: str, status: int, ctype: str, body: bytes) -> Check:
    if status != 200:
        return Check("health-endpoint", False, f"GET {path} answered {status}")
    try:
        doc = json.loads(body)
    except ValueError:
        return Check("health-endpoint", False, f"GET {path}: 200 but not JSON ({ctype or 'no content type'})")
    if not isinstance(doc, dict) or "status" not in doc:
        return Check("health-endpoint", False, f'GET {path}: JSON without a "status" field')
    return Check("health-endpoint", True, f"GET {path}: 200, status {doc['status']!r}")


def check_process_user(container: Container, ref: ImageRef, local: bool = True) -> Check:
    """The UID from /proc when the engine runs here (a remote engine's PIDs are another machine's), else docker top."""
    pid = container.state().get("Pid") or 0
    uid = process.process_uid(pid) if pid and local else None
    if uid is None:
        uid = container.process_uid(pid)
    want = expected_uid(ref)
    if uid is None:
        return Check("process-user", False, "could not read the UID of the container's main process")
    if uid == 0 or (want is not None and uid != want):
        return Check("process-user", False, f"main process runs as UID {uid}, expected {want or 'non-root'}")
    return Check("process-user", True, f"main process runs as UID {uid}")


def check_stop(container: Container) -> Check:
    state = container.state()
    if not state.get("Running"):
        return Check("stop", False, f"container was no longer running (exit {state.get('ExitCode')})")
    started = time.monotonic()
    container.stop(timeout=STOP_TIMEOUT_S)
    elapsed = time.monotonic() - started
    code = container.state().get("ExitCode")
    if elapsed > STOP_BUDGET_S:
        return Check(
            "stop",
            False,
            f"docker stop took {elapsed:.1f}s (exit {code}): SIGTERM did not stop the app; use an exec-form "
            "ENTRYPOINT so the app (or dumb-init) is PID 1, and handle SIGTERM",
        )
    return Check("stop", True, f"stopped in {elapsed:.2f}s (exit {code})")


def check_version_flag(engine: Engine, ref: ImageRef, config: dict[str, Any]) -> Check:
    if ref.service.kind != "go":
        return Check("version-flag", None, "only the Go binaries take --version")
    binary = app_binary(config)
    with engine.container(ref.image, entrypoint=[binary], command=["--version"], **HARDENING) as container:
        try:
            code = container.wait(timeout=30)
        except OSError as exc:
            return Check("version-flag", False, f"{binary} --version did not finish: {exc}")
        output = container.logs()
    if code != 0 or ref.version not in output.split():
        first = output.strip().splitlines()[0] if output.strip() else "no output"
        detail = f"{binary} --version (exit {code}) printed {first[:80]!r}, not {ref.version}"
        return Check("version-flag", False, detail)
    return Check("version-flag", True, f"{binary} --version prints {ref.version}")


def check_no_shell(engine: Engine, ref: ImageRef) -> Check:
    if ref.service.kind != "go" or not ref.is_default_target:
        return Check("no-shell", None, "only the scratch image (Go production) must have no shell")
    with engine.container(ref.image, start=False) as container:
        found = [path for path in SHELLS if engine.path_exists(container, path)]
    if found:
        return Check("no-shell", False, f"the scratch image contains {', '.join(found)}")
    return Check("no-shell", True, f"none of {len(SHELLS)} shell paths exist")


# --- The task ----------------------------------------------------------------------------------------


def budget_for(catalog: Catalog, ref: ImageRef, override: str | int | None = None) -> int | None:
    """--budget-mb (read like the key), then the service's budget-mb, then the language's (an own Dockerfile
    has none): the catalog has them all."""
    if override:
        return argument(schema_key("services.*", "budget-mb").checker, override, "--budget-mb")
    return ref.service.budget_mb or catalog.budgets_mb.get(ref.service.kind)


def verify(
    catalog: Catalog,
    ref: ImageRef,
    out: Reporter,
    *,
    timeout: str | float | None = None,
    budget_mb: str | int | None = None,
    engine: Engine | None = None,
) -> VerifyResult:
    """Run every check, print the table (or JSON), raise CheckFailed naming the failed checks."""
    wait = pick(catalog.settings, "verify", "health-timeout", timeout, "--timeout")
    budget = budget_for(catalog, ref, budget_mb)
    engine = engine or Engine()
    engine.ping()
    data = require_image(engine, ref, sized=True)
    config = data.get("Config") or {}
    announce(ref, config, out)
    checks = static_checks(ref, data, catalog.source_url, budget)
    checks += runtime_checks(engine, ref, config, wait)
    checks += [check_version_flag(engine, ref, config), check_no_shell(engine, ref)]
    result = VerifyResult(ref, tuple(checks))
    render(result, out)
    return result


def announce(ref: ImageRef, config: dict[str, Any], out: Reporter) -> None:
    out.info(f"Verifying {ref.image} ({ref.service.kind}, target {ref.target})")
    interval = ((config.get("Healthcheck") or {}).get("Interval") or 30 * NS) / NS
    out.info(
        f"Health check interval overridden to {HEALTH['interval'] // NS}s for this run (the image says {interval:g}s); "
        "read-only root, tmpfs /tmp, all capabilities dropped"
    )


def render(result: VerifyResult, out: Reporter) -> None:
    print_checks(out, f"verify {result.ref.image}", result.checks)
    if out.json_mode:
        out.emit_json(result.to_dict())
    if result.failed:
        raise CheckFailed(
            f"verify failed for {result.ref.image}: {', '.join(result.failed)} "
            f"({len(result.failed)} of {len(result.checks)} checks; see the table)"
        )
    out.success(f"All {len(result.checks)} checks passed for {result.ref.image}")
