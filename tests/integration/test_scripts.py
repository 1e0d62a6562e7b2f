"""The seed's build-node-image.sh / build-go-image.sh: same interface, same image as `invoke build`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.conftest import RUN_ID, invoke

SCRIPTS = REPO / "scripts"
PINNED = {"SOURCE_DATE_EPOCH": "1700000000"}  # both sides plan the same build date


def script(name: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / name), *args], cwd=cwd, capture_output=True, text=True, timeout=900, env={**os.environ, **PINNED}
    )


def planned(output: str) -> tuple[str, str]:
    """The image line and the docker command a dry run prints."""
    lines = output.splitlines()
    image = next(line for line in lines if line.startswith("[INFO] Image:"))
    return image, next(line for line in lines if " --tag " in line)


@pytest.mark.parametrize(
    ("name", "args", "invoke_args"),
    [
        ("build-node-image.sh", ["auth-service"], []),
        (
            "build-node-image.sh",
            ["auth-service", "development", "v1.0.0"],
            ["--target", "development", "--version", "v1.0.0"],
        ),
        ("build-go-image.sh", ["emergency-service", "production", "staging"], ["--version", "staging"]),
        (
            "build-go-image.sh",
            ["location-service", "production-alpine", "v1.2.3"],
            ["--target", "production-alpine", "--version", "v1.2.3"],
        ),
    ],
)
def test_scripts_plan_the_same_image_and_command_as_invoke_build(
    name: str, args: list[str], invoke_args: list[str], tmp_path: Path
) -> None:
    ours = script(name, *args, "--dry-run", cwd=tmp_path)  # any working directory
    assert ours.returncode == 0, ours.stderr
    theirs = invoke("build", "--service", args[0], *invoke_args, "--dry-run", env=PINNED)
    assert theirs.returncode == 0, theirs.stderr
    assert planned(ours.stdout) == planned(theirs.stdout)


def test_a_script_builds_the_very_image_invoke_builds(client: Any) -> None:
    version = f"test-sh-{RUN_ID}"
    image = f"ghcr.io/sos-app/device-service:{version}"
    try:
        ours = script("build-go-image.sh", "device-service", "production", version)
        assert ours.returncode == 0, ours.stderr[-3000:]
        assert f"Docker image built successfully: {image}" in ours.stdout
        built_by_script = client.images.get(image).id
        theirs = invoke(  # --rebuild: BuildKit itself must give the same image, not the up-to-date check
            "build", "--service", "device-service", "--version", version, "--rebuild", "--json", env=PINNED
        )
        assert theirs.returncode == 0, theirs.stderr[-3000:]
        assert json.loads(theirs.stdout)["report"]["id"] == built_by_script
    finally:
        with contextlib.suppress(Exception):
            client.images.remove(image)


@pytest.mark.parametrize(
    ("name", "service", "message"),
    [
        (
            "build-go-image.sh",
            "auth-service",
            "error: auth-service is a node service, not go: use scripts/build-node-image.sh auth-service",
        ),
        (
            "build-node-image.sh",
            "device-service",
            "error: device-service is a go service, not node: use scripts/build-go-image.sh device-service",
        ),
    ],
)
def test_the_wrong_script_for_the_language_is_one_clear_line(name: str, service: str, message: str) -> None:
    result = script(name, service)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert result.stdout == ""


def test_an_unknown_service_or_target_is_one_line_from_the_catalog() -> None:
    unknown = script("build-node-image.sh", "billing-service")
    assert unknown.returncode == 2 and unknown.stderr.strip().startswith("error: unknown service 'billing-service'")
    target = script("build-node-image.sh", "auth-service", "production-alpine", "--dry-run")
    assert target.returncode == 2 and "valid targets: production, development" in target.stderr
    assert "Traceback" not in unknown.stderr + target.stderr


def test_usage_is_printed_for_help_and_for_missing_or_extra_arguments() -> None:
    help_ = script("build-go-image.sh", "--help")
    assert help_.returncode == 0 and help_.stdout.startswith(
        "usage: build-go-image.sh <service-name> [target] [version]"
    )
    for args in ([], ["a", "b", "c", "d"]):
        result = script("build-go-image.sh", *args)
        assert result.returncode == 2 and result.stderr.startswith("usage: build-go-image.sh")
