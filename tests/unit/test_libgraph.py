"""The library graph, on small repositories written into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sos_images.errors import UsageError
from sos_images.libgraph import LibraryError, closure


def write(root: Path, path: str, text: str | dict) -> Path:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(text) if isinstance(text, dict) else text, encoding="utf-8")
    return target


def package(root: Path, folder: str, name: str, deps: dict | None = None, **extra: object) -> None:
    write(root, f"{folder}/package.json", {"name": name, "dependencies": deps or {}, **extra})


def gomod(root: Path, folder: str, module: str, body: str = "") -> None:
    write(root, f"{folder}/go.mod", f"module {module}\n\ngo 1.21\n{body}")


def test_node_file_dependency_transitive_in_build_order(tmp_path: Path) -> None:
    package(tmp_path, "services/api", "api", {"@x/a": "file:../../libs/a", "ms": "^2"})
    package(tmp_path, "libs/a", "@x/a", {"@x/b": "link:../b"}, scripts={"build": "tsc"})
    package(tmp_path, "libs/b", "@x/b")
    write(tmp_path, "services/api/package-lock.json", "{}")
    found = closure(tmp_path, tmp_path / "services/api")
    assert found.paths == ("libs/b", "libs/a")
    assert [lib.build for lib in found.libraries] == [False, True]
    assert found.chain("libs/b") == ("@x/b", "@x/a")
    assert found.package_manager == "npm"


def test_node_workspace_members_and_root_files(tmp_path: Path) -> None:
    package(tmp_path, ".", "root", workspaces=["services/*", "packages/*"])
    write(tmp_path, "pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
    package(tmp_path, "services/api", "api", {"shared": "workspace:*"})
    write(tmp_path, "services/api/tsconfig.json", '{\n  // base\n  "extends": "../../tsconfig.base.json"\n}')
    write(tmp_path, "tsconfig.base.json", "{}")
    package(tmp_path, "packages/shared", "shared")
    found = closure(tmp_path, tmp_path / "services/api")
    assert found.paths == ("packages/shared",)
    assert set(found.files) == {"package.json", "pnpm-lock.yaml", "tsconfig.base.json"}
    assert found.package_manager == "pnpm"


def test_pnpm_workspace_file(tmp_path: Path) -> None:
    write(tmp_path, "pnpm-workspace.yaml", "packages:\n  - 'services/*'\n  - 'libs/*'\n")
    package(tmp_path, "services/api", "api", {"@x/h": "workspace:^"})
    package(tmp_path, "libs/h", "@x/h")
    assert closure(tmp_path, tmp_path / "services/api").paths == ("libs/h",)


def test_go_replace_and_transitive_needs_the_services_replace(tmp_path: Path) -> None:
    gomod(tmp_path, "libs/a", "example.com/a", "require example.com/b v0.0.0\nreplace example.com/b => ../b\n")
    gomod(tmp_path, "libs/b", "example.com/b")
    gomod(tmp_path, "services/svc", "svc", "require example.com/a v0.0.0\nreplace example.com/a => ../../libs/a\n")
    with pytest.raises(LibraryError, match=r"add `replace example.com/b => ../../libs/b`"):
        closure(tmp_path, tmp_path / "services/svc")
    gomod(
        tmp_path,
        "services/svc",
        "svc",
        "require (\n\texample.com/a v0.0.0\n\texample.com/b v0.0.0 // indirect\n)\n"
        "replace (\n\texample.com/a => ../../libs/a\n\texample.com/b v0.0.0 => ../../libs/b\n)\n",
    )
    found = closure(tmp_path, tmp_path / "services/svc")
    assert found.paths == ("libs/b", "libs/a")
    assert found.chain("libs/b") == ("example.com/b", "example.com/a")


def test_cycle_between_libraries(tmp_path: Path) -> None:
    package(tmp_path, "services/api", "api", {"a": "file:../../libs/a"})
    package(tmp_path, "libs/a", "a", {"b": "file:../b"})
    package(tmp_path, "libs/b", "b", {"a": "file:../a"})
    with pytest.raises(LibraryError, match=r"cycle: a -> b -> a"):
        closure(tmp_path, tmp_path / "services/api")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("file:../../../outside", "leaves the repository"),
        ("file:../../libs/missing", "library folder libs/missing does not exist"),
        ("workspace:*", "is in no workspace"),
        ("file:../other", "inside services/"),
    ],
)
def test_bad_paths_are_one_line_usage_errors(tmp_path: Path, spec: str, message: str) -> None:
    package(tmp_path / "repo", "services/api", "api", {"x": spec})
    package(tmp_path / "repo", "services/other", "other")
    with pytest.raises(UsageError, match=message) as caught:
        closure(tmp_path / "repo", tmp_path / "repo/services/api")
    assert "\n" not in str(caught.value)


def test_two_lockfiles(tmp_path: Path) -> None:
    package(tmp_path, "services/api", "api")
    write(tmp_path, "services/api/package-lock.json", "{}")
    write(tmp_path, "services/api/yarn.lock", "")
    with pytest.raises(LibraryError, match="has package-lock.json and yarn.lock"):
        closure(tmp_path, tmp_path / "services/api")


def test_go_replace_leaving_the_repository(tmp_path: Path) -> None:
    gomod(tmp_path / "r", "services/svc", "svc", "replace example.com/a => ../../../a\n")
    with pytest.raises(LibraryError, match="leaves the repository"):
        closure(tmp_path / "r", tmp_path / "r/services/svc")


def test_a_service_without_libraries(tmp_path: Path) -> None:
    gomod(
        tmp_path,
        "services/svc",
        "svc",
        "require github.com/x/y v1.2.3\nreplace github.com/x/y => github.com/z/y v1.0.0\n",
    )
    assert closure(tmp_path, tmp_path / "services/svc").libraries == ()
