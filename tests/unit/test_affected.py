"""Build only what changed: `invoke affected --since REF` in a temporary git repository copied from the project."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sos_images.catalog import load_catalog
from sos_images.changes import since
from sos_images.errors import UsageError
from tests.conftest import REPO, invoke, make_go_service, make_own_service

GO = ["device-service", "emergency-service", "location-service"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    dest.mkdir()
    shutil.copy(REPO / "pyproject.toml", dest)
    shutil.copytree(REPO / "dockerfiles", dest / "dockerfiles", symlinks=True)
    shutil.copytree(REPO / "services", dest / "services", ignore=shutil.ignore_patterns("node_modules", "dist"))
    shutil.copytree(REPO / "libs", dest / "libs")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "-c", "user.name=t", "-c", "user.email=t@example.test", "add", "-A")
    git(dest, "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qm", "base")
    return dest


def commit(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qm", message)


def affected(repo: Path, ref: str = "HEAD~1") -> list[str]:
    return since(load_catalog(repo), ref).result.services


def test_a_file_the_dockerignore_excludes_affects_nothing(repo: Path) -> None:
    (repo / "services" / "auth-service" / "README.md").write_text("# edited\n")
    commit(repo)
    assert affected(repo) == []


def test_a_source_edit_affects_its_service_only(repo: Path) -> None:
    app = repo / "services" / "auth-service" / "src" / "app.ts"
    app.write_text(app.read_text() + "\n// edited\n")
    commit(repo)
    assert affected(repo) == ["auth-service"]


def test_a_languages_dockerfile_affects_all_its_services(repo: Path) -> None:
    dockerfile = repo / "dockerfiles" / "Dockerfile.go"
    dockerfile.write_text(dockerfile.read_text() + "\n# edited\n")
    commit(repo)
    assert affected(repo) == GO


def test_a_new_service_folder_affects_that_service(repo: Path) -> None:
    make_go_service(repo, "billing-service")
    commit(repo)
    assert affected(repo) == ["billing-service"]


def test_a_base_image_pin_affects_the_services_of_the_languages_that_read_it(repo: Path) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.sos-images.base-images]\nNODE_IMAGE = "mirror.test/node:20"\n'
    )
    commit(repo)
    assert affected(repo) == ["auth-service", "medical-service", "notification-service", "user-service"]


def test_a_change_to_a_services_own_dockerfile_affects_that_service_only(repo: Path) -> None:
    folder = make_own_service(repo, "static-site")
    commit(repo, "add a service with its own Dockerfile")
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# edited\n")
    commit(repo)
    result = since(load_catalog(repo), "HEAD~1").result
    assert result.reasons == {"static-site": ["services/static-site/Dockerfile is its Dockerfile or ignore file"]}


def test_uncommitted_changes_count_too(repo: Path) -> None:
    main = repo / "services" / "device-service" / "cmd" / "main.go"
    main.write_text(main.read_text() + "\n// edited\n")
    assert affected(repo, "HEAD") == ["device-service"]


def test_invoke_affected_prints_json_and_build_all_builds_nothing_when_nothing_changed(repo: Path) -> None:
    (repo / "services" / "auth-service" / "README.md").write_text("# edited\n")
    commit(repo)
    env = {"SOS_IMAGES_ROOT": str(repo)}
    out = invoke("affected", "--since", "HEAD~1", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["services"] == []
    built = invoke("build-all", "--since", "HEAD~1", "--dry-run", env=env)
    assert built.returncode == 0 and "nothing affected" in built.stdout + built.stderr


def test_build_all_since_plans_only_the_affected_images(repo: Path) -> None:
    app = repo / "services" / "auth-service" / "src" / "app.ts"
    app.write_text(app.read_text() + "\n// edited\n")
    commit(repo)
    out = invoke("build-all", "--since", "HEAD~1", "--dry-run", env={"SOS_IMAGES_ROOT": str(repo)})
    assert out.returncode == 0, out.stderr
    commands = [line for line in out.stdout.splitlines() if "buildx build" in line]
    assert len(commands) == 1 and "/services/auth-service" in commands[0]


@pytest.mark.parametrize(
    ("setup", "ref", "fragment"),
    [
        (None, "no-such-branch", "unknown git reference 'no-such-branch'"),
        ("not-git", "HEAD~1", "is not a git checkout"),
        ("shallow", "HEAD~1", "shallow clone"),
    ],
)
def test_bad_references_are_one_line_saying_what_to_do(repo: Path, tmp_path: Path, setup, ref, fragment) -> None:
    target = repo
    if setup == "not-git":
        shutil.rmtree(repo / ".git")
    if setup == "shallow":
        commit_file = repo / "services" / "auth-service" / "README.md"
        commit_file.write_text("x\n")
        commit(repo)
        target = tmp_path / "shallow"
        subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(target)], check=True)
    with pytest.raises(UsageError, match=fragment):
        since(load_catalog(target), ref)
    out = invoke("affected", "--since", ref, env={"SOS_IMAGES_ROOT": str(target)})
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and fragment in lines[0]


def test_a_shared_library_affects_exactly_the_services_using_it_with_the_chain(repo: Path) -> None:
    (repo / "libs" / "go-platform" / "health" / "health.go").write_text("package health\n")
    (repo / "libs" / "go-platform" / "health" / "health_test.go").write_text("package health\n")
    commit(repo)
    result = since(load_catalog(repo), "HEAD~1").result
    assert result.services == GO
    chain = "libs/go-platform/health/health.go -> github.com/sos-app/platform -> emergency-service"
    assert result.reasons["emergency-service"] == [chain]
