"""invoke build against the real engine: every target of one Node and one Go service."""

from __future__ import annotations

import io
import json
import shutil
import socket
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.conftest import FAST_HEALTH, copy_repo, free_port, invoke, process_uid, running, wait_health

NODE, GO = "auth-service", "device-service"
CASES = [
    (NODE, "production"),
    (NODE, "development"),
    (GO, "production"),
    (GO, "production-alpine"),
    (GO, "development"),
]


def http_json(port: int, path: str = "/health", timeout: float = 20) -> dict[str, Any]:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as resp:
                assert resp.status == 200
                return json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize(("service", "target"), CASES)
def test_every_target_builds_and_reports_itself(built, client, service: str, target: str) -> None:
    b = built(service, target)
    image = client.images.get(b.image)
    assert "Docker image built successfully" in b.result.stdout
    assert "Image Size:" in b.result.stdout
    assert image.labels["org.opencontainers.image.version"] == b.version
    assert image.labels["org.opencontainers.image.title"] == service


@pytest.mark.parametrize(("service", "target"), CASES)
def test_every_target_runs_as_non_root_and_answers_health(built, client, service: str, target: str) -> None:
    b = built(service, target)
    port = free_port()
    internal = 3000 if service == NODE else 8080
    with running(client, b.image, ports={f"{internal}/tcp": ("127.0.0.1", port)}, healthcheck=FAST_HEALTH) as c:
        body = http_json(port)
        assert body["status"] == "healthy"
        assert process_uid(c) != 0
        if target != "development":
            assert process_uid(c) == 1001
        assert wait_health(c) == "healthy", c.logs()[-2000:]


@pytest.mark.parametrize("target", ["production", "production-alpine", "development"])
def test_go_binary_prints_the_version_given_to_the_build(built, client, target: str) -> None:
    b = built(GO, target)
    binary = "/usr/local/bin/app" if target == "development" else "/app"
    out = client.containers.run(b.image, entrypoint=[binary], command=["--version"], remove=True).decode()
    assert f"Version:    {b.version}" in out
    assert "Build Date: " in out and "Git Commit: " in out


def image_files(client: Any, image: str) -> set[str]:
    container = client.containers.create(image)
    try:
        stream = io.BytesIO(b"".join(container.export()))
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=stream) as tar:
        return {member.name.lstrip("./") for member in tar.getmembers()}


def test_go_production_image_has_no_shell_only_the_binary_and_runtime_files(built, client) -> None:
    files = image_files(client, built(GO, "production").image)
    assert "bin/sh" not in files and "bin/busybox" not in files
    assert {"app", "etc/passwd", "etc/group", "etc/ssl/certs/ca-certificates.crt"} <= files


def test_node_production_image_holds_no_dev_dependency(built, client) -> None:
    image = built(NODE, "production").image
    out = client.containers.run(
        image, entrypoint=["sh", "-c"], command=["ls node_modules; ls -a"], remove=True
    ).decode()
    assert "typescript" not in out and "tsx" not in out and "@types" not in out
    assert "src" not in out.split()  # built output only
    dev = client.containers.run(
        built(NODE, "development").image, entrypoint=["ls"], command=["node_modules"], remove=True
    )
    assert b"typescript" in dev  # the check above can fail


