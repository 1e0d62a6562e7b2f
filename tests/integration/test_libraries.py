"""Shared libraries on the real engine: a Node service on a `file:` library, a Go service on a `replace`d module."""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.integration.conftest import copy_repo

NODE, GO = "auth-service", "device-service"
RUN = uuid.uuid4().hex[:8]


def _repo(tmp: Path) -> Path:
    root = copy_repo(tmp, (NODE, GO))
    lib = root / "libs" / "hello"
    (lib / "src").mkdir(parents=True)
    (lib / "package.json").write_text(json.dumps({"name": "@sos/hello", "version": "1.0.0", "main": "index.js"}))
    (lib / "index.js").write_text("module.exports = { hello: () => 'hello from a library' };\n")
    (lib / ".env").write_text("SECRET=never reaches the image\n")
    manifest = json.loads((root / "services" / NODE / "package.json").read_text())
    manifest["dependencies"]["@sos/hello"] = "file:../../libs/hello"
    (root / "services" / NODE / "package.json").write_text(json.dumps(manifest, indent=2))
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=root / "services" / NODE,
        check=True,
        capture_output=True,
    )
    mod = root / "libs" / "platform"
    mod.mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/platform\n\ngo 1.21\n")
    (mod / "platform.go").write_text('package platform\n\nfunc Name() string { return "platform" }\n')
    gomod = root / "services" / GO / "go.mod"
    gomod.write_text(
        gomod.read_text()
        + "\nrequire example.com/platform v0.0.0\n\nreplace example.com/platform => ../../libs/platform\n"
    )
    (root / "services" / GO / "cmd" / "platform.go").write_text(
        'package main\n\nimport "example.com/platform"\n\nvar _ = platform.Name()\n'
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base"], cwd=root, check=True)
    return root


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _repo(tmp_path_factory.mktemp("libs"))


def _invoke(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return invoke(*args, env={"SOS_IMAGES_ROOT": str(repo)})


@pytest.mark.parametrize("service", [NODE, GO])
def test_a_service_on_a_library_builds_and_passes_verify(repo: Path, client, service: str) -> None:
    image = f"ghcr.io/sos-app/{service}:libs-{RUN}"
    try:
        built = _invoke(repo, "build", "--service", service, "--version", f"libs-{RUN}", "--progress", "plain")
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        assert "--build-context=libs=" in built.stdout + built.stderr
        checked = _invoke(repo, "verify", "--service", service, "--version", f"libs-{RUN}")
        assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
        if service == NODE:  # npm's link resolves in the production image, the test file stayed out
            out = client.containers.run(
                image,
                [
                    "node",
                    "-e",
                    "console.log(require('@sos/hello').hello(), require('fs').existsSync('/libs/hello/.env'))",
                ],
                remove=True,
            )
            assert out.decode().split() == ["hello", "from", "a", "library", "false"]
    finally:
        with contextlib.suppress(Exception):
            client.images.remove(image)


def test_affected_follows_the_library_graph(repo: Path) -> None:
    (repo / "libs" / "hello" / "index.js").write_text("module.exports = { hello: () => 'changed' };\n")
    (repo / "libs" / "platform" / "platform.go").write_text('package platform\n\nfunc Name() string { return "x" }\n')
    (repo / "libs" / "hello" / ".env").write_text("an ignored edit reaches no build\n")
    result = _invoke(repo, "affected", "--since", "HEAD", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["services"] == [NODE, GO]
    assert "libs/hello/index.js -> @sos/hello -> auth-service" in data["reasons"][NODE]
    assert "libs/platform/platform.go -> example.com/platform -> device-service" in data["reasons"][GO]
    subprocess.run(["git", "checkout", "-q", "--", "libs"], cwd=repo, check=True)
