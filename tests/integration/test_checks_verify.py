"""invoke verify against the real engine: real images pass, deliberately broken ones fail naming the check."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from tests.conftest import REPO
from tests.fixtures.images import build_fixture
from tests.integration.conftest import RUN_ID, invoke

NODE, GO = "auth-service", "device-service"
BROKEN = REPO / "tests" / "fixtures" / "verify"
CHECKS = [
    "labels",
    "port",
    "user",
    "healthcheck",
    "size",
    "healthy",
    "health-endpoint",
    "process-user",
    "stop",
    "version-flag",
    "no-shell",
]


def leftovers(client: Any, image: str) -> list[Any]:
    return client.containers.list(all=True, filters={"ancestor": image})


def verify(*args: str) -> tuple[Any, dict[str, Any]]:
    result = invoke("verify", *args, "--json")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result, json.loads(result.stdout)


@pytest.mark.parametrize(("service", "not_applicable"), [(NODE, {"version-flag", "no-shell"}), (GO, set())])
def test_verify_passes_on_the_real_production_image(built, client, service: str, not_applicable: set[str]) -> None:
    b = built(service)
    result, report = verify("--service", service, "--version", b.version)
    assert result.returncode == 0, result.stderr[-3000:]
    results = {c["name"]: c["result"] for c in report["checks"]}
    assert list(results) == CHECKS
    assert {name for name, r in results.items() if r == "n/a"} == not_applicable
    assert report["passed"] and report["failed"] == [] and report["image"] == b.image
    assert "Health check interval overridden to 1s" in result.stderr and "the image says 30s" in result.stderr
    assert leftovers(client, b.image) == []


@pytest.fixture(scope="module")
def broken(client):
    """name -> (version, target, tag): a real Go build under its own version, then broken under the same tag.

    Its own version keeps the labels and `--version` consistent, so only the broken thing can fail.
    """
    made: dict[str, tuple[str, str, str]] = {}
    bases = {"root": "production", "unhealthy": "production", "sigterm": "production-alpine", "shell": "production"}
    try:
        for name, target in bases.items():
            version = f"fixture-{name}-{RUN_ID}"
            suffix = "" if target == "production" else f"-{target}"
            tag = f"ghcr.io/sos-app/{GO}:{version}{suffix}"
            made[name] = (version, target, tag)
            result = invoke("build", "--service", GO, "--target", target, "--version", version, "--progress", "quiet")
            assert result.returncode == 0, result.stderr[-3000:]
            build_fixture(client, BROKEN / f"Dockerfile.{name}", tag, {"BASE": tag})
        yield made
    finally:
        for _, _, tag in made.values():
            with contextlib.suppress(Exception):
                client.images.remove(tag)


@pytest.mark.parametrize(
    ("fixture", "failed", "why"),
    [
        ("root", ["user", "process-user"], "main process runs as UID 0, expected 1001"),
        ("unhealthy", ["healthy"], "unhealthy after"),
        ("sigterm", ["stop"], "docker stop took 1"),  # 10 s and more: SIGKILL after the grace period
        ("shell", ["no-shell"], "contains /bin/busybox"),
    ],
)
def test_verify_fails_on_a_broken_image_naming_the_failed_check(
    broken, client, fixture: str, failed: list[str], why: str
) -> None:
    version, target, tag = broken[fixture]
    result, report = verify("--service", GO, "--target", target, "--version", version)
    assert result.returncode == 1
    assert report["failed"] == failed, report["checks"]
    details = " | ".join(c["detail"] for c in report["checks"] if c["result"] == "FAIL")
    assert why in details
    assert result.stderr.splitlines()[-1].startswith(f"error: verify failed for {tag}: {', '.join(failed)} (")
    assert leftovers(client, tag) == []


def test_an_image_that_was_never_built_is_one_line_naming_the_build_command() -> None:
    result = invoke("verify", "--service", GO, "--version", f"never-built-{RUN_ID}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: image ghcr.io/sos-app/{GO}:never-built-{RUN_ID} not found in the engine: build it first "
        f"(invoke build --service {GO} --version never-built-{RUN_ID})"
    ]
