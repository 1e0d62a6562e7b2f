"""The front end on bad input: one line, non-zero exit, no traceback. No engine needed."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from sos_images.errors import EnvironmentProblem
from sos_images.process import find_build_client
from tests.conftest import invoke, make_go_service, make_node_service


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--service", "billing-service"], ["unknown service 'billing-service'", "device-service"]),
        (["--service", "auth-service", "--target", "production-alpine"], ["valid targets: production, development"]),
        (["--service", "device-service", "--version", "v1.0.0/meta"], ["not a valid Docker tag"]),
        (["--service", "device-service", "--build-arg", "NOVALUE"], ["NAME=VALUE"]),
        (["--service", "device-service", "--ca-bundle", "/nope.pem"], ["/nope.pem does not exist"]),
        ([], ["no service given"]),
    ],
)
def test_bad_build_input_is_one_line_and_exit_2(args: list[str], fragments: list[str]) -> None:
    result = invoke("build", *args, "--dry-run")
    assert_one_line_error(result, *fragments)
    assert result.returncode == 2


def test_unreachable_engine_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    result = invoke("build", "--service", "device-service", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert_one_line_error(result, "Docker engine not reachable", "start dockerd")
    assert result.returncode == 3


def test_broken_service_folders_are_one_line_errors(fake_repo: Path, tmp_path_factory) -> None:
    make_node_service(fake_repo, "lazy-service", build_script=False)
    make_go_service(fake_repo, "nomod-service", gomod=False)
    outside = make_go_service(tmp_path_factory.mktemp("out"), "rogue-service")
    os.symlink(outside, fake_repo / "services" / "rogue-service")
    env = {"SOS_IMAGES_ROOT": str(fake_repo)}
    assert_one_line_error(invoke("build", "--service", "lazy-service", "--dry-run", env=env), 'no "build" script')
    assert_one_line_error(invoke("build", "--service", "nomod-service", "--dry-run", env=env), "no go.mod")
    assert_one_line_error(invoke("build", "--service", "rogue-service", "--dry-run", env=env), "outside services/")


def test_no_buildkit_client_is_named(tmp_path: Path) -> None:
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Docker version 28.2.2, build x'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    with pytest.raises(EnvironmentProblem, match="no BuildKit-capable docker client"):
        find_build_client(env, plugin_dirs=(), fallbacks=())


def test_an_old_docker_cli_is_used_with_buildkit_env(tmp_path: Path) -> None:
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Docker version 20.10.24+dfsg1, build 297e128'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    client = find_build_client({"PATH": str(tmp_path), "HOME": str(tmp_path)}, plugin_dirs=(), fallbacks=())
    assert (client.kind, client.program) == ("classic", str(fake))


def test_a_buildx_plugin_in_docker_config_is_found(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "docker").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "docker").chmod(0o755)
    plugins = tmp_path / "cfg" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-buildx").write_text("#!/bin/sh\n")
    (plugins / "docker-buildx").chmod(0o755)
    env = {"PATH": str(tmp_path / "bin"), "DOCKER_CONFIG": str(tmp_path / "cfg")}
    assert find_build_client(env, plugin_dirs=()).kind == "buildx"


def test_dry_run_prints_the_exact_command_without_an_engine(tmp_path: Path) -> None:
    result = invoke(
        "build",
        "--service",
        "device-service",
        "--version",
        "v1.0.0",
        "--dry-run",
        env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"},
    )
    assert result.returncode == 0, result.stderr
    assert "--tag ghcr.io/sos-app/device-service:v1.0.0" in result.stdout


def test_services_lists_every_service_with_language_and_port() -> None:
    import json

    result = invoke("services", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["service"]: row for row in json.loads(result.stdout)["services"]}
    assert rows["device-service"]["language"] == "go" and rows["device-service"]["port"] == 8080
    assert rows["auth-service"]["targets"] == ["production", "development"]


def test_only_a_registrys_server_errors_are_retried() -> None:
    from sos_images.engine import TRANSIENT

    assert TRANSIENT.search("unexpected status from HEAD request to http://r/v2/x: 500 Internal Server Error")
    assert TRANSIENT.search("received unexpected HTTP status: 503 Service Unavailable")
    assert not TRANSIENT.search("no basic auth credentials")
    assert not TRANSIENT.search("unauthorized: authentication required")
