"""Reproducible builds on the real engine: two cold builds of the same sources, with other file times, give the
same image digest (one Go and one Node service here; bench/run.py --only reproduce runs every service and
target)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RUN_ID, copy_repo, invoke

EPOCH = "1795909082"  # what CI exports from `git log -1 --format=%ct`


def touch_all(root: Path, when: float) -> None:
    for path in root.rglob("*"):
        os.utime(path, (when, when), follow_symlinks=False)


def cold_digest(repo: Path, service: str, target: str, when: float) -> str:
    touch_all(repo / "services", when)
    result = invoke(
        "build", "--service", service, "--target", target, "--version", f"repro-{RUN_ID}",
        "--no-cache", "--reproducible", "--json",
        env={"SOS_IMAGES_ROOT": str(repo), "SOURCE_DATE_EPOCH": EPOCH},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return json.loads(result.stdout)["digest"]


@pytest.mark.parametrize(("service", "target"), [("device-service", "production"), ("auth-service", "production")])
def test_two_cold_builds_with_other_file_times_give_one_digest(
    client: Any, tmp_path: Path, service: str, target: str
) -> None:
    repo = copy_repo(tmp_path, (service,))
    now = time.time()
    try:
        first = cold_digest(repo, service, target, now - 86400)
        second = cold_digest(repo, service, target, now - 60)
    finally:
        with contextlib.suppress(Exception):
            client.images.remove(f"ghcr.io/sos-app/{service}:repro-{RUN_ID}", noprune=False)
    assert first.startswith("sha256:")
    assert first == second


def test_a_reproducible_build_loads_the_image_with_its_times_clamped_to_the_commit(client: Any, tmp_path: Path) -> None:
    repo = copy_repo(tmp_path, ("device-service",))
    image = f"ghcr.io/sos-app/device-service:repro-{RUN_ID}"
    try:
        cold_digest(repo, "device-service", "production", time.time())
        attrs = client.images.get(image).attrs
    finally:
        with contextlib.suppress(Exception):
            client.images.remove(image, noprune=False)
    assert attrs["Created"].startswith("2026-11-28T23:38:02")
    assert not list(Path("/tmp").glob(f"sos-images-*/device-service-repro-{RUN_ID}.oci.tar"))
