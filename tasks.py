"""SOS App image tasks. `invoke --list` is the table of contents; the logic lives in src/sos_images."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from invoke import Collection, Context, Exit, task

from sos_images import catalog as catalog_mod
from sos_images.errors import ToolError
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
        ca_bundle=ca_bundle or os.environ.get("SOS_CA_BUNDLE") or None,
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
        _catalog(), service, registry, version, target, Reporter(json),
        semver=semver, sha=sha, latest=None if latest else False, dry_run=dry_run,
    )


@task(
    help={k: v for k, v in PUSH_HELP.items() if k != "dry-run"} | {"build-arg": "extra build argument NAME=VALUE (repeatable)", "no-cache": "build without cache"},
    iterable=["build_arg"],
)
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
        version=version, target=target or None, build_args=tuple(build_arg or ()), no_cache=no_cache,
        ca_bundle=os.environ.get("SOS_CA_BUNDLE") or None,
    )
    run_build(catalog, service, options, out)
    push_service(catalog, service, registry, version, target, out, semver=semver, sha=sha, latest=None if latest else False)


ns = Collection(services, build, login, push, publish)
