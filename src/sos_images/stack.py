"""`up`, `down`, `logs`, `compose`: the Compose file made from the catalog, run through the Compose CLI.

Every command names the project (`-p`, as Compose itself would name it) and the file, so the tool and a plain
`docker compose` in the repository act on the same containers. A failed or interrupted `up` takes down what
it started: no container, network or volume is left behind.
"""

from __future__ import annotations

import math
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import compose, endpoint, libstage, process
from .catalog import Catalog
from .engine import Engine
from .errors import CheckFailed, CommandFailed, UsageError, tool_json
from .report import Reporter
from .settings import schema_key

PROJECT_LABEL = "com.docker.compose.project"


@dataclass(frozen=True)
class Stack:
    catalog: Catalog
    cli: tuple[str, ...]
    project: str
    mode: str = "development"

    @property
    def file(self) -> Path:
        return compose.file_path(self.catalog, self.mode)

    def argv(self, *args: str) -> list[str]:
        return [*self.cli, "--project-name", self.project, "--file", str(self.file), *args]

    def run(self, *args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
        # queries (captured) are not echoed: the user sees the commands that change something
        return process.run(self.argv(*args), capture=capture, check=check, cwd=self.catalog.root, echo=not capture)


def open_stack(catalog: Catalog, production: bool = False, environ: Mapping[str, str] = os.environ) -> Stack:
    cli = process.find_compose()
    mode = "production" if production else "development"
    return Stack(catalog, cli, compose.project_name(catalog.root, environ), mode)


def write_files(catalog: Catalog, out: Reporter, check: bool = False) -> list[Path]:
    """Bring compose.yaml and compose.production.yaml in line with the catalog; the paths that changed."""
    stale = [
        (path, text)
        for mode in compose.FILES
        if _read(path := compose.file_path(catalog, mode)) != (text := compose.render(catalog, mode))
    ]
    if check and stale:
        names = ", ".join(p.name for p, _ in stale)
        raise CheckFailed(f"{names} out of date with the catalog: run invoke compose and commit the result")
    if not check:  # the files name each service's staged libraries as its `libs` context
        libstage.stage_all(catalog)
    for path, text in stale:
        path.write_text(text, encoding="utf-8")
        out.info(f"wrote {path.name} from the catalog: commit it")
    return [p for p, _ in stale]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def selected(catalog: Catalog, names: Sequence[str]) -> list[str]:
    for name in names:
        catalog.service(name)  # unknown names fail here, before anything starts
    return list(dict.fromkeys(names)) or list(catalog.services)


def check_ports(stack: Stack, ports: Sequence[compose.HostPorts], engine: Engine) -> None:
    """Every host port the services need is free, or already the project's own (a second `up`)."""
    own = engine.published_ports(f"{PROJECT_LABEL}={stack.project}")
    for hp in ports:
        for host, _, var, key in hp.pairs(compose.target_of(hp.service, stack.mode)):
            if host not in own and process.port_taken(host):
                raise UsageError(
                    f"host port {host} ({hp.service.name}) is already in use: stop what holds it, or export "
                    f"{var}=<port> or set {key} in [tool.sos-images.services.{hp.service.name}]"
                )


def up(
    catalog: Catalog,
    names: Sequence[str],
    out: Reporter,
    *,
    production: bool = False,
    watch: bool = False,
    timeout: float = schema_key("up", "timeout").default,
) -> list[compose.HostPorts]:
    """Build (cached) and start the services, wait until healthy, print where they are; optionally watch."""
    if watch and production:
        raise UsageError("--watch needs the development targets (production images hold no sources): drop one")
    names = selected(catalog, names)
    if not production and any(catalog.service(n).language.name == "node" for n in names):
        endpoint.current().refuse_source_mounts("invoke up (development)", "use invoke up --production")
    stack = open_stack(catalog, production)
    ports = [compose.resolve(hp) for name, hp in compose.host_ports(catalog).items() if name in names]
    write_files(catalog, out)
    engine = Engine()
    engine.ping()
    check_ports(stack, ports, engine)
    fresh = not engine.labelled_containers(f"{PROJECT_LABEL}={stack.project}")
    with process.sigterm_as_interrupt():
        _start(stack, names, timeout, fresh, out)
        summarize(stack, ports, out)
        if watch:
            _watch(stack, names, out)
    return ports


def _start(stack: Stack, names: Sequence[str], timeout: float, fresh: bool, out: Reporter) -> None:
    """`compose up --wait`; on failure or interruption, show why and undo it."""
    try:
        args = ("up", "--detach", "--build", "--wait", "--wait-timeout", str(math.ceil(timeout)), *names)
        code = stack.run(*args, check=False).returncode
        failed = unhealthy(stack, names)
    except KeyboardInterrupt:
        _undo(stack, names, fresh, out)
        raise
    if failed or code:
        show_logs(stack, failed, out)
        _undo(stack, names, fresh, out)
        raise CommandFailed(
            f"compose up failed (exit {code}); not healthy: {', '.join(failed) or 'none'}. "
            "See the output and log lines above; nothing was left up"
        )


def unhealthy(stack: Stack, names: Sequence[str]) -> list[str]:
    """The services without a healthy, running container."""
    out = stack.run("ps", "--all", "--format", "json", *names, capture=True, check=False).stdout
    healthy = {
        row.get("Service")
        for row in _ps_rows(out)
        if row.get("State") == "running" and row.get("Health") in ("healthy", "")
    }
    return [name for name in names if name not in healthy]


def _ps_rows(text: str) -> list[dict[str, str]]:
    """`compose ps --format json` prints one object per line (2.21+) or one array (older)."""
    text = text.strip()
    if text.startswith("["):
        return tool_json("docker compose ps", text, list)
    return [tool_json("docker compose ps", line, dict) for line in text.splitlines() if line.strip().startswith("{")]


def show_logs(stack: Stack, names: Sequence[str], out: Reporter, lines: int = 20) -> None:
    for name in names:
        out.error(f"{name}: last {lines} log lines")
        stack.run("logs", "--no-color", "--tail", str(lines), name, check=False)


def _undo(stack: Stack, names: Sequence[str], fresh: bool, out: Reporter) -> None:
    """A project that was empty goes down whole; otherwise only the services this `up` touched are removed."""
    out.warn("taking down what was started")
    if fresh:
        stack.run("down", "--volumes", "--remove-orphans", check=False)
    else:
        stack.run("rm", "--stop", "--force", "--volumes", *names, check=False)


def summarize(stack: Stack, ports: Sequence[compose.HostPorts], out: Reporter) -> None:
    out.success(f"{stack.project} ({stack.mode}) is up and healthy:")
    width = max(len(hp.service.name) for hp in ports)
    for hp in ports:
        debugger = compose.DEBUGGERS.get(hp.service.kind, "debugger")
        at = f"   {debugger} 127.0.0.1:{hp.debug}" if stack.mode == "development" and hp.debug else ""
        out.info(f"{hp.service.name:<{width}}  http://127.0.0.1:{hp.app}{hp.service.health_path or '/'}{at}")
    out.info("next: invoke logs --follow, invoke down; attaching a debugger: README, The developer's day")


def _watch(stack: Stack, names: Sequence[str], out: Reporter) -> None:
    out.info("watching: Go edits rebuild, Node edits reload; Ctrl-C stops watching (the services stay up)")
    stop = threading.Event()
    restage = threading.Thread(target=_restage, args=(stack.catalog, stop), daemon=True)
    restage.start()
    try:
        stack.run("watch", "--no-up", *names, check=False)
    except KeyboardInterrupt:
        out.info("stopped watching; invoke down stops the services")
    finally:
        stop.set()


def _restage(catalog: Catalog, stop: threading.Event) -> None:
    """A library edit reaches its staged copy, which Compose watches (and rebuilds from)."""
    while not stop.wait(0.5):
        libstage.stage_all(catalog)


def down(catalog: Catalog, out: Reporter) -> None:
    stack = open_stack(catalog)
    write_files(catalog, out)
    stack.run("down", "--volumes", "--remove-orphans")
    out.success(f"{stack.project}: containers, networks and volumes removed")


def logs(catalog: Catalog, names: Sequence[str], *, follow: bool = False, tail: str = "") -> None:
    stack = open_stack(catalog)
    names = selected(catalog, names) if names else []
    args = ["logs", *(["--follow"] if follow else []), *(["--tail", tail] if tail else []), *names]
    try:
        stack.run(*args)
    except KeyboardInterrupt:
        return
