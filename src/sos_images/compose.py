"""Pure: the catalog -> host ports, the Compose model (a dict) and the text of compose.yaml.

The files are committed at the repository root, so plain `docker compose up auth-service` works; a new service
folder changes them with no code change (`invoke compose` rewrites them, `invoke up` too when they are stale).
Host ports are `${<SERVICE>_HOST_PORT:-N}` in the file: the catalog picks N, the environment may override it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import LIBS_CONTEXT, Catalog, Service
from .errors import UsageError
from .refs import image_tag, repository
from .settings import pick

FILES = {"development": "compose.yaml", "production": "compose.production.yaml"}
TAG_VAR = "SOS_IMAGE_TAG"  # image tag of the stack's images (default latest), e.g. a test run's own
HEADER = (
    "# Generated from the service catalog by `invoke compose`; do not edit by hand: a new folder under services/\n"
    "# is picked up by running it again (`invoke up` does it too). Host ports (127.0.0.1) can be overridden with\n"
    "# <SERVICE>_HOST_PORT and <SERVICE>_DEBUG_HOST_PORT, the image tag with SOS_IMAGE_TAG.\n"
)
HEALTH = {"interval": "30s", "timeout": "10s", "retries": 3, "start_period": "60s", "start_interval": "1s"}


@dataclass(frozen=True)
class HostPorts:
    """Where a service is reachable on the host (127.0.0.1 only)."""

    service: Service
    app: int
    debug: int | None  # None: no debugger (a service with its own Dockerfile)

    @property
    def app_var(self) -> str:
        return env_name(self.service.name) + "_HOST_PORT"

    @property
    def debug_var(self) -> str:
        return env_name(self.service.name) + "_DEBUG_HOST_PORT"

    def pairs(self, target: str) -> list[tuple[int, int, str, str]]:
        """(host port, container port, env variable, setting key) for a target: debug ports in development only."""
        pairs = [(self.app, self.service.port, self.app_var, "host-port")]
        if target == "development" and self.debug and self.service.debug_port:
            pairs.append((self.debug, self.service.debug_port, self.debug_var, "debug-host-port"))
        return pairs


def env_name(service: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", service.upper())


def host_ports(catalog: Catalog) -> dict[str, HostPorts]:
    """Deterministic: the language's port plus the service's index within its language, unless pyproject says.

    A service with its own Dockerfile comes after those: its port (8000 more below 1024), or the next free one.
    """
    ports: dict[str, HostPorts] = {}
    index: dict[str, int] = {}
    for svc in (s for s in catalog.services.values() if s.language):
        i = index[svc.kind] = index.get(svc.kind, -1) + 1
        table = f"services.{svc.name}"  # the schema checked these when the catalog loaded
        app = pick(catalog.settings, table, "host-port") or svc.port + i
        debug = pick(catalog.settings, table, "debug-host-port") or (svc.debug_port or 0) + i
        ports[svc.name] = HostPorts(svc, app, debug)
    taken = {port for hp in ports.values() for port, *_ in hp.pairs("development")}
    for svc in (s for s in catalog.services.values() if not s.language):
        app = pick(catalog.settings, f"services.{svc.name}", "host-port") or _free(svc.port, taken)
        ports[svc.name] = HostPorts(svc, app, None)
        taken.add(app)
    _check_distinct(ports.values())
    return {name: ports[name] for name in catalog.services}


def _free(port: int, taken: set[int]) -> int:
    port += 8000 if port < 1024 else 0  # no privileged host ports
    while port in taken:
        port += 1
    return port


def _check_distinct(all_ports: Any) -> None:
    seen: dict[int, str] = {}
    for hp in all_ports:
        for port, _, _, key in hp.pairs("development"):
            where = f"{hp.service.name} {key}"
            if port in seen:
                raise UsageError(
                    f"host port {port} is given to both {seen[port]} and {where}: set another {key} in "
                    f"[tool.sos-images.services.{hp.service.name}]"
                )
            seen[port] = where


def resolve(hp: HostPorts, environ: Mapping[str, str] = os.environ) -> HostPorts:
    """The ports Compose will use: the catalog's, unless the environment overrides them as the file allows."""
    return HostPorts(hp.service, _env_port(environ, hp.app_var, hp.app), _env_port(environ, hp.debug_var, hp.debug))


