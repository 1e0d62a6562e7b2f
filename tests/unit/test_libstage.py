"""Staging a service's libraries: only what it uses, the ignore rules applied, stale files removed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sos_images.catalog import load_catalog
from sos_images.libstage import MANIFEST, stage
from tests.conftest import REPO


def test_stage_holds_only_the_used_libraries_without_ignored_files(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copytree(REPO / "dockerfiles", tmp_path / "dockerfiles", symlinks=True)
    shutil.copytree(REPO / "libs", tmp_path / "libs")
    shutil.copytree(REPO / "services" / "emergency-service", tmp_path / "services" / "emergency-service")
    (tmp_path / "libs" / "other").mkdir()
    (tmp_path / "libs" / "other" / "x.go").write_text("package other\n")
    (tmp_path / "libs" / "go-platform" / ".env").write_text("SECRET=1\n")
    catalog = load_catalog(tmp_path)
    service = catalog.service("emergency-service")
    staged = stage(catalog, service)
    assert staged is not None
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == [MANIFEST, "libs/go-platform/go.mod", "libs/go-platform/health/health.go"]
    assert (staged / MANIFEST).read_text() == "libs/go-platform\n"
    (tmp_path / "libs" / "go-platform" / "health" / "health.go").unlink()
    stage(catalog, service)
    assert not (staged / "libs/go-platform/health").exists()


def test_a_service_without_libraries_stages_nothing(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copytree(REPO / "dockerfiles", tmp_path / "dockerfiles", symlinks=True)
    shutil.copytree(REPO / "services" / "auth-service", tmp_path / "services" / "auth-service")
    catalog = load_catalog(tmp_path)
    assert stage(catalog, catalog.service("auth-service")) is None
    assert not (tmp_path / ".sos-images").exists()
    assert json.loads((tmp_path / "services/auth-service/package.json").read_text())["name"] == "auth-service"


def test_a_broken_library_path_fails_that_service_only(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copytree(REPO / "dockerfiles", tmp_path / "dockerfiles", symlinks=True)
    for name in ("emergency-service", "auth-service"):
        shutil.copytree(REPO / "services" / name, tmp_path / "services" / name)
    catalog = load_catalog(tmp_path)  # no libs/ copied: emergency-service's replace points nowhere
    assert list(catalog.services) == ["auth-service"]
    assert "library folder libs/go-platform does not exist" in catalog.problems["emergency-service"]
