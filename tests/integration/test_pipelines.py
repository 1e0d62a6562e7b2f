"""The example pipelines' own commands, run here against the local engine and a real registry.

GHCR cannot be reached from here, so the `ghcr` profile becomes the `private` one pointed at a local registry
with htpasswd auth, and keyless signing becomes a key pair; every other word is the pipeline's."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, invoke
from tests.integration.conftest import RUN_ID
from tests.integration.registry import local_registry

CI = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
SHA = f"sha-{RUN_ID[:7]}"


def step(job: str, step_id: str) -> dict[str, Any]:
    return next(s for s in CI["jobs"][job]["steps"] if s.get("id") == step_id or s.get("name") == step_id)


@pytest.fixture(scope="module")
def registry(client, tmp_path_factory):
    with local_registry(tmp_path_factory.mktemp("pipeline-registry")) as reg:
        assert invoke("login", "--registry", "private", env=reg.env).returncode == 0
        yield reg


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> list[dict[str, str]]:
    """The matrix step's script, as the runner runs it (bash, GITHUB_OUTPUT, no base ref on a push)."""
    output = tmp_path_factory.mktemp("gh") / "output"
    script = step("matrix", "list")["run"]
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "BASE_REF": ""}
    subprocess.run(["bash", "-e", "-c", script], cwd=REPO, env=env, check=True, capture_output=True, timeout=120)
    line = next(x for x in output.read_text().splitlines() if x.startswith("builds="))
    return json.loads(line.removeprefix("builds="))


def pipeline_args(text: str, entry: dict[str, str]) -> list[str]:
    """The nox arguments of a `run:` line, with the matrix filled in and ghcr swapped for the local registry."""
    for key, value in entry.items():
        text = text.replace(f"${{{{ matrix.{key} }}}}", value)
    text = text.replace("${GITHUB_SHA::7}", SHA.removeprefix("sha-")).replace("--registry ghcr", "--registry private")
    return shlex.split(text)[1:]


def test_the_matrix_step_lists_every_build_session_and_go_production_for_two_platforms(matrix) -> None:
    sessions = {entry["session"] for entry in matrix}
    assert "build(service='device-service', target='production')" in sessions
    go = next(e for e in matrix if e["session"] == "build(service='device-service', target='production')")
    assert go["platform"] == "linux/amd64,linux/arm64"


def test_one_build_and_verify_session_from_the_matrix_run_as_the_pipeline_runs_them(matrix, registry) -> None:
    entry = next(e for e in matrix if e["session"] == "build(service='device-service', target='production')")
    env = registry.env
    for name in ("Build", "Verify"):
        args = pipeline_args(step("build", name)["run"], entry)
        result = subprocess.run(
            [sys.executable, "-m", "nox", *args], cwd=REPO, env={**os.environ, **env},
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert result.returncode == 0, f"{name}: {result.stderr[-3000:]}"
    image = f"{registry.host}/sos-app/device-service:{SHA}"
    subprocess.run(["docker", "rmi", image], capture_output=True)


RELEASE = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())


def release_step(job: str, name: str) -> str:
    return next(s for s in RELEASE["jobs"][job]["steps"] if s.get("id") == name or s.get("name") == name)["run"]


def test_the_release_plan_puts_each_platform_of_each_service_on_its_own_runner(tmp_path: Path) -> None:
    output = tmp_path / "output"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "AMD64_RUNNER": "ubuntu-24.04", "ARM64_RUNNER": "arm-label"}
    subprocess.run(["bash", "-e", "-c", release_step("plan", "list")], cwd=REPO, env=env, check=True, timeout=120)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    builds = json.loads(outputs["builds"])
    assert len(builds) == 2 * len(json.loads(outputs["services"]))
    arm = next(b for b in builds if b["service"] == "device-service" and b["arch"] == "arm64")
    assert arm == {"service": "device-service", "platform": "linux/arm64", "arch": "arm64", "runner": "arm-label"}


def test_the_release_jobs_publish_each_platform_by_digest_then_merge_and_sign(registry, tmp_path: Path) -> None:
    """release.yml's platform and merge steps, word for word (GHCR -> the local registry, keyless -> a key pair);
    both platforms on this one engine, as Go cross-compiles; the digest folder is what the artifacts carry."""
    password = f"release-{RUN_ID}"
    subprocess.run(
        ["cosign", "generate-key-pair"], cwd=tmp_path, env={"COSIGN_PASSWORD": password, "PATH": os.environ["PATH"]},
        check=True, capture_output=True,
    )  # fmt: skip
    env = {**os.environ, **registry.env, "COSIGN_PASSWORD": password}
    version = f"v5.0.0-r{RUN_ID}"
    step_summary = tmp_path / "step-summary.md"

    def run_step(text: str, entry: dict[str, str]) -> None:
        text = text.replace("$VERSION", version).replace("$GITHUB_STEP_SUMMARY", str(step_summary))
        text = text.replace("--keyless", f"--key {tmp_path / 'cosign.key'}")
        text = text.replace("--digests digests", f"--digests {tmp_path / 'digests'}")
        result = subprocess.run([sys.executable, "-m", "nox", *pipeline_args(text, entry)], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=900)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]

    platform_step = release_step("platform", "Build, verify on this runner, check the release's tags, push by digest")
    for arch in ("amd64", "arm64"):
        run_step(platform_step, {"service": "device-service", "platform": f"linux/{arch}"})
    merge_step = release_step("merge", "One index under the release's tags, signed and attested")
    run_step(merge_step, {"service": "device-service"})
    assert "linux/arm64" in step_summary.read_text() and "multi-platform index" in step_summary.read_text()
    checked = invoke(
        "verify", "-s", "device-service", "-r", "private", "-v", version, "--signed", "--key",
        str(tmp_path / "cosign.pub"), env={**registry.env, "COSIGN_PASSWORD": password},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