def _env_port(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise UsageError(f"{name}={value!r} is not a port number: set it to 1-65535 or unset it")
    return int(value)


# --- The Compose model --------------------------------------------------------------------------------------


def model(catalog: Catalog, mode: str = "development") -> dict[str, Any]:
    """The whole stack: one Compose service per catalog service, built from its folder at the mode's target."""
    ports = host_ports(catalog)
    return {"services": {name: _service(catalog, ports[name], mode) for name in catalog.services}}


def target_of(service: Service, mode: str) -> str:
    """Development runs the development target; a service without one runs its default target there."""
    return "development" if mode == "development" and "development" in service.targets else service.default_target


def _service(catalog: Catalog, hp: HostPorts, mode: str) -> dict[str, Any]:
    svc, target = hp.service, target_of(hp.service, mode)
    entry: dict[str, Any] = {
        "build": _build(catalog, svc, target),
        "image": _literal(f"{repository(catalog.registry().resolved({}), svc)}:") + _tag() + _suffix(svc, target),
        "ports": [f"127.0.0.1:${{{var}:-{host}}}:{inside}" for host, inside, var, _ in hp.pairs(target)],
        "healthcheck": dict(HEALTH),
    }
    if mode == "development":
        entry |= _develop(catalog, svc)
    return entry


def _tag() -> str:
    return f"${{{TAG_VAR}:-latest}}"


def _suffix(svc: Service, target: str) -> str:
    """As refs.image_tag names targets (the version part is Compose's variable, so it cannot be checked here)."""
    return image_tag("v", target, svc).removeprefix("v")


def _build(catalog: Catalog, svc: Service, target: str) -> dict[str, Any]:
    recipe = svc.recipe
    args = {k: catalog.base_images[k] for k in svc.base_args if k in catalog.base_images}
    args |= {"PORT": str(svc.port)} | ({"HEALTH_PATH": svc.health_path} if svc.health_path else {})
    args |= dict(svc.build_args)
    build: dict[str, Any] = {
        "context": _relative(catalog.root, recipe.context),
        "dockerfile": Path(os.path.relpath(recipe.dockerfile, recipe.context)).as_posix(),
    }
    if recipe.stage_of(target):
        build["target"] = target
    if recipe.named_contexts:
        build["additional_contexts"] = {
            # Compose resolves these from the file's folder (the root), not from the context
            name: f"./{_relative(catalog.root, path)}"
            for name, path in recipe.named_contexts.items()
        }
    return build | {"args": {k: _literal(v) for k, v in args.items()} | {"VERSION": _tag()}}


def _develop(catalog: Catalog, svc: Service) -> dict[str, Any]:
    """Node: the sources are bind-mounted (node --watch restarts on an edit, with or without `compose watch`);
    a manifest edit rebuilds. Go: any edit in the folder rebuilds the image and recreates the container."""
    folder = _relative(catalog.root, svc.path)
    staged = svc.recipe.named_contexts.get(LIBS_CONTEXT)
    libraries = [{"action": "rebuild", "path": f"./{_relative(catalog.root, staged)}"}] if staged else []
    found = _develop_own(catalog, folder, svc)
    found["develop"]["watch"] += libraries  # `invoke up --watch` keeps the staged libraries current
    return found


def _develop_own(catalog: Catalog, folder: str, svc: Service) -> dict[str, Any]:
    if svc.kind == "node":
        mount = {"type": "bind", "source": f"./{folder}/src", "target": "/app/src", "read_only": True}
        watch = [{"action": "rebuild", "path": f"./{folder}/{name}"} for name in ("package.json", "package-lock.json")]
        return {"volumes": [mount], "develop": {"watch": watch}}
    if svc.kind == "go":
        return {"develop": {"watch": [{"action": "rebuild", "path": f"./{folder}", "ignore": ["*_test.go", "*.md"]}]}}
    context = _relative(catalog.root, svc.recipe.context)  # an own Dockerfile: any edit in its context rebuilds
    return {"develop": {"watch": [{"action": "rebuild", "path": f"./{context}", "ignore": ["*.md"]}]}}


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def _literal(text: str) -> str:
    """Compose interpolates `$`: a literal one is written `$$`."""
    return text.replace("$", "$$")


def render(catalog: Catalog, mode: str = "development") -> str:
    """The file's text, stable byte for byte (keys in the model's order)."""
    import yaml  # lazy: only the verbs that write the file pay for it

    return HEADER + yaml.safe_dump(model(catalog, mode), sort_keys=False, width=120)


def file_path(catalog: Catalog, mode: str = "development") -> Path:
    return catalog.root / FILES[mode]


def project_name(root: Path, environ: Mapping[str, str] = os.environ) -> str:
    """As Compose names it: $COMPOSE_PROJECT_NAME, else the folder of the file, lower case, [a-z0-9_-] only."""
    name = environ.get("COMPOSE_PROJECT_NAME") or root.name
    name = re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")
    if not name:
        raise UsageError(f"no Compose project name can be made from {root.name!r}: set COMPOSE_PROJECT_NAME")
    return name


# --- Debugger hints -----------------------------------------------------------------------------------------


def launch_config(service: Service, debug_port: int) -> dict[str, Any]:
    """The VS Code launch.json configuration that attaches to a development container."""
    name = f"Attach to {service.name}"
    local = f"${{workspaceFolder}}/services/{service.name}"
    if service.kind == "node":
        return {
            "name": name,
            "type": "node",
            "request": "attach",
            "address": "127.0.0.1",
            "port": debug_port,
            "localRoot": local,
            "remoteRoot": "/app",
            "restart": True,
        }
    return {
        "name": name,
        "type": "go",
        "request": "attach",
        "mode": "remote",
        "host": "127.0.0.1",
        "port": debug_port,
        "substitutePath": [{"from": local, "to": "/app"}],
    }


DEBUGGERS = {"node": "Node inspector", "go": "Delve"}


def attach_hint(service: Service, debug_port: int) -> str:
    if service.kind == "node":
        return f"Node inspector on 127.0.0.1:{debug_port}: chrome://inspect (Configure... add 127.0.0.1:{debug_port})"
    return f"Delve on 127.0.0.1:{debug_port}: dlv connect 127.0.0.1:{debug_port}"
