"""Shared fixtures. Tests marked `docker` need a real engine; in CI (CI=true) a missing engine is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def invoke(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    """Run the real front end as a user would (`python -m invoke ...`), capturing its output. The one copy."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_node_service(root: Path, name: str, build_script: bool = True) -> Path:
    folder = root / "services" / name
    (folder / "src").mkdir(parents=True)
    scripts = {"build": "tsc"} if build_script else {}
    (folder / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", "scripts": scripts}))
    (folder / "package-lock.json").write_text("{}")
    (folder / "src" / "index.ts").write_text("console.log('hi')\n")
    return folder


def make_go_service(root: Path, name: str, gomod: bool = True, main: bool = True) -> Path:
    folder = root / "services" / name
    (folder / "cmd").mkdir(parents=True)
    if gomod:
        (folder / "go.mod").write_text(f"module github.com/sos-app/{name}\n\ngo 1.21\n")
    if main:
        (folder / "cmd" / "main.go").write_text("package main\n\nfunc main() {}\n")
    return folder


STATIC_DOCKERFILE = """\
ARG ALPINE_IMAGE=alpine:3.19
FROM ${ALPINE_IMAGE} AS site
COPY public/ /srv/www/

FROM ${ALPINE_IMAGE} AS web
RUN adduser -D -H -u 1001 web
COPY --from=site /srv/www /srv/www
ARG PORT=8080
EXPOSE ${PORT}
USER 1001:1001
HEALTHCHECK --interval=30s --timeout=3s CMD ["busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
# busybox httpd ignores SIGTERM as PID 1: a shell that forwards it stops within docker stop's budget
ENTRYPOINT ["/bin/sh", "-c", "busybox httpd -f -p 8080 -h /srv/www & trap 'kill $!; exit 0' TERM; wait"]
"""


def make_own_service(root: Path, name: str, dockerfile: str = STATIC_DOCKERFILE) -> Path:
    """A service with its own Dockerfile: a static site served by busybox httpd (no package.json, no go.mod)."""
    folder = root / "services" / name
    (folder / "public").mkdir(parents=True)
    (folder / "public" / "index.html").write_text("<h1>hello</h1>\n")
    (folder / "Dockerfile").write_text(dockerfile)
    return folder


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    """A minimal repository: pyproject section, dockerfiles, one node and one go service."""
    (tmp_path / "pyproject.toml").write_text('[tool.sos-images]\nsource = "https://example.test/sos"\n')
    shutil.copytree(REPO / "dockerfiles", tmp_path / "dockerfiles", symlinks=True)
    make_node_service(tmp_path, "auth-service")
    make_go_service(tmp_path, "device-service")
    return tmp_path


def make_docker_context(config: Path, name: str, host: str, tls_dir: Path | None = None, current: bool = True) -> Path:
    """A docker context as `docker context create` writes it (meta.json, TLS files under tls/<sha256>/docker/);
    made current in config.json unless current=False. Returns the config dir."""
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True, exist_ok=True)
    endpoint = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}))
    if tls_dir is not None:
        shutil.copytree(tls_dir, config / "contexts" / "tls" / digest / "docker")
    if current:
        (config / "config.json").write_text(json.dumps({"currentContext": name}))
    return config
