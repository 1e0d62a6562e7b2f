"""invoke layers against the real engine: lean real images pass, a written-then-deleted file is wasted."""

from __future__ import annotations

import contextlib
import json

import pytest

from tests.conftest import REPO
from tests.fixtures.images import build_fixture
from tests.integration.conftest import RUN_ID, invoke

GO = "device-service"
BIG = 8 * 1024 * 1024  # what the fixture writes, then deletes


@pytest.fixture(scope="module")
def wasteful(client):
    version = f"fixture-wasted-{RUN_ID}"
    tag = build_fixture(client, REPO / "tests/fixtures/images/Dockerfile.wasted", f"ghcr.io/sos-app/{GO}:{version}")
    yield version
    with contextlib.suppress(Exception):
        client.images.remove(tag)


def layers(*args: str):
    result = invoke("layers", "--service", GO, *args, "--json")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result, json.loads(result.stdout)


def test_a_file_written_then_deleted_is_reported_as_wasted(wasteful) -> None:
    result, report = layers("--version", wasteful, "--max-wasted-bytes", "100MB", "--min-efficiency", "0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["wasted_bytes"] >= BIG
    assert report["wasted_files"][0] == {
        "path": "big.bin",
        "size": BIG,
        "layer": report["wasted_files"][0]["layer"],
        "how": "deleted",
    }
    writer = report["layers"][report["wasted_files"][0]["layer"]]
    assert "head -c 8388608" in writer["created_by"] and writer["wasted"] == BIG
    assert report["efficiency"] < 0.8


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--max-wasted-bytes", "1MB", "--min-efficiency", "0"], "wasted > 1.0MB allowed"),
        (["--max-wasted-bytes", "1GB", "--min-efficiency", "0.95"], "< 95.00%"),
        ([], "efficiency"),  # the project's thresholds from pyproject.toml
    ],
)
def test_the_thresholds_fail_the_task_naming_what_was_exceeded(wasteful, args: list[str], problem: str) -> None:
    result, report = layers("--version", wasteful, *args)
    assert result.returncode == 1
    assert any(problem in p for p in report["problems"])
    assert result.stderr.splitlines()[-1].startswith(f"error: layers of ghcr.io/sos-app/{GO}:{wasteful}: ")


@pytest.mark.parametrize("service", ["auth-service", GO])
def test_the_real_production_images_pass_the_project_thresholds(built, service: str) -> None:
    b = built(service)
    result = invoke("layers", "--service", service, "--version", b.version)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Efficiency:" in result.stdout and "wasted" in result.stdout
    assert "COPY /out/app /app" in result.stdout or service != GO
