"""The engine endpoint is resolved as the docker CLI resolves it; contexts are read from their files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sos_images import process
from sos_images.endpoint import DEFAULT_HOST, TLS, Endpoint, resolve
from sos_images.errors import EnvironmentProblem, UsageError
from tests.conftest import invoke, make_docker_context
from tests.unit.test_cli import assert_one_line_error


def env(config: Path, **extra: str) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(config), "HOME": "/nonexistent", **extra}


def test_nothing_set_is_the_default_socket(tmp_path: Path) -> None:
    ep = resolve(env(tmp_path))
    assert (ep.host, ep.context, ep.source, ep.tls) == (DEFAULT_HOST, "default", "default socket", None)
    assert ep.socket == "/var/run/docker.sock" and not ep.remote


def test_the_config_s_current_context_is_used_when_docker_host_and_docker_context_are_unset(tmp_path: Path) -> None:
    make_docker_context(tmp_path, "colima", "unix:///home/dev/.colima/docker.sock")
    ep = resolve(env(tmp_path))
    assert (ep.host, ep.context) == ("unix:///home/dev/.colima/docker.sock", "colima")
    assert "config.json" in ep.source


def test_docker_context_beats_the_config_and_docker_host_beats_both(tmp_path: Path) -> None:
    make_docker_context(tmp_path, "colima", "unix:///colima.sock")
    make_docker_context(tmp_path, "orbstack", "unix:///orb.sock", current=False)
    assert resolve(env(tmp_path, DOCKER_CONTEXT="orbstack")).host == "unix:///orb.sock"
    ep = resolve(env(tmp_path, DOCKER_CONTEXT="orbstack", DOCKER_HOST="tcp://10.0.0.5:2375"))
    assert (ep.host, ep.context, ep.source) == ("tcp://10.0.0.5:2375", "default", "DOCKER_HOST")


def test_docker_context_default_is_the_default_socket_whatever_the_config_says(tmp_path: Path) -> None:
    make_docker_context(tmp_path, "colima", "unix:///colima.sock")
    assert resolve(env(tmp_path, DOCKER_CONTEXT="default")).host == DEFAULT_HOST


def test_tls_comes_from_docker_tls_verify_and_docker_cert_path(tmp_path: Path) -> None:
    ep = resolve(env(tmp_path, DOCKER_HOST="tcp://docker:2376", DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH="/certs"))
    assert ep.tls == TLS("/certs", verify=True)
    assert resolve(env(tmp_path, DOCKER_HOST="tcp://docker:2376", DOCKER_TLS_VERIFY="1")).tls == TLS(
        str(tmp_path), True
    )  # the docker CLI's default cert path is its config dir


def test_a_context_s_tls_material_is_found_under_the_sha256_of_its_name(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (certs / name).write_text("x")
    config = make_docker_context(tmp_path / "cfg", "ci", "tcp://build.example:2376", tls_dir=certs)
    ep = resolve(env(config))
    assert ep.tls is not None and ep.tls.verify
    assert ep.tls.ca and ep.tls.ca.endswith("/docker/ca.pem")
    assert ep.tls.client_cert and ep.tls.client_cert[1].endswith("key.pem")


def test_a_missing_context_names_itself_and_how_to_switch(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "desktop-linux"}))
    with pytest.raises(EnvironmentProblem, match="docker context 'desktop-linux'.*docker context use default"):
        resolve(env(tmp_path))


@pytest.mark.parametrize(
    ("host", "remote"),
    [
        ("unix:///var/run/docker.sock", False),
        ("tcp://127.0.0.1:2376", False),
        ("tcp://localhost:2375", False),
        ("tcp://[::1]:2376", False),
        ("tcp://docker:2376", True),
        ("ssh://dev@build-box", True),
        ("tcp://10.1.2.3:2376", True),
    ],
)
def test_remote_means_not_a_socket_and_not_loopback(host: str, remote: bool) -> None:
    ep = Endpoint(host)
    assert ep.remote is remote
    assert ep.probe_host == (ep.hostname if remote else "127.0.0.1")
    assert ep.publish_address == ("0.0.0.0" if remote else "127.0.0.1")


def test_the_docker_cli_gets_the_context_and_other_engine_clients_get_host_and_tls() -> None:
    ep = Endpoint("tcp://build.example:2376", "ci", "DOCKER_CONTEXT", TLS("/cfg/contexts/tls/x/docker", True))
    assert ep.env_for("docker")["DOCKER_CONTEXT"] == "ci"
    assert ep.env_for("docker")["DOCKER_HOST"] is None
    syft = ep.env_for("/usr/local/bin/syft")
    assert syft["DOCKER_HOST"] == "tcp://build.example:2376"
    assert (syft["DOCKER_TLS_VERIFY"], syft["DOCKER_CERT_PATH"]) == ("1", "/cfg/contexts/tls/x/docker")
    assert ep.env_for("git") == {} and ep.env_for("cosign") == {}


def test_source_mounts_are_refused_only_on_a_remote_engine() -> None:
    Endpoint("unix:///run/user/1000/docker.sock", "rootless").refuse_source_mounts("up", "use --production")
    with pytest.raises(UsageError, match="remote engine at ssh://dev@box .*use --production"):
        Endpoint("ssh://dev@box", "box").refuse_source_mounts("up", "use --production")


def test_a_context_pointing_at_a_dead_socket_is_one_line_exit_3(tmp_path: Path) -> None:
    config = make_docker_context(tmp_path, "gone", f"unix://{tmp_path}/dead.sock")
    environ = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "", "DOCKER_CONTEXT": ""}
    for task in (["doctor"], ["verify", "--service", "device-service"]):  # build: tests/integration/test_endpoints.py
        result = invoke(*task, env=environ)
        assert_one_line_error(result, "docker context 'gone'", "dead.sock", "docker context use default")
        assert result.returncode == 3


def test_a_context_that_does_not_exist_is_one_line_exit_3(tmp_path: Path) -> None:
    result = invoke("doctor", env={"DOCKER_CONFIG": str(tmp_path), "DOCKER_HOST": "", "DOCKER_CONTEXT": "nope"})
    assert_one_line_error(result, "docker context 'nope' (from DOCKER_CONTEXT) does not exist")
    assert result.returncode == 3


def test_up_on_a_remote_engine_refuses_source_mounts_in_one_line(tmp_path: Path) -> None:
    config = make_docker_context(tmp_path, "far", "tcp://192.0.2.1:2375")
    result = invoke("up", "--service", "auth-service", env={"DOCKER_CONFIG": str(config), "DOCKER_HOST": ""})
    assert_one_line_error(result, "invoke up (development) bind-mounts sources", "tcp://192.0.2.1:2375")
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("host_uid", "uid_map", "inside"),
    [
        (1001, "         0          0 4294967295\n", 1001),  # a rootful engine: identity
        (101000, "0 1001 1\n1 100000 65536\n", 1001),  # rootless Docker run by UID 1001 with subuids 100000+
        (1001, "0 1001 1\n1 100000 65536\n", 0),  # the rootless user itself is root inside
        (5, "0 1001 1\n", None),
    ],
)
def test_a_container_s_uid_is_read_inside_its_user_namespace(host_uid: int, uid_map: str, inside: int | None) -> None:
    assert process.inside_uid(host_uid, uid_map) == inside


def test_a_two_node_builder_offers_the_platforms_of_both_nodes() -> None:
    text = (
        "Name:          native\nDriver:        remote\n\nNodes:\nName:      native0\nEndpoint:  tcp://bk-amd64:1234\n"
        "Status:    running\nPlatforms: linux/amd64*, linux/amd64/v2\n\nName:      native1\n"
        "Endpoint:  tcp://bk-arm64:1234\nStatus:    running\nPlatforms: linux/arm64*, linux/arm/v7\n"
    )
    fields = process.parse_buildx_inspect(text)
    assert (fields["Name"], fields["Driver"], fields["Endpoint"]) == ("native", "remote", "tcp://bk-amd64:1234")
    assert fields["Platforms"] == "linux/amd64*, linux/amd64/v2, linux/arm64*, linux/arm/v7"
