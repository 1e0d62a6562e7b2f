"""invoke scan with the real trivy, offline: secrets and misconfigurations, the gate, outputs, UPX, no database.

Trivy's vulnerability database is unreachable here, so vulnerability gating is tested in
tests/unit/test_checks_scan.py with reports in Trivy's schema; these tests scan real images.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import string
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.fixtures.images import build_fixture, trivy_or_skip
from tests.integration.conftest import RUN_ID, copy_repo, invoke

NODE, GO = "auth-service", "device-service"
IMAGES = REPO / "tests" / "fixtures" / "images"


@pytest.fixture(scope="module")
def trivy() -> str:
    return trivy_or_skip()


def random_token(prefix: str, length: int, alphabet: str) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


@pytest.fixture(scope="module")
def planted(client, tmp_path_factory) -> Any:
    """An image holding a GitHub token and an AWS key id, made up for this run (none is ever committed)."""
    context = tmp_path_factory.mktemp("secret")
    shutil.copy(IMAGES / "Dockerfile.secret", context / "Dockerfile")
    tokens = [
        random_token("ghp_", 36, string.ascii_letters + string.digits),
        random_token("AKIA", 16, string.ascii_uppercase + "234567"),
    ]
    (context / "settings.env").write_text(f"GITHUB_TOKEN={tokens[0]}\nAWS_ACCESS_KEY_ID={tokens[1]}\n")
    version = f"fixture-secret-{RUN_ID}"
    tag = build_fixture(client, context / "Dockerfile", f"ghcr.io/sos-app/{NODE}:{version}")
    yield version, tokens
    with contextlib.suppress(Exception):
        client.images.remove(tag)


@pytest.fixture(scope="module")
def packed(built, client) -> Any:
    """The Go production image built with the opt-in UPX=true build argument."""
    version = f"fixture-upx-{RUN_ID}"
    tag = f"ghcr.io/sos-app/{GO}:{version}"
    result = invoke("build", "--service", GO, "--version", version, "--build-arg", "UPX=true")
    assert result.returncode == 0, result.stderr[-3000:]
    yield version
    with contextlib.suppress(Exception):
        client.images.remove(tag)


def scan(service: str, version: str, *args: str, scanners: str = "secret", env: dict[str, str] | None = None):
    argv = ["scan", "--service", service, "--version", version, "--scanners", scanners, *args, "--json"]
    result = invoke(*argv, env=env)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result, json.loads(result.stdout) if result.stdout.strip() else None


def test_a_planted_secret_is_found_and_fails_the_scan(trivy, planted) -> None:
    version, tokens = planted
    result, report = scan(NODE, version)
    assert result.returncode == 1
    assert sorted(f["rule"] for f in report["blocking"]) == ["aws-access-key-id", "github-pat"]
    assert {f["target"] for f in report["blocking"]} == {"/app/settings.env"}
    assert report["counts"]["secret"] == {"CRITICAL": 2, "HIGH": 0} and not report["passed"]
    assert result.stderr.splitlines()[-1] == (
        f"error: scan of ghcr.io/sos-app/{NODE}:{version} found 2 CRITICAL (fails on CRITICAL,HIGH)"
    )
    assert not any(token in result.stdout + result.stderr for token in tokens)  # trivy masks them


def test_the_gate_follows_fail_on(trivy, planted) -> None:
    result, report = scan(NODE, planted[0], "--severity", "CRITICAL,HIGH,MEDIUM", "--fail-on", "MEDIUM")
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["counts"]["total"]["CRITICAL"] == 2 and report["blocking"] == [] and report["passed"]


def test_trivyignore_entries_let_the_scan_pass(trivy, planted, tmp_path: Path) -> None:
    repo = copy_repo(tmp_path, (NODE,))
    (repo / ".trivyignore").write_text("# test fixtures, not real\ngithub-pat\naws-access-key-id exp:2099-12-31\n")
    result, report = scan(NODE, planted[0], env={"SOS_IMAGES_ROOT": str(repo)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["counts"]["total"] == {"CRITICAL": 0, "HIGH": 0}
    assert f"--ignorefile={repo / '.trivyignore'}" in result.stderr


def test_sarif_and_json_reports_are_written_to_the_output_file(trivy, planted, tmp_path: Path) -> None:
    sarif = tmp_path / "scan.sarif"
    result, _ = scan(NODE, planted[0], "--format", "sarif", "--output", str(sarif))
    assert result.returncode == 1
    doc = json.loads(sarif.read_text())
    assert doc["version"] == "2.1.0"
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == {"aws-access-key-id", "github-pat"}
    raw = tmp_path / "scan.json"
    scan(NODE, planted[0], "--format", "json", "--output", str(raw))
    assert json.loads(raw.read_text())["SchemaVersion"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.json", "scan.sarif"]


def test_the_table_format_prints_trivys_table_and_the_summary(trivy, planted) -> None:
    result = invoke("scan", "--service", NODE, "--version", planted[0], "--scanners", "secret")
    assert result.returncode == 1
    assert "github-pat" in result.stdout and "/app/settings.env (secrets)" in result.stdout
    assert "scan of ghcr.io/sos-app/auth-service" in result.stdout and "CRITICAL" in result.stdout


@pytest.mark.parametrize("service", [NODE, GO])
def test_real_production_images_have_no_secret_or_misconfiguration(trivy, built, service: str) -> None:
    result, report = scan(service, built(service).version, scanners="secret,misconfig")
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["passed"] and report["upx"] == []
    assert set(report["counts"]) == {"secret", "misconfiguration", "total"}


def test_a_upx_packed_binary_is_warned_about(trivy, packed) -> None:
    result, report = scan(GO, packed)
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["upx"] == ["app"]
    assert f"UPX-packed executables in ghcr.io/sos-app/{GO}:{packed}: /app" in " ".join(result.stderr.split())


def test_syft_finds_no_go_standard_library_in_a_upx_packed_binary(packed, tmp_path: Path) -> None:
    result = invoke("sbom", "--service", GO, "--version", packed, "--output", str(tmp_path / "x.json"), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["go_stdlib"] is None
    assert "a UPX-packed binary hides its modules" in " ".join(result.stderr.split())


def test_without_a_vulnerability_database_the_scan_says_what_to_do(trivy, built, tmp_path: Path) -> None:
    env = {"TRIVY_CACHE_DIR": str(tmp_path)}  # an empty cache: no database, whatever this machine has
    result = invoke("scan", "--service", GO, "--version", built(GO).version, "--skip-db-update", env=env)
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1] == (
        "error: trivy has no vulnerability database (--skip-db-update, but no database in the cache yet): set "
        "[tool.sos-images.scan] db-repository to a reachable mirror, or scan without it: --scanners secret,misconfig"
    )
