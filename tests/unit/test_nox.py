"""The noxfile as CI sees it: `nox -l --json` is the matrix, read from the same catalog as the Invoke tasks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sos_images.catalog import load_catalog
from tests.conftest import REPO, make_go_service, make_node_service, make_own_service

NOXFILE = REPO / "noxfile.py"


def nox(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def listing(*args: str, **kwargs: Any) -> list[dict[str, Any]]:
    result = nox("-l", "--json", *args, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def pairs(sessions: list[dict[str, Any]]) -> set[tuple[str, ...]]:
    return {tuple(s["call_spec"].values()) for s in sessions}


def test_build_sessions_are_the_catalog_services_times_their_targets() -> None:
    catalog = load_catalog(REPO)
    expected = {(svc.name, target) for svc, target in catalog.matrix()}
    sessions = listing("-t", "build")
    assert pairs(sessions) == expected
    assert len(sessions) == sum(len(svc.targets) for svc in catalog.services.values())
    assert "build(service='device-service', target='production-alpine')" in {s["session"] for s in sessions}
    assert not {s for s in expected if s[0] == "auth-service" and s[1] == "production-alpine"}


def test_verify_scan_and_push_sessions_follow_the_catalog_too() -> None:
    catalog = load_catalog(REPO)
    assert pairs(listing("-t", "verify")) == {(svc.name, t) for svc, t in catalog.matrix()}
    assert pairs(listing("-t", "scan")) == {(name,) for name in catalog.services}
    assert pairs(listing("-t", "push")) == {(s, r) for s in catalog.services for r in catalog.registries}


def test_only_lint_and_tests_run_by_default() -> None:
    assert [s["session"] for s in listing()] == ["lint", "tests"]


def test_tags_select_by_language_and_target_and_never_select_push() -> None:
    go = listing("-t", "go")
    assert go and {s["call_spec"]["service"] for s in go} == {"device-service", "emergency-service", "location-service"}
    assert {s["name"] for s in go} == {"build", "verify", "scan"}
    production = listing("-t", "production")
    assert {s["call_spec"]["target"] for s in production} == {"production"}
    assert {s["name"] for s in production} == {"build", "verify"}


def test_sessions_have_readable_ids_and_a_description() -> None:
    sessions = listing("-t", "build", "verify", "scan", "push")  # several tags: one -t, then the names
    assert {s["name"] for s in sessions} == {"build", "verify", "scan", "push"}
    for session in sessions:
        spec = ", ".join(f"{k}={v!r}" for k, v in session["call_spec"].items())
        assert session["session"] == f"{session['name']}({spec})"
        assert session["description"]


def copy_catalog(dest: Path) -> Path:
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    shutil.copytree(REPO / "services", dest / "services", ignore=shutil.ignore_patterns("node_modules", "dist"))
    shutil.copytree(REPO / "libs", dest / "libs")
    return dest


@pytest.mark.parametrize("how", ["SOS_IMAGES_ROOT", "noxfile in the copy"])
def test_a_new_service_folder_adds_its_sessions(tmp_path: Path, how: str) -> None:
    repo = copy_catalog(tmp_path)
    before = listing("-f", str(NOXFILE), "-t", "build", env={"SOS_IMAGES_ROOT": str(repo)})
    make_go_service(repo, "billing-service")
    make_node_service(repo, "chat-service")
    make_own_service(repo, "static-site")  # its own Dockerfile: its targets are its Dockerfile's
    if how == "SOS_IMAGES_ROOT":
        after = listing("-f", str(NOXFILE), "-t", "build", env={"SOS_IMAGES_ROOT": str(repo)})
    else:
        shutil.copy(NOXFILE, repo / "noxfile.py")
        after = listing("-t", "build", cwd=repo, env={"SOS_IMAGES_ROOT": ""})
    added = pairs(after) - pairs(before)
    assert added == {
        ("billing-service", "production"),
        ("billing-service", "production-alpine"),
        ("billing-service", "development"),
        ("chat-service", "production"),
        ("chat-service", "development"),
        ("static-site", "web"),
    }


def test_a_broken_catalog_keeps_lint_and_tests_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.sos-images\n")
    result = nox(
        "-f", str(NOXFILE), "-l", "--json", "-t", "lint", "tests", "build", env={"SOS_IMAGES_ROOT": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert [s["session"] for s in json.loads(result.stdout)] == ["lint", "tests"]
    assert "the catalog did not load" in result.stderr and "invalid TOML" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrapper_session_runs_in_process_and_ends_with_the_typed_error(fake_repo: Path, tmp_path: Path) -> None:
    make_node_service(fake_repo, "lazy-service", build_script=False)
    envdir = tmp_path / "envs"
    result = nox(
        "-f",
        str(NOXFILE),
        "--envdir",
        str(envdir),
        "-s",
        "build(service='lazy-service', target='production')",
        env={"SOS_IMAGES_ROOT": str(fake_repo)},
    )
    assert result.returncode != 0
    aborted = [line for line in result.stderr.splitlines() if "aborted" in line]
    assert len(aborted) == 1 and 'package.json has no "build" script' in aborted[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not envdir.exists() or not any(envdir.iterdir())  # no virtualenv was made


def test_posargs_reach_invokes_parser(fake_repo: Path) -> None:
    result = nox(
        "-f",
        str(NOXFILE),
        "-s",
        "build(service='device-service', target='production')",
        "--",
        "--bogus",
        env={"SOS_IMAGES_ROOT": str(fake_repo)},
    )
    assert result.returncode != 0
    assert "No idea what '--bogus' is" in result.stderr
