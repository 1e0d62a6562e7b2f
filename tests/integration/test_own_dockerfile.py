"""A service with its own Dockerfile, on the real engine: a static site (busybox httpd on the alpine base, non-root,
EXPOSE from an ARG, a HEALTHCHECK with busybox wget) in a throwaway repository, with no setting at all."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_own_service
from tests.integration.conftest import RUN_ID, copy_repo, invoke

SERVICE = "static-site"
VERSION = f"test-own-{RUN_ID}"
IMAGE = f"ghcr.io/sos-app/{SERVICE}:{VERSION}"


@pytest.fixture(scope="module")
def repo(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The repository and the result of `invoke build` of its one service; the image is removed afterwards."""
    root = copy_repo(tmp_path_factory.mktemp("repo"), ())
    make_own_service(root, SERVICE)
    env = {"SOS_IMAGES_ROOT": str(root)}
    result = invoke("build", "--service", SERVICE, "--version", VERSION, "--progress", "plain", env=env)
    yield root, env, result
    with contextlib.suppress(Exception):
        client.images.remove(IMAGE)


def test_it_builds_with_its_own_dockerfile_and_the_tools_labels(repo: Any, client: Any) -> None:
    _, _, result = repo
    assert result.returncode == 0, result.stderr[-3000:]
    config = client.images.get(IMAGE).attrs["Config"]
    assert config["Labels"]["org.opencontainers.image.title"] == SERVICE
    assert config["Labels"]["org.opencontainers.image.version"] == VERSION
    assert (config["User"], list(config["ExposedPorts"])) == ("1001:1001", ["8080/tcp"])


def test_it_runs_healthy_and_passes_verify(repo: Any) -> None:
    _, env, built = repo
    assert built.returncode == 0, built.stderr[-3000:]
    result = invoke("verify", "--service", SERVICE, "--version", VERSION, "--json", env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checks = {c["name"]: c["result"] for c in json.loads(result.stdout)["checks"]}
    assert checks == {
        "labels": "PASS",
        "port": "PASS",
        "user": "PASS",
        "healthcheck": "PASS",
        "size": "n/a",  # no budget-mb given
        "healthy": "PASS",
        "health-endpoint": "n/a",  # no health-path: its HEALTHCHECK decides
        "process-user": "PASS",
        "stop": "PASS",
        "version-flag": "n/a",
        "no-shell": "n/a",
    }


def test_a_budget_and_a_health_path_are_checked_when_given(repo: Any) -> None:
    root, env, built = repo
    assert built.returncode == 0, built.stderr[-3000:]
    pyproject = root / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original + f'\n[tool.sos-images.services.{SERVICE}]\nhealth-path = "/"\nbudget-mb = 1\n')
    try:
        result = invoke("verify", "--service", SERVICE, "--version", VERSION, "--json", env=env)
    finally:
        pyproject.write_text(original)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert result.returncode == 1 and checks["size"]["result"] == "FAIL"  # the stand-in alpine is over 1 MB
    assert checks["health-endpoint"] == {"name": "health-endpoint", "result": "PASS", "detail": "GET / answered 200"}


def test_a_target_that_is_not_a_stage_is_one_line_and_builds_nothing(repo: Any, client: Any) -> None:
    _, env, _ = repo
    result = invoke("build", "--service", SERVICE, "--target", "nope", "--version", f"{VERSION}-x", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {SERVICE}'s Dockerfile has no stage 'nope': give one of site, web"
    ]
    tags = [tag for image in client.images.list(name=f"ghcr.io/sos-app/{SERVICE}") for tag in image.tags]
    assert tags and not [tag for tag in tags if f"{VERSION}-x" in tag]


def test_its_services_row_says_how_it_is_built(repo: Any) -> None:
    root, env, _ = repo
    result = invoke("services", "--json", env=env)
    (row,) = json.loads(result.stdout)["services"]
    assert row == {
        "service": SERVICE,
        "language": "dockerfile",
        "targets": ["web"],
        "port": 8080,
        "health": "HEALTHCHECK",
        "dockerfile": f"services/{SERVICE}/Dockerfile",
        "context": f"services/{SERVICE}",
        "path": f"services/{SERVICE}",
    }
    assert Path(root / "services" / SERVICE / "Dockerfile").is_file()


def test_syft_makes_its_sbom_like_any_other_image(repo: Any, tmp_path: Path) -> None:
    _, env, built = repo
    assert built.returncode == 0, built.stderr[-3000:]
    output = tmp_path / "sbom.cdx.json"
    result = invoke("sbom", "--service", SERVICE, "--version", VERSION, "--output", str(output), "--json", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(output.read_text())["bomFormat"] == "CycloneDX"
