"""`run`: one service in a container on the host ports of the catalog, until Ctrl-C or SIGTERM.

Builds first (the layer cache makes an unchanged service take a second), mounts the sources of a Node
development image (node --watch reloads), waits until healthy, prints the URL and how to attach a debugger,
then streams the logs. The container is removed on any way out, including a Ctrl-C during start-up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import compose, process, refs
from .build import build
from .catalog import Catalog, Service
from .engine import Container, Engine
from .errors import CommandFailed, UsageError
from .plans import BuildOptions
from .report import Reporter
from .settings import ENV_NAME, schema_key

# The images' own checks run every 30 s; a run wants to know within a second or two.
HEALTH = {"test": None, "interval": 1_000_000_000, "timeout": 5_000_000_000, "retries": 3, "start_period": 0}


@dataclass(frozen=True)
class RunOptions:
    target: str = "development"
    version: str = "latest"
    env: tuple[str, ...] = ()
    env_file: str = ""
    port: int | None = None
    debug_port: int | None = None
    timeout: float = schema_key("run", "timeout").default
    build: bool = True


def parse_env(items: Sequence[str], env_file: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """--env-file first, then -e K=V (or -e K: the value from this environment). Values are never echoed."""
    values = _read_env_file(env_file, environ) if env_file else {}
    for item in items:
        name, sep, value = item.partition("=")
        if not ENV_NAME.match(name):
            raise UsageError(f"-e {name!r}: give NAME=VALUE or NAME (taken from your environment)")
        if not sep:
            if name not in environ:
                raise UsageError(f"-e {name}: {name} is not set in your environment; export it or give {name}=VALUE")
            value = environ[name]
        values[name] = value
    return values


def _read_env_file(path: str, environ: Mapping[str, str]) -> dict[str, str]:
    """As `docker run --env-file` reads it: NAME=VALUE taken as is (quotes too), a bare NAME from your
    environment (left out when unset), # comments and blank lines skipped, a name with spaces refused."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"--env-file {path}: cannot read it ({exc.strerror}); give an existing file") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not name or any(ch.isspace() for ch in name):
            raise UsageError(f"--env-file {path}, line {number}: not NAME=VALUE (no spaces in NAME); fix or comment it")
        if sep:
            values[name] = value
        elif name in environ:
            values[name] = environ[name]
    return values


def host_ports(catalog: Catalog, service: Service, options: RunOptions) -> compose.HostPorts:
    for flag, value in (("--port", options.port), ("--debug-port", options.debug_port)):
        if value is not None and not 1 <= value <= 65535:
            raise UsageError(f"{flag} {value} is not a port number: give 1-65535")
    ports = compose.resolve(compose.host_ports(catalog)[service.name])
    return compose.HostPorts(service, options.port or ports.app, options.debug_port or ports.debug)


def check_ports(hp: compose.HostPorts, target: str) -> None:
    flags = {"host-port": "--port", "debug-host-port": "--debug-port"}
    for host, _, _, key in hp.pairs(target):
        if process.port_taken(host):
            raise UsageError(
                f"host port {host} ({hp.service.name}) is already in use: pass {flags[key]} <port> "
                f"or set {key} in [tool.sos-images.services.{hp.service.name}]"
            )


def container_options(service: Service, target: str, hp: compose.HostPorts, env: dict[str, str]) -> dict[str, Any]:
    ports = {f"{inside}/tcp": ("127.0.0.1", host) for host, inside, _, _ in hp.pairs(target)}
    options = {"ports": ports, "environment": env, "healthcheck": HEALTH, "labels": {"sos-images.run": service.name}}
    if target == "development" and service.kind == "node":
        options["volumes"] = {str(service.path / "src"): {"bind": "/app/src", "mode": "ro"}}
    return options


def run_service(catalog: Catalog, name: str, options: RunOptions, out: Reporter) -> int:
    """Returns 0 when stopped with Ctrl-C or SIGTERM; a container that stops by itself raises CommandFailed."""
    service = catalog.service(name)
    target = service.check_target(_target(service, options.target))
    env = parse_env(options.env, options.env_file)
    hp = host_ports(catalog, service, options)
    check_ports(hp, target)
    container_name = f"{compose.project_name(catalog.root)}-{service.name}-run"
    box_options = container_options(service, target, hp, env)
    engine = Engine()
    if "volumes" in box_options:
        engine.endpoint.refuse_source_mounts(f"invoke run of {service.name} ({target})", "run --target production")
    engine.ping()
    if engine.find_container(container_name) is not None:
        raise UsageError(f"a container named {container_name} already exists: end that run, or docker rm -f it")
    with process.sigterm_as_interrupt():
        image = _image(catalog, service, target, options, out)
        with engine.container(image, name=container_name, **box_options) as box:
            _wait(box, service, options.timeout, out)
            ready(service, target, hp, out)
            try:
                code = box.follow_logs(out.stream)
            except KeyboardInterrupt:
                out.info(f"stopping and removing container {container_name}")
                return 0
    raise CommandFailed(f"{service.name} exited by itself with code {code}; its log is above")


def _target(service: Service, given: str) -> str:
    """The development target, as `up` runs it: a service without one runs its default target."""
    return compose.target_of(service, "development") if given in ("", "development") else given


def _image(catalog: Catalog, service: Service, target: str, options: RunOptions, out: Reporter) -> str:
    if not options.build:
        return refs.resolve(catalog, service.name, target, options.version).image
    return build(catalog, service.name, BuildOptions(version=options.version, target=target), out).plan.image


def _wait(box: Container, service: Service, timeout: float, out: Reporter) -> None:
    status = box.wait_healthy(timeout)
    if status != "healthy":
        for line in box.log_tail():
            out.error(line)
        raise CommandFailed(f"{service.name} did not become healthy in {timeout:g}s ({status}); last log lines above")


def ready(service: Service, target: str, hp: compose.HostPorts, out: Reporter) -> None:
    out.success(f"{service.name} is healthy: http://127.0.0.1:{hp.app}{service.health_path or '/'}")
    if target == "development" and hp.debug and service.debug_port:
        out.info(compose.attach_hint(service, hp.debug))
        out.info('VS Code, in .vscode/launch.json "configurations":')
        print(json.dumps(compose.launch_config(service, hp.debug), indent=2), file=out.stream, flush=True)
    out.info("Ctrl-C stops and removes the container; its log follows")
