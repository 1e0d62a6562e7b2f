"""build-all without an engine: what it selects, the per-build options, the dry run and its failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sos_images.buildall import _options_for, _reason, plan_jobs, select
from sos_images.catalog import load_catalog
from sos_images.errors import UsageError
from sos_images.plans import BuildOptions
from tests.conftest import REPO, invoke, make_go_service, make_node_service


@pytest.fixture
def fake_docker(tmp_path: Path) -> dict[str, str]:
    """A docker CLI with a buildx plugin that does nothing: enough to plan, never enough to build."""
    bin_dir, plugins = tmp_path / "bin", tmp_path / "docker-config" / "cli-plugins"
    bin_dir.mkdir()
    plugins.mkdir(parents=True)
    for program in (bin_dir / "docker", plugins / "docker-buildx"):
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
    }


def test_default_selection_is_every_service_at_its_default_target() -> None:
    catalog = load_catalog(REPO)
    assert select(catalog) == [(name, "production") for name in catalog.services]


def test_all_selects_every_valid_pair_and_language_filters() -> None:
    catalog = load_catalog(REPO)
    assert select(catalog, target="all") == [(s.name, t) for s, t in catalog.matrix()]
    assert select(catalog, "go", "production-alpine") == [
        ("device-service", "production-alpine"),
        ("emergency-service", "production-alpine"),
        ("location-service", "production-alpine"),
    ]
    assert {t for _, t in select(catalog, "node", "all")} == {"production", "development"}


@pytest.mark.parametrize(
    ("language", "target", "message"),
    [
        ("rust", None, "unknown language 'rust'"),
        (None, "prod", "unknown target 'prod'"),
        ("node", "production-alpine", "nothing to build"),
    ],
)
def test_bad_selection_is_a_usage_error(language: str | None, target: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        select(load_catalog(REPO), language, target)


def test_unreadable_service_folders_are_selected_so_they_are_reported(fake_repo: Path) -> None:
    (fake_repo / "services" / "empty-service").mkdir()
    catalog = load_catalog(fake_repo)
    assert ("empty-service", "-") in select(catalog)
    assert ("empty-service", "-") not in select(catalog, "go")


def test_cache_references_get_each_builds_service_and_target() -> None:
    options = BuildOptions(
        cache_from=("type=registry,ref=r.example/{service}:cache-{target}",), cache_to=("type=inline",), progress="tty"
    )
    filled = _options_for(options, "device-service", "production")
    assert filled.cache_from == ("type=registry,ref=r.example/device-service:cache-production",)
    assert filled.cache_to == ("type=inline",)
    assert (filled.target, filled.progress) == ("production", "plain")


def test_the_failure_reason_is_the_failed_step_and_its_last_output_line() -> None:
    stderr = (
        "#11 [builder 7/7] RUN set -eux; go build ./cmd\n"
        "#11 0.239 # github.com/sos-app/billing-service/cmd\n"
        "#11 0.239 cmd/main.go:2:19: syntax error: unexpected go\n"
        "#12 [production 1/5] COPY --from=builder /out/app /app\n"
        "#11 ERROR: executor failed running [/bin/sh -c set -eux; go build ./cmd]: exit code: 1\n"
        "ERROR: failed to solve: executor failed running [/bin/sh -c set -eux; go build ./cmd]: exit code: 1\n"
    )
    assert _reason(stderr, 1) == "[builder 7/7] failed: cmd/main.go:2:19: syntax error: unexpected go"


def test_without_buildkit_steps_the_reason_is_the_last_error_line() -> None:
    assert (
        _reason("resolving\nERROR: failed to solve: no such image\ndone\n", 1)
        == "ERROR: failed to solve: no such image"
    )
    assert _reason("", 7) == "exit 7"


def test_dry_run_prints_one_command_per_image(fake_docker: dict[str, str]) -> None:
    result = invoke(
        "build-all", "--language", "go", "--target", "all", "--version", "v1.0.0", "--dry-run", env=fake_docker
    )
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if "buildx build" in line]
    assert len(commands) == 9
    assert any("--tag ghcr.io/sos-app/location-service:v1.0.0-development" in c for c in commands)


def test_dry_run_reports_every_broken_service_and_exits_non_zero(fake_repo: Path, fake_docker: dict[str, str]) -> None:
    make_node_service(fake_repo, "lazy-service", build_script=False)
    make_go_service(fake_repo, "nomod-service", gomod=False)
    env = {**fake_docker, "SOS_IMAGES_ROOT": str(fake_repo)}
    result = invoke("build-all", "--dry-run", "--json", env=env)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    outcome = {r["service"]: r["result"] for r in report["results"]}
    assert outcome == {
        "auth-service": "ok",
        "device-service": "ok",
        "lazy-service": "failed",
        "nomod-service": "failed",
    }
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 2 of 4 builds failed") and "lazy-service" in last and "nomod-service" in last
    assert "Traceback" not in result.stderr


def test_jobs_must_be_positive(fake_docker: dict[str, str]) -> None:
    result = invoke("build-all", "--jobs", "-1", "--dry-run", env=fake_docker)
    assert result.returncode == 2 and "--jobs must be 1 or more" in result.stderr


def test_build_all_gives_every_build_its_own_registry_cache_and_the_platforms(fake_repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no engine: a current one is assumed
    catalog = load_catalog(fake_repo)
    options = BuildOptions(cache="registry", platforms=("linux/amd64", "linux/arm64"), registry="ghcr")
    jobs = plan_jobs(catalog, [("device-service", "production")], options)
    argv = jobs[0].plan.argv
    assert "--cache-from=type=registry,ref=ghcr.io/sos-app/device-service:buildcache" in argv
    assert "--platform=linux/amd64,linux/arm64" in argv
