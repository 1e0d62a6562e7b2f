"""verify --reproduce and the weekly refresh (publish --refresh --if-changed) against a real loopback registry
that also serves the base image, so a new base digest can be pushed between two releases' refreshes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RUN_ID, copy_repo, invoke
from tests.integration.registry import LocalRegistry, local_registry

SERVICE, VERSION = "auth-service", f"v1.0.{int(RUN_ID, 16) % 1000}"
BASE_DIGEST = "org.opencontainers.image.base.digest"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def committed_repo(dest: Path, base: str) -> Path:
    repo = copy_repo(dest, (SERVICE,))
    with (repo / "pyproject.toml").open("a") as f:
        f.write(f'\n[tool.sos-images.base-images]\nNODE_IMAGE = "{base}"\n')
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qm", "release")
    return repo


def push_base(reg: LocalRegistry, base: str, marker: str | None = None) -> str:
    """The stand-in Node image under the registry's name; with a marker, a changed base (a new digest)."""
    if marker is None:
        subprocess.run(["docker", "tag", "node:20-alpine", base], check=True)
    else:
        dockerfile = f"FROM node:20-alpine\nRUN echo {marker} > /etc/base-marker\n"
        subprocess.run(["docker", "build", "-q", "-t", base, "-"], input=dockerfile, text=True, check=True,
                       capture_output=True, env={**reg.env_all, "DOCKER_BUILDKIT": "1"})  # fmt: skip
    subprocess.run(["docker", "push", "-q", base], check=True, capture_output=True, env=reg.env_all)
    return reg.digest(base.split("/", 1)[1])


@pytest.fixture(scope="module")
def setup(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with local_registry(tmp_path_factory.mktemp("refresh-registry")) as reg:
        reg.env_all = {**os.environ, **reg.env}
        base = f"{reg.host}/library/node:20-alpine"
        repo = committed_repo(tmp_path_factory.mktemp("repo"), base)
        env = {**reg.env, "SOS_IMAGES_ROOT": str(repo)}
        assert invoke("login", "--registry", "private", env=env).returncode == 0
        first_base = push_base(reg, base)
        try:
            yield reg, repo, env, base, first_base
        finally:
            subprocess.run(["docker", "rmi", f"ghcr.io/sos-app/{SERVICE}:{VERSION}"], capture_output=True)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return invoke(*args, "--service", SERVICE, "--registry", "private", "--version", VERSION, env=env)


def label(reg: LocalRegistry, name: str) -> str | None:
    return reg.skopeo("inspect", f"docker://{reg.host}/sos-app/{SERVICE}:{VERSION}")["Labels"].get(name)


def test_a_published_release_rebuilds_to_the_same_digest_and_a_changed_commit_does_not(setup: Any) -> None:
    reg, repo, env, _, _ = setup
    published = run(env, "publish", "--no-latest")
    assert published.returncode == 0, published.stderr[-3000:]
    same = run(env, "verify", "--reproduce")
    assert same.returncode == 0, same.stdout[-2000:] + same.stderr[-3000:]
    index = reg.skopeo("inspect", "--raw", f"docker://{reg.host}/sos-app/{SERVICE}:{VERSION}")
    kinds = [(m["platform"]["os"], m["digest"]) for m in index["manifests"]]  # the release carries provenance
    assert [os for os, _ in kinds] == ["linux", "unknown"]
    assert f"linux/amd64: same {kinds[0][1]}" in same.stdout
    (repo / "services" / SERVICE / "src" / "extra.ts").write_text("export const extra = 1;\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qm", "change")
    differs = run(env, "verify", "--reproduce")
    assert differs.returncode == 1
    assert "linux/amd64: differs" in differs.stdout
    assert differs.stderr.strip().splitlines()[-1].startswith("error: ")


def test_the_refresh_overwrites_only_when_the_base_changed_and_records_its_digest(setup: Any) -> None:
    reg, _, env, base, first_base = setup
    refresh = ("publish", "--refresh", "--if-changed", "--no-latest", "--json")
    first = run(env, *refresh)
    assert first.returncode == 0, first.stderr[-3000:]
    assert label(reg, BASE_DIGEST) == first_base
    assert label(reg, "org.opencontainers.image.base.name") == base
    before = reg.digest(f"sos-app/{SERVICE}:{VERSION}")

    again = run(env, *refresh)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "unchanged" in again.stdout + again.stderr and json.loads(again.stdout)["push"] is None
    assert reg.digest(f"sos-app/{SERVICE}:{VERSION}") == before

    new_base = push_base(reg, base, marker=RUN_ID)
    assert new_base != first_base
    moved = run(env, *refresh)
    assert moved.returncode == 0, moved.stderr[-3000:]
    assert f"base {base}@{new_base}" in moved.stdout + moved.stderr
    assert label(reg, BASE_DIGEST) == new_base
    assert reg.digest(f"sos-app/{SERVICE}:{VERSION}") != before
