"""The engine the docker CLI would use is the one every task uses: an engine reached only through a docker
context, one over TCP with TLS client certificates (with REQUESTS_CA_BUNDLE pointing at another bundle), and a
context that points nowhere. Each runs against an extra dockerd, so a task that fell back to the default socket
(this machine's engine) would not find the image it built and the test would fail."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sos_images.endpoint import TLS, Endpoint
from sos_images.engine import sdk_client
from tests.conftest import make_docker_context
from tests.integration.conftest import RUN_ID, copy_repo, invoke
from tests.integration.engines import make_tls, rootless_engine, second_engine

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
UNSET = {"DOCKER_HOST": "", "DOCKER_CONTEXT": "", "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""}


def _own_address() -> str:
    """This machine's address on its default route (not loopback): an engine there counts as remote."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it picks the route
        return s.getsockname()[0]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def extra(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An extra engine on its own unix socket and on tcp://127.0.0.1:PORT with --tlsverify, holding the Go base
    image (copied from this machine's engine) and nothing else."""
    root = tmp_path_factory.mktemp("extra-engine")
    address = _own_address()
    server, client_certs = make_tls(root / "tls", ("127.0.0.1", address))
    port, far = _port(), f"tcp://{address}:{_port()}"
    tls = ["--tlsverify", "--tlscacert", f"{server}/ca.pem", "--tlscert", f"{server}/cert.pem",
           "--tlskey", f"{server}/key.pem", "-H", f"tcp://127.0.0.1:{port}", "-H", far]  # fmt: skip
    with second_engine(root, "ept", tls) as host:
        load(host["DOCKER_HOST"])
        yield {"host": host, "tcp": f"tcp://127.0.0.1:{port}", "far": far, "client": client_certs, "root": root}


def load(host: str, image: str = "golang:1.21-alpine") -> None:
    """Copy a base image from this machine's engine into another (docker save | docker load)."""
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    subprocess.run(["docker", "load", "-q"], stdin=save.stdout, env={**os.environ, "DOCKER_HOST": host}, check=True)
    assert save.wait() == 0


def _has(image: str, env: dict[str, str]) -> bool:
    probe = subprocess.run(["docker", "image", "inspect", image], env={**os.environ, **env}, capture_output=True)
    return probe.returncode == 0


def _build_and_verify(env: dict[str, str], version: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    tmp.mkdir()
    repo = copy_repo(tmp, ("device-service",))
    env = {**env, "SOS_IMAGES_ROOT": str(repo)}
    built = invoke("build", "--service", "device-service", "--version", version, "--progress", "plain", env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    checked = invoke("verify", "--service", "device-service", "--version", version, "--json", env=env)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
    return checked


def test_an_engine_reached_only_through_the_config_s_current_context_builds_and_verifies(
    extra: dict[str, Any], tmp_path: Path
) -> None:
    name = f"extra-{RUN_ID}"
    config = make_docker_context(tmp_path / "docker", name, extra["host"]["DOCKER_HOST"])
    env = {**UNSET, "DOCKER_CONFIG": str(config)}
    version = f"t-ctx-{RUN_ID}"
    image = f"ghcr.io/sos-app/device-service:{version}"
    checked = _build_and_verify(env, version, tmp_path / "repo")
    assert json.loads(checked.stdout)["passed"]
    assert _has(image, extra["host"]), "the image is not in the context's engine"
    assert not _has(image, {}), "the image landed in this machine's default engine"
    doctor = json.loads(invoke("doctor", "--json", env=env).stdout)
    assert (doctor["context"], doctor["endpoint"]) == (name, extra["host"]["DOCKER_HOST"])
    assert doctor["engine"]["store"] == "containerd" and doctor["builder"] == name


def test_requests_ca_bundle_breaks_a_plain_sdk_client_but_not_the_engine_s(extra: dict[str, Any]) -> None:
    """Why the next test can fail: a plain SDK client given the engine's CA fails once REQUESTS_CA_BUNDLE is set."""
    import docker

    certs = extra["client"]
    tls = docker.tls.TLSConfig(
        client_cert=(f"{certs}/cert.pem", f"{certs}/key.pem"), ca_cert=f"{certs}/ca.pem", verify=True
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
        with pytest.raises(docker.errors.DockerException, match="CERTIFICATE_VERIFY_FAILED"):
            docker.DockerClient(base_url=extra["tcp"], tls=tls).ping()
        assert sdk_client(Endpoint(extra["tcp"], tls=TLS(str(certs), verify=True))).ping()
        mp.delenv("REQUESTS_CA_BUNDLE")
        mp.delenv("CURL_CA_BUNDLE", raising=False)
        assert docker.DockerClient(base_url=extra["tcp"], tls=tls).ping()


def test_an_engine_over_tcp_with_tls_client_certs_builds_and_verifies(extra: dict[str, Any], tmp_path: Path) -> None:
    env = {
        **UNSET, "DOCKER_CONFIG": str(tmp_path / "docker"), "DOCKER_HOST": extra["tcp"], "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(extra["client"]), "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE,
    }  # fmt: skip
    version = f"t-tls-{RUN_ID}"
    _build_and_verify(env, version, tmp_path / "repo")
    assert _has(f"ghcr.io/sos-app/device-service:{version}", extra["host"])
    assert not _has(f"ghcr.io/sos-app/device-service:{version}", {})
    doctor = json.loads(invoke("doctor", "--json", env=env).stdout)
    assert doctor["tls"].startswith("verified") and not doctor["remote"]


def test_an_engine_on_another_address_is_remote_and_verify_probes_its_host(
    extra: dict[str, Any], tmp_path: Path
) -> None:
    """The same engine through this machine's own non-loopback address: the tasks treat it as remote, so verify
    publishes on the engine host's addresses and probes that host (not 127.0.0.1), and asks the engine for the
    UID; a development `up` is refused in one line."""
    env = {
        **UNSET, "DOCKER_CONFIG": str(tmp_path / "docker"), "DOCKER_HOST": extra["far"], "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(extra["client"]), "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE,
    }  # fmt: skip
    doctor = json.loads(invoke("doctor", "--json", env=env).stdout)
    assert doctor["remote"] and "verify probes" in doctor["remote_tasks"]
    checked = json.loads(_build_and_verify(env, f"t-far-{RUN_ID}", tmp_path / "repo").stdout)
    health = next(c for c in checked["checks"] if c["name"] == "health-endpoint")
    assert checked["passed"] and health["detail"].startswith(f"GET http://{_own_address()}:"), health
    up = invoke("up", "--service", "auth-service", env=env)
    assert up.returncode == 2 and "bind-mounts sources" in up.stderr, up.stderr


def test_a_context_with_tls_material_reaches_the_tls_engine(extra: dict[str, Any], tmp_path: Path) -> None:
    config = make_docker_context(tmp_path / "docker", "tls-ctx", extra["tcp"], tls_dir=extra["client"])
    env = {**UNSET, "DOCKER_CONFIG": str(config), "REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE}
    result = invoke("doctor", "--json", env=env)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["context"] == "tls-ctx" and facts["engine"]["store"] == "containerd"


def test_a_context_pointing_at_a_dead_socket_is_one_line_naming_it(tmp_path: Path) -> None:
    config = make_docker_context(tmp_path / "docker", "stopped-vm", f"unix://{tmp_path}/gone.sock")
    result = invoke("build", "--service", "device-service", "--version", f"t-dead-{RUN_ID}",
                    env={**UNSET, "DOCKER_CONFIG": str(config)})  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 3 and len(lines) == 1, result.stderr
    assert "docker context 'stopped-vm'" in lines[0] and "docker context use default" in lines[0]


def test_rootless_docker_through_its_context_builds_and_verifies(client: Any, tmp_path: Path) -> None:
    """Rootless Docker as dockerd-rootless-setuptool.sh leaves it: a `rootless` context on the user's socket.
    verify's process-user check reads the UID inside the user namespace (on the host it is a subordinate UID)."""
    with rootless_engine() as sock:
        load(f"unix://{sock}")
        config = make_docker_context(tmp_path / "docker", "rootless", f"unix://{sock}")
        env = {**UNSET, "DOCKER_CONFIG": str(config)}
        version = f"t-rootless-{RUN_ID}"
        checked = _build_and_verify(env, version, tmp_path / "repo")
        assert json.loads(checked.stdout)["passed"]
        doctor = json.loads(invoke("doctor", "--json", env=env).stdout)
        assert doctor["context"] == "rootless" and doctor["engine"]["rootless"]
    assert not _has(f"ghcr.io/sos-app/device-service:{version}", {})
