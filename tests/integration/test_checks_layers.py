"""invoke layers (dive 0.13.1) against the real engine: lean real images pass, a written-then-deleted file is wasted."""

from __future__ import annotations

import contextlib
import json
import subprocess

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
    return layers_of(GO, *args)


def layers_of(service: str, *args: str):
    result = invoke("layers", "--service", service, *args, "--json")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result, json.loads(result.stdout)


def test_a_file_written_then_deleted_is_reported_as_wasted_with_dives_figures(wasteful) -> None:
    result, report = layers("--version", wasteful, "--min-efficiency", "0", "--max-user-wasted-percent", "off")
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["wasted_bytes"] == BIG
    assert report["wasted_files"] == [{"path": "/big.bin", "count": 2, "size": BIG}]
    assert [layer["size"] for layer in report["layers"]][-2:] == [BIG, 0]
    assert "head -c 8388608" in report["layers"][-2]["created_by"]
    assert report["efficiency"] < 0.8 and report["user_wasted_percent"] == 1.0


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["--max-wasted-bytes", "1MB", "--min-efficiency", "0", "--max-user-wasted-percent", "off"],
            "highestWastedBytes: 8.4MB wasted > 1.0MB allowed",
        ),
        (
            ["--max-wasted-bytes", "1GB", "--min-efficiency", "0.95", "--max-user-wasted-percent", "off"],
            "lowestEfficiency: efficiency 72.93% < 95.00%",
        ),
        (["--max-wasted-bytes", "1GB", "--min-efficiency", "0"], "highestUserWastedPercent: 100.00%"),
        ([], "lowestEfficiency"),  # the project's rules from pyproject.toml
    ],
)
def test_each_rule_fails_the_task_naming_itself(wasteful, args: list[str], problem: str) -> None:
    result, report = layers("--version", wasteful, *args)
    assert result.returncode == 1
    assert [p for p in report["problems"] if p.startswith(problem)], report["problems"]
    assert result.stderr.splitlines()[-1].startswith(f"error: layers of ghcr.io/sos-app/{GO}:{wasteful}: ")


def test_a_users_dive_ci_file_carries_over(wasteful, tmp_path) -> None:
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(
        "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n"
    )
    result, report = layers("--version", wasteful, "--ci-config", str(lenient))
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["rules"] == {
        "lowestEfficiency": 0.5,
        "highestWastedBytes": 20_000_000,
        "highestUserWastedPercent": None,
    }
    strict = tmp_path / "strict.yaml"
    strict.write_text("rules:\n  highest-wasted-bytes: 8MB\n")
    result, report = layers("--version", wasteful, "--ci-config", str(strict), "--min-efficiency", "0")
    assert result.returncode == 1
    assert report["problems"][0] == "highestWastedBytes: 8.4MB wasted > 8.0MB allowed"


def test_our_figures_are_dives_own(wasteful, tmp_path) -> None:
    _, report = layers("--version", wasteful, "--min-efficiency", "0", "--max-user-wasted-percent", "off")
    out = tmp_path / "dive.json"
    subprocess.run(["dive", "--json", str(out), f"ghcr.io/sos-app/{GO}:{wasteful}"], check=True, capture_output=True)
    dive = json.loads(out.read_text())["image"]
    assert (report["total_bytes"], report["wasted_bytes"]) == (dive["sizeBytes"], dive["inefficientBytes"])
    assert report["efficiency"] == dive["efficiencyScore"]


@pytest.mark.parametrize(
    ("service", "last_layer"), [("auth-service", "COPY /srv/app/dist ./dist"), (GO, "COPY /out/app /app")]
)
def test_the_real_production_images_pass_the_project_rules(built, service: str, last_layer: str) -> None:
    b = built(service)
    result, report = layers_of(service, "--version", b.version)
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["problems"] == [] and report["layers"][-1]["created_by"] == last_layer
    assert report["rules"] == {
        "lowestEfficiency": 0.95,
        "highestWastedBytes": 10_000_000,
        "highestUserWastedPercent": 0.1,
    }
