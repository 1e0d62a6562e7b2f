"""Pure build planning: (catalog, service, options, source facts, client) -> BuildPlan with the exact argv.

Nothing here touches the outside world, so a plan can be printed (--dry-run) and tested without Docker.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import Catalog, Registry, Service
from .errors import UsageError
from .tags import docker_tag

BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# host[:port] as docker accepts it: a name with a dot or a port, or localhost
REGISTRY_HOST = re.compile(
    r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+)(:[0-9]{1,5})?$"
)
OCI = "org.opencontainers.image."
CA_BUNDLE_ENV = "SOS_CA_BUNDLE"  # default for --ca-bundle


@dataclass(frozen=True)
class SourceInfo:
    """Facts about the sources: the commit and a reproducible creation date (RFC 3339, UTC)."""

    commit: str = "unknown"
    created: str = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class BuildClient:
    """How BuildKit is reached: 'buildx' (docker buildx build) or 'classic' (DOCKER_BUILDKIT=1 docker build)."""

    kind: str
    program: str = "docker"

    def prefix(self) -> list[str]:
        if self.kind == "buildx":
            return [self.program, "buildx", "build"]
        return [self.program, "build"]

    def env(self) -> dict[str, str]:
        # buildx's own git probing (7 git calls per build) only feeds provenance the docker driver does not
        # keep; the tool sets the revision and source labels itself.
        return {"DOCKER_BUILDKIT": "1"} if self.kind == "classic" else {"BUILDX_GIT_INFO": "0"}


@dataclass(frozen=True)
class BuildOptions:
    version: str = "latest"
    target: str | None = None
    build_args: tuple[str, ...] = ()
    no_cache: bool = False
    platform: str | None = None
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    builder: str | None = None
    ca_bundle: str | None = None
    progress: str = "auto"
    registry: str | None = None


@dataclass(frozen=True)
class BuildPlan:
    service: Service
    target: str
    version: str
    image: str
    build_args: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def command_line(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        return (env + " " if env else "") + shlex.join(self.argv)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service.name,
            "language": self.service.language.name,
            "target": self.target,
            "version": self.version,
            "image": self.image,
            "build_args": dict(self.build_args),
            "labels": dict(self.labels),
            "command": list(self.argv),
            "env": dict(self.env),
        }


def check_version(version: str | None) -> str:
    """The version as given (labels keep it); its Docker tag is tags.docker_tag(version), checked here."""
    version = version or "latest"
    docker_tag(version)
    return version


def image_tag(version: str, target: str, service: Service) -> str:
    """The default target is tagged with the version alone; other targets get a '-<target>' suffix."""
    return docker_tag(version, "" if target == service.language.default_target else f"-{target}")


def repository(registry: Registry, service: Service | str) -> str:
    name = service if isinstance(service, str) else service.name
    parts = [p for p in (registry.host, registry.namespace, name) if p]
    return "/".join(parts)


def image_name(
    catalog: Catalog,
    service: Service,
    target: str,
    version: str,
    registry_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """What `invoke build` tags: <host>/<namespace>/<service>:<version>[-<target>]. Every verb finds images by it."""
    registry = catalog.registry(registry_name).resolved(environ or {})
    if registry_name:
        check_registry_host(registry)
    return f"{repository(registry, service)}:{image_tag(version, target, service)}"


def check_registry_host(registry: Registry) -> Registry:
    if not registry.host:
        hint = f"set {registry.host_env}" if registry.host_env else "set its host in pyproject.toml"
        raise UsageError(
            f"registry {registry.name!r} has no host: {hint} (e.g. registry.example.com or 127.0.0.1:5000)"
        )
    if not REGISTRY_HOST.match(registry.host):
        raise UsageError(
            f"registry host {registry.host!r} is malformed: give host[:port] without scheme or path "
            "(e.g. registry.example.com or 127.0.0.1:5000)"
        )
    return registry


def parse_build_args(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not BUILD_ARG_NAME.match(name):
            raise UsageError(f"--build-arg {item!r} is not of the form NAME=VALUE (e.g. --build-arg NPM_LOGLEVEL=warn)")
        pairs.append((name, value))
    return tuple(pairs)


def oci_labels(service: Service, version: str, source: SourceInfo, source_url: str) -> tuple[tuple[str, str], ...]:
    labels = {
        OCI + "title": service.name,
        OCI + "version": version,
        OCI + "revision": source.commit,
        OCI + "created": source.created,
    }
    if source_url:
        labels[OCI + "source"] = source_url
    return tuple(labels.items())


def build_args(
    catalog: Catalog, service: Service, version: str, source: SourceInfo, extra: Iterable[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """Precedence, lowest first: base images, catalog facts, the service's pyproject args, --build-arg."""
    args: dict[str, str] = {k: catalog.base_images[k] for k in service.language.base_args if k in catalog.base_images}
    args |= {
        "VERSION": version,
        "BUILD_DATE": source.created,
        "GIT_COMMIT": source.commit,
        "PORT": str(service.port),
        "HEALTH_PATH": service.health_path,
    }
    args |= dict(service.build_args)
    args |= dict(extra)
    return tuple(args.items())


def plan_build(
    catalog: Catalog,
    service: Service,
    options: BuildOptions,
    source: SourceInfo,
    client: BuildClient,
    environ: Mapping[str, str] | None = None,
) -> BuildPlan:
    target = service.check_target(options.target)
    version = check_version(options.version)
    image = image_name(catalog, service, target, version, options.registry, environ)
    args = build_args(catalog, service, version, source, parse_build_args(options.build_args))
    labels = oci_labels(service, version, source, catalog.source_url)
    argv = [*client.prefix(), *_buildx_options(options, client)]
    argv += ["--file", str(catalog.dockerfiles / service.language.dockerfile), "--target", target, "--tag", image]
    argv += [f"--build-arg={k}={v}" for k, v in args]
    argv += [f"--label={k}={v}" for k, v in labels]
    ca_bundle = options.ca_bundle or (environ or {}).get(CA_BUNDLE_ENV)
    if ca_bundle:
        argv.append(f"--secret=id=ca,src={_ca_bundle(ca_bundle)}")
    argv.append(str(service.path))
    return BuildPlan(service, target, version, image, args, labels, tuple(argv), tuple(client.env().items()))


def _buildx_options(options: BuildOptions, client: BuildClient) -> list[str]:
    argv = [f"--progress={options.progress}"]
    if client.kind == "buildx":
        if options.builder:
            argv.append(f"--builder={options.builder}")
        argv.append("--load")
    elif options.builder or options.cache_to:
        raise UsageError("--builder and --cache-to need the docker buildx plugin: install it (see README, Set-up)")
    if options.no_cache:
        argv.append("--no-cache")
    if options.platform:
        argv.append(f"--platform={options.platform}")
    argv += [f"--cache-from={c}" for c in options.cache_from]
    argv += [f"--cache-to={c}" for c in options.cache_to]
    return argv


def _ca_bundle(path: str) -> str:
    bundle = Path(path).expanduser()
    if not bundle.is_file():
        raise UsageError(f"CA bundle {path} does not exist: give a PEM file (e.g. /etc/ssl/certs/ca-certificates.crt)")
    return str(bundle.resolve())
