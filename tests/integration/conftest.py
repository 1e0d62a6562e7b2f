"""Real-engine fixtures: every test here talks to dockerd, BuildKit and real tools.

Outside CI a missing engine skips these tests with the reason; with CI=true it fails them.
Images are built once per session under a unique version and removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sos_images import process as docker_layer
from sos_images.catalog import dockerfile_base_images
from tests.conftest import REPO, invoke

RUN_ID = uuid.uuid4().hex[:8]
BASE_IMAGES = tuple(dockerfile_base_images(REPO / "dockerfiles").values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.docker)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the Docker engine: {reason} (run scripts/bootstrap.sh)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def client() -> Any:
    import docker

    try:
        cli = docker.from_env(timeout=300)
        cli.ping()
    except Exception as exc:  # any failure means: no engine here
        _unavailable(f"no Docker engine ({exc.__class__.__name__})")
    for image in BASE_IMAGES:
        try:
            cli.images.get(image)
        except docker.errors.ImageNotFound:
            _unavailable(f"base image {image} missing (scripts/bootstrap.sh builds stand-ins)")
    return cli


@dataclass
class Built:
    service: str
    target: str
    version: str
    image: str
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def built(client: Any) -> Iterator[Callable[..., Built]]:
    """build(service, target) -> Built, once per session; tags removed at the end."""
    cache: dict[tuple[str, str], Built] = {}
    version = f"test-{RUN_ID}"

    def build(service: str, target: str = "production") -> Built:
        key = (service, target)
        if key not in cache:
            result = invoke(
                "build", "--service", service, "--target", target, "--version", version, "--progress", "plain"
            )
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            suffix = "" if target == "production" else f"-{target}"
            cache[key] = Built(service, target, version, f"ghcr.io/sos-app/{service}:{version}{suffix}", result)
        return cache[key]

    yield build
    for b in cache.values():
        with contextlib.suppress(Exception):
            client.images.remove(b.image, noprune=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(client: Any, image: str, **kwargs: Any) -> Iterator[Any]:
    """A detached container that is always removed, whatever happens in the block."""
    container = client.containers.run(image, detach=True, **kwargs)
    try:
        yield container
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def wait_health(container: Any, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = "none"
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        status = (state.get("Health") or {}).get("Status", "none")
        if status == "healthy" or not state.get("Running"):
            return status
        time.sleep(0.5)
    return status


def process_uid(container: Any) -> int:
    """The real UID of the container's main process, read from the host's /proc."""
    container.reload()
    uid = docker_layer.process_uid(container.attrs["State"]["Pid"])
    assert uid is not None, "no Uid line in /proc"
    return uid


FAST_HEALTH = {"test": None, "interval": 1_000_000_000, "timeout": 3_000_000_000, "retries": 3, "start_period": 0}


def copy_repo(dest: Path, services: tuple[str, ...]) -> Path:
    """A throwaway repository with some services, for tests that change files."""
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    shutil.copytree(REPO / "dockerfiles", dest / "dockerfiles", symlinks=True)
    shutil.copytree(REPO / "libs", dest / "libs", dirs_exist_ok=True)  # the services' shared libraries
    for name in services:
        shutil.copytree(
            REPO / "services" / name, dest / "services" / name, ignore=shutil.ignore_patterns("node_modules", "dist")
        )
    return dest


def pytest_terminal_summary(terminalreporter: Any) -> None:
    try:
        import docker

        cli = docker.from_env()
        lines = []
        for image in BASE_IMAGES:
            labels = cli.images.get(image).labels or {}
            kind = "local stand-in (shared/standin)" if "standin.image" in labels else "upstream"
            lines.append(f"{image}: {kind}")
        info = cli.info()
        store = "containerd image store" if "snapshotter" in str(info.get("DriverStatus")) else info.get("Driver")
        lines.append(f"engine: Docker {info.get('ServerVersion')} ({store})")
        terminalreporter.write_sep("-", "engine and base images used by the docker tests")
        for line in lines:
            terminalreporter.write_line(line)
    except Exception:
        return
