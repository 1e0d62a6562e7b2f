"""The bake file is a product: plain `docker buildx bake` builds the same images from it, and build-all then
finds them up to date (the file carries the inputs label)."""

from __future__ import annotations

import contextlib
import json
import subprocess
from typing import Any

import pytest

from tests.integration.conftest import RUN_ID, copy_repo, invoke

SERVICES = ("device-service", "emergency-service")
VERSION = f"test-bake-{RUN_ID}"


@pytest.fixture(scope="module")
def baked(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    repo = copy_repo(tmp_path_factory.mktemp("repo"), SERVICES)
    env = {"SOS_IMAGES_ROOT": str(repo), "SOURCE_DATE_EPOCH": "1700000000"}
    try:
        written = invoke("bake-file", "--language", "go", "--version", VERSION, env=env)
        assert written.returncode == 0, written.stderr[-3000:]
        bake = subprocess.run(
            ["docker", "buildx", "bake", "-f", "docker-bake.json", "--load", "--progress", "plain"],
            cwd=repo, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert bake.returncode == 0, bake.stderr[-3000:]
        yield repo, env, json.loads((repo / "docker-bake.json").read_text())
    finally:
        for service in SERVICES:
            with contextlib.suppress(Exception):
                client.images.remove(f"ghcr.io/sos-app/{service}:{VERSION}")


def test_plain_bake_builds_the_images_the_catalog_names(baked: Any, client: Any) -> None:
    _, _, definition = baked
    assert set(definition["group"]["default"]["targets"]) == {f"{s}-production" for s in SERVICES}
    for service in SERVICES:
        spec = definition["target"][f"{service}-production"]
        assert spec["attest"] == ["type=provenance,disabled=true"]
        labels = client.images.get(f"ghcr.io/sos-app/{service}:{VERSION}").labels
        assert labels["org.opencontainers.image.title"] == service
        assert labels["io.sos-app.inputs"] == spec["labels"]["io.sos-app.inputs"]


def test_build_all_finds_what_bake_built_up_to_date(baked: Any) -> None:
    _, env, _ = baked
    result = invoke("build-all", "--language", "go", "--version", VERSION, "--json", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {r["result"] for r in json.loads(result.stdout)["results"]} == {"up to date"}