def test_env_files_and_keys_never_reach_the_image(client, tmp_path: Path) -> None:
    repo = copy_repo(tmp_path, (NODE,))
    folder = repo / "services" / NODE
    (folder / ".env").write_text("DATABASE_URL=postgres://secret\n")
    (folder / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (folder / "src" / "marker.txt").write_text("context reached\n")
    tag = "ghcr.io/sos-app/auth-service:leak-check-development"
    result = invoke(
        "build",
        "--service",
        NODE,
        "--target",
        "development",
        "--version",
        "leak-check",
        env={"SOS_IMAGES_ROOT": str(repo)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    try:
        files = image_files(client, tag)
        assert "app/src/marker.txt" in files
        assert "app/.env" not in files and "app/server.pem" not in files
    finally:
        client.images.remove(tag)


def test_dry_run_prints_the_command_and_builds_nothing(client) -> None:
    result = invoke("build", "--service", GO, "--version", "dry-run-only", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "docker buildx build" in result.stdout or "docker build" in result.stdout
    with pytest.raises(Exception, match="No such image|not found"):
        client.images.get("ghcr.io/sos-app/device-service:dry-run-only")


def test_json_report_describes_the_image(built, client) -> None:
    result = invoke("build", "--service", GO, "--version", built(GO).version, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["image"] == built(GO).image
    assert report["report"]["user"] == "1001:1001"
    assert report["report"]["ports"] == ["8080/tcp"]
    assert report["report"]["healthcheck"] == ["CMD", "/app", "-healthcheck"]
    assert report["report"]["size"] > 0 and report["report"]["layers"] >= 4
    assert any(step.startswith("invoke verify") for step in report["next"])


def test_a_ca_bundle_reaches_the_build_as_a_secret_and_never_the_image(client, tmp_path: Path) -> None:
    marker = f"SOS-TEST-CA-{uuid.uuid4().hex}"
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + f"\n# {marker}\n")
    tag = "ghcr.io/sos-app/device-service:ca-check"
    result = invoke(
        "build",
        "--service",
        GO,
        "--version",
        "ca-check",
        "--no-cache",
        "--ca-bundle",
        str(bundle),
        "--progress",
        "plain",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    try:
        assert f"--secret=id=ca,src={bundle}" in result.stderr
        blob = b"".join(client.images.get(tag).save())
        assert marker.encode() not in blob
        history = json.dumps(client.api.history(tag))
        assert marker not in history and str(bundle) not in history
    finally:
        client.images.remove(tag)


def test_node_development_image_reloads_when_mounted_sources_change(built, client, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(REPO / "services" / NODE / "src", src)
    src.chmod(0o755)
    port = free_port()
    volumes = {str(src): {"bind": "/app/src", "mode": "ro"}}
    with running(client, built(NODE, "development").image, ports={"3000/tcp": ("127.0.0.1", port)}, volumes=volumes):
        assert http_json(port)["service"] == NODE
        app = src / "app.ts"
        app.write_text(app.read_text().replace(f'SERVICE_NAME = "{NODE}"', 'SERVICE_NAME = "reloaded"'))
        deadline = time.monotonic() + 30
        while http_json(port).get("service") != "reloaded":
            assert time.monotonic() < deadline, "node --watch did not reload the edited source"
            time.sleep(0.5)


@pytest.mark.parametrize(("service", "debug_port"), [(GO, 2345), (NODE, 9229)])
def test_development_images_serve_their_debugger(built, client, service: str, debug_port: int) -> None:
    port = free_port()
    with running(client, built(service, "development").image, ports={f"{debug_port}/tcp": ("127.0.0.1", port)}):
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                    if debug_port == 9229:  # the inspector answers HTTP with its targets
                        conn.sendall(b"GET /json/version HTTP/1.0\r\n\r\n")
                        assert b"node.js" in conn.recv(4096).lower()
                    break
            except (OSError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def test_go_cross_compiles_for_the_requested_platform(client) -> None:
    """GOARCH comes from TARGETARCH: an arm64 scratch image builds on amd64 without emulation."""
    tag = "ghcr.io/sos-app/device-service:arm64-check"
    result = invoke("build", "--service", GO, "--version", "arm64-check", "--platform", "linux/arm64")
    assert result.returncode == 0, result.stderr[-3000:]
    try:
        assert client.images.get(tag).attrs["Architecture"] == "arm64"
        container = client.containers.create(tag)
        try:
            archive = io.BytesIO(b"".join(container.get_archive("/app")[0]))
        finally:
            container.remove(force=True)
        with tarfile.open(fileobj=archive) as tar:
            header = tar.extractfile("app").read(20)
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 0xB7  # EM_AARCH64
    finally:
        client.images.remove(tag)
