"""Scale-out caching: the layer cache travels through a real registry and survives a wiped local cache.

The docker driver (dockerd's BuildKit) exports only inline cache, so the image pushed is the cache. Its cache
chain covers every step of an unchanged build, including the dependency steps of the builder stages. This test
prunes the machine's whole BuildKit cache (`docker builder prune -af`): no other test does.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from typing import Any

import pytest

from tests.integration.conftest import RUN_ID, copy_repo, invoke
from tests.integration.registry import local_registry

DEPENDENCY_STEPS = {"device-service": "go mod download", "auth-service": "npm ci"}
VERSION = f"test-cache-{RUN_ID}"


def step_statuses(output: str, needle: str) -> list[str]:
    """How BuildKit ended each RUN step whose command contains needle: 'CACHED', 'DONE 1.2s', 'ERROR ...'."""
    vertices = {m.group(1) for m in re.finditer(r"^#(\d+) \[[^\]]+\] RUN (.*)$", output, re.M) if needle in m.group(2)}
    assert vertices, f"no RUN step with {needle!r} in the output"
    return [
        m.group(2) for m in re.finditer(r"^#(\d+) (CACHED|DONE.*|ERROR.*)$", output, re.M) if m.group(1) in vertices
    ]


@pytest.fixture(scope="module")
def rebuilds(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Build with inline cache, push, forget everything locally, rebuild with --cache-from the registry."""
    # A copy outside git with a pinned date: both builds get identical build arguments whatever is committed meanwhile.
    repo = copy_repo(tmp_path_factory.mktemp("repo"), tuple(DEPENDENCY_STEPS))
    with local_registry(tmp_path_factory.mktemp("cache-registry")) as reg:
        env = {**reg.env, "SOS_IMAGES_ROOT": str(repo), "SOURCE_DATE_EPOCH": "1700000000"}
        assert invoke("login", "--registry", "private", env=env).returncode == 0
        refs = {service: f"{reg.host}/sos-app/{service}:{VERSION}" for service in DEPENDENCY_STEPS}
        try:
            for service in DEPENDENCY_STEPS:
                first = invoke(
                    "build", "--service", service, "--version", VERSION, "--cache-to", "type=inline", env=env
                )
                assert first.returncode == 0, first.stderr[-3000:]
                pushed = invoke("push", "--service", service, "--registry", "private", "--version", VERSION, env=env)
                assert pushed.returncode == 0, pushed.stderr[-3000:]
                _forget(client, f"ghcr.io/sos-app/{service}:{VERSION}", refs[service])
            subprocess.run(["docker", "builder", "prune", "-af"], check=True, capture_output=True, timeout=300)
            outputs = {service: _rebuild(service, refs[service], env) for service in DEPENDENCY_STEPS}
            yield outputs, refs
        finally:
            for service in DEPENDENCY_STEPS:
                _forget(client, f"ghcr.io/sos-app/{service}:{VERSION}", refs[service])


def _rebuild(service: str, ref: str, env: dict[str, str]) -> str:
    result = invoke(
        "build",
        "--service",
        service,
        "--version",
        VERSION,
        "--progress",
        "plain",
        "--builder",
        "default",
        "--cache-from",
        f"type=registry,ref={ref}",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def _forget(client: Any, *images: str) -> None:
    for image in images:
        with contextlib.suppress(Exception):
            client.images.remove(image)


@pytest.mark.parametrize("service", list(DEPENDENCY_STEPS))
def test_dependency_steps_come_cached_from_the_registry_after_a_prune(rebuilds: Any, service: str) -> None:
    outputs, refs = rebuilds
    assert f"importing cache manifest from {refs[service]}" in outputs[service]
    assert set(step_statuses(outputs[service], DEPENDENCY_STEPS[service])) == {"CACHED"}


@pytest.mark.parametrize("service", list(DEPENDENCY_STEPS))
def test_the_rebuilt_image_is_complete(rebuilds: Any, client: Any, service: str) -> None:
    image = client.images.get(f"ghcr.io/sos-app/{service}:{VERSION}")
    assert image.labels["org.opencontainers.image.title"] == service
    assert image.attrs["Size"] > 1_000_000
