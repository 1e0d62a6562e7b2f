"""The one resolver for image references: (service, target, version, registry) -> every name an image has.

`--registry` means one thing everywhere: the registry profile the image is named for. `invoke build --registry R`
tags `<R host>/<R namespace>/<service>:<tag>`; `push`, `publish`, `sign`, `run` and the checks find it by the
same resolution, and the registry cache of that image lives beside it. Pure: no engine, no network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .catalog import Catalog, Registry, Service
from .errors import UsageError
from .settings import HOST
from .tags import docker_tag

CACHE_TAG = "buildcache"


@dataclass(frozen=True)
class ImageRef:
    """One image of one service: its local name (which is also its name in the registry) and its cache."""

    service: Service
    target: str
    version: str
    registry: Registry
    explicit_registry: bool = False  # the user named the profile (so hints repeat it)

    @property
    def is_default_target(self) -> bool:
        return self.target == self.service.default_target

    @property
    def tag(self) -> str:
        return image_tag(self.version, self.target, self.service)

    @property
    def repository(self) -> str:
        return repository(self.registry, self.service)

    @property
    def image(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def cache(self) -> str:
        """The registry cache reference: per service and target, overridable per profile (`cache-ref`)."""
        suffix = "" if self.is_default_target else f"-{self.target}"
        template = self.registry.cache_ref or "{repository}:" + CACHE_TAG
        return template.format(repository=self.repository, service=self.service.name) + suffix

    def options(self, *, version: bool = True) -> str:
        """The CLI options that name this image again: `--service S [--target T] [--version V] [--registry R]`."""
        parts = [f"--service {self.service.name}"]
        if not self.is_default_target:
            parts.append(f"--target {self.target}")
        if version:
            parts.append(f"--version {self.version}")
        if self.explicit_registry:
            parts.append(f"--registry {self.registry.name}")
        return " ".join(parts)

    def build_hint(self) -> str:
        return f"invoke build {self.options()}"


def check_version(version: str | None) -> str:
    """The version as given (labels keep it); its Docker tag is tags.docker_tag(version), checked here."""
    version = version or "latest"
    docker_tag(version)
    return version


def image_tag(version: str, target: str, service: Service) -> str:
    """The default target is tagged with the version alone; other targets get a '-<target>' suffix."""
    return docker_tag(version, "" if target == service.default_target else f"-{target}")


def repository(registry: Registry, service: Service | str) -> str:
    name = service if isinstance(service, str) else service.name
    return "/".join(p for p in (registry.host, registry.namespace, name) if p)


def check_registry_host(registry: Registry) -> Registry:
    if not registry.host:
        hint = f"set {registry.host_env}" if registry.host_env else "set its host in pyproject.toml"
        raise UsageError(
            f"registry {registry.name!r} has no host: {hint} (e.g. registry.example.com or 127.0.0.1:5000)"
        )
    if not HOST.match(registry.host):
        raise UsageError(
            f"registry host {registry.host!r} is malformed: give host[:port] without scheme or path "
            "(e.g. registry.example.com or 127.0.0.1:5000)"
        )
    return registry


def resolve_registry(catalog: Catalog, name: str | None, environ: Mapping[str, str] = os.environ) -> Registry:
    """A profile with its environment filled in; a named (or host-less default) profile must have a valid host."""
    registry = catalog.registry(name).resolved(environ)
    return check_registry_host(registry) if name or registry.host_env else registry


def resolve(
    catalog: Catalog,
    service: str | None,
    target: str | None = None,
    version: str | None = None,
    registry: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ImageRef:
    svc = catalog.service(service)
    return ImageRef(
        svc,
        svc.check_target(target or None),
        check_version(version),
        resolve_registry(catalog, registry or None, environ),
        explicit_registry=bool(registry),
    )
