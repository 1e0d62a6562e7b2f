"""Registries: log in through the docker CLI (password on stdin), tag and push through the SDK's stream."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import process, refs
from .catalog import Catalog, Registry
from .engine import Engine
from .errors import CommandFailed, UsageError
from .refs import ImageRef
from .report import Reporter
from .tags import TagPolicy, release_tags

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str:
    return next((environ[n] for n in names if environ.get(n)), "")


def credentials(registry: Registry, environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    user, password = _first(environ, registry.user_env), _first(environ, registry.password_env)
    missing = [
        " or ".join(names)
        for names, value in ((registry.user_env, user), (registry.password_env, password))
        if not value
    ]
    if missing:
        raise UsageError(f"registry {registry.name!r} needs credentials: set {' and '.join(missing)}")
    return user, password


def login(catalog: Catalog, name: str | None, out: Reporter, environ: Mapping[str, str] = os.environ) -> Registry:
    """docker login --password-stdin: the credentials land where buildx, docker and scanners find them."""
    registry = refs.check_registry_host(catalog.registry(name).resolved(environ))
    user, password = credentials(registry, environ)
    argv = ["docker", "login", "--username", user, "--password-stdin", registry.host]
    proc = process.run(argv, input_text=password, capture=True, check=False)
    if proc.returncode != 0:
        reason = _scrub(process.last_line(proc.stderr), password) or f"exit {proc.returncode}"
        raise CommandFailed(
            f"login to {registry.host} as {user} failed: {reason}; check {' or '.join(registry.password_env)}",
            proc.returncode,
        )
    out.success(f"Logged in to {registry.host} as {user}")
    return registry


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


@dataclass(frozen=True)
class PushPlan:
    """Push `ref` (the image named for the destination profile) under every policy tag.

    The local image pushed is `ref.image` when it was built for this profile, else `fallback` (the same image
    built under the default profile): build once, push to several registries.
    """

    ref: ImageRef
    tags: tuple[str, ...]
    fallback: str | None = None

    @property
    def service(self) -> str:
        return self.ref.service.name

    @property
    def repository(self) -> str:
        return self.ref.repository

    @property
    def refs(self) -> list[str]:
        return [f"{self.repository}:{tag}" for tag in self.tags]

    def candidates(self) -> list[str]:
        return [self.ref.image, *([self.fallback] if self.fallback else [])]


def plan_push(
    catalog: Catalog,
    service_name: str | None,
    registry_name: str | None,
    version: str,
    target: str | None,
    policy: TagPolicy,
    commit: str,
    environ: Mapping[str, str] = os.environ,
) -> PushPlan:
    ref = refs.resolve(catalog, service_name, target, version, registry_name, environ)
    if not ref.registry.host:
        raise UsageError(f"registry {ref.registry.name!r} has no host to push to: pass --registry NAME")
    default = refs.resolve(catalog, service_name, target, version, None, environ)
    tags = release_tags(ref.version, ref.target, ref.service.default_target, commit, policy)
    return PushPlan(ref, tuple(tags), default.image if default.image != ref.image else None)


def local_source(plan: PushPlan, engine: Engine) -> str:
    """The local image to push: the first candidate the engine has."""
    for candidate in plan.candidates():
        if engine.inspect_image(candidate) is not None:
            return candidate
    raise UsageError(f"{plan.ref.image} is not built: run '{plan.ref.build_hint()}' first")


@dataclass(frozen=True)
class Pushed:
    ref: str
    digest: str


def push(plan: PushPlan, engine: Engine, out: Reporter) -> list[Pushed]:
    """Tag and push every ref of the plan. On failure, the local tags this call created are removed."""
    source = local_source(plan, engine)
    out.line("PUSH", f"local image {source}")
    created = [ref for ref in plan.refs if engine.inspect_image(ref) is None]
    try:
        for tag in plan.tags:
            engine.tag(source, plan.repository, tag)
        pushed = [_push_one(engine, plan, tag, out) for tag in plan.tags]
    except BaseException:
        for ref in created:
            engine.remove_tag(ref)
        raise
    for item in pushed:
        out.success(f"Pushed {item.ref}@{item.digest}")
    return pushed


def _push_one(engine: Engine, plan: PushPlan, tag: str, out: Reporter) -> Pushed:
    ref = f"{plan.repository}:{tag}"
    out.line("PUSH", ref)
    digest = engine.push(plan.repository, tag, _progress(out))
    return Pushed(ref, digest)


def _progress(out: Reporter) -> Callable[[dict[str, Any]], None]:
    def show(chunk: dict[str, Any]) -> None:
        status = chunk.get("status", "")
        if (chunk.get("id") and status in ("Pushed", "Layer already exists")) or status.startswith("Mounted from"):
            out.line("PUSH", f"  {chunk['id']}: {status}")

    return show


def describe_pushed(ref: str, engine: Engine | None = None) -> dict[str, Any]:
    """What the registry holds under `ref`: its platforms and whether provenance travels with it.

    Read back with `docker buildx imagetools inspect --raw` (the docker config's credentials). buildx does
    not read the engine's certs.d, so a registry with a private CA is asked through the engine instead
    (`engine.distribution`). A registry that answers neither way gives an empty answer, never a failed push.
    """
    proc = process.run(
        ["docker", "buildx", "imagetools", "inspect", "--raw", ref], capture=True, echo=False, check=False
    )
    try:
        manifest = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except ValueError:
        manifest = {}
    if manifest or engine is None:
        return index_facts(manifest)
    return distribution_facts(engine.distribution(ref) or {})


def distribution_facts(data: dict[str, Any]) -> dict[str, Any]:
    """index_facts from the engine's distribution inspect: BuildKit gives attestation manifests the
    platform unknown/unknown, which is how they show there."""
    if not data:
        return {}
    if data.get("Descriptor", {}).get("mediaType") not in INDEX_TYPES:
        return {"index": False, "platforms": [], "provenance": "unknown"}
    platforms, attested = [], False
    for plat in data.get("Platforms") or []:
        if plat.get("os") == plat.get("architecture") == "unknown":
            attested = True
            continue
        platforms.append("/".join(p for p in (plat.get("os"), plat.get("architecture"), plat.get("variant")) if p))
    return {"index": True, "platforms": platforms, "provenance": "present" if attested else "absent"}


def index_facts(manifest: dict[str, Any]) -> dict[str, Any]:
    """Platforms and provenance of an OCI index (or one platform's manifest: no index, no attestation)."""
    if "manifests" not in manifest:
        return {"index": False, "platforms": [], "provenance": "unknown"} if manifest else {}
    platforms, attested = [], False
    for entry in manifest["manifests"]:
        kind = (entry.get("annotations") or {}).get("vnd.docker.reference.type")
        if kind == "attestation-manifest":
            attested = True
            continue
        plat = entry.get("platform") or {}
        platforms.append("/".join(p for p in (plat.get("os"), plat.get("architecture"), plat.get("variant")) if p))
    return {"index": True, "platforms": platforms, "provenance": "present" if attested else "absent"}
