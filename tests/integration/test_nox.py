"""A nox build session against the real engine: the same image `invoke build` makes, and no virtualenv."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.integration.conftest import RUN_ID

SESSION = "build(service='auth-service', target='production')"


def test_one_nox_build_session_builds_a_real_image(client: Any, tmp_path: Path) -> None:
    version = f"test-nox-{RUN_ID}"
    image = f"ghcr.io/sos-app/auth-service:{version}"
    envdir = tmp_path / "envs"
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "nox",
                "--envdir",
                str(envdir),
                "-s",
                SESSION,
                "--",
                "--version",
                version,
                "--progress",
                "plain",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
            env=dict(os.environ),
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert f"Session {SESSION} was successful" in result.stderr
        assert "Docker image built successfully" in result.stdout
        labels = client.images.get(image).labels
        assert labels["org.opencontainers.image.version"] == version
        assert labels["org.opencontainers.image.title"] == "auth-service"
        assert not envdir.exists() or not any(envdir.iterdir())  # it ran in nox's own process: no virtualenv
    finally:
        with contextlib.suppress(Exception):
            client.images.remove(image)
