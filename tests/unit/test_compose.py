"""The Compose model made from the catalog: files, host ports, watch rules, debugger hints. No Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sos_images import compose, devrun
from sos_images.catalog import load_catalog
from sos_images.errors import UsageError
from tests.conftest import REPO, make_go_service


def test_the_committed_compose_files_are_what_the_catalog_generates() -> None:
    catalog = load_catalog(REPO)
    for mode, name in compose.FILES.items():
        assert (REPO / name).read_text(encoding="utf-8") == compose.render(catalog, mode), (
            f"{name} is stale: run invoke compose and commit it"
        )


def test_a_new_service_folder_appears_in_the_file_with_no_code_change(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns(".git", "node_modules", ".nox", "__pycache__"))
    make_go_service(repo, "billing-service")
    services = yaml.safe_load(compose.render(load_catalog(repo)))["services"]
    assert set(services) == set(load_catalog(REPO).services) | {"billing-service"}
    billing = services["billing-service"]
    assert billing["build"]["context"] == "services/billing-service"
    # first Go service by name, so it takes the language's ports (pin others with host-port to keep theirs)
    assert billing["ports"] == [
        "127.0.0.1:${BILLING_SERVICE_HOST_PORT:-8080}:8080",
        "127.0.0.1:${BILLING_SERVICE_DEBUG_HOST_PORT:-2345}:2345",
    ]
    assert "127.0.0.1:${LOCATION_SERVICE_HOST_PORT:-8083}:8080" in services["location-service"]["ports"]


def test_every_service_has_distinct_host_ports_bound_to_loopback() -> None:
    ports = compose.host_ports(load_catalog(REPO))
    numbers = [p for hp in ports.values() for p in (hp.app, hp.debug)]
    assert len(numbers) == len(set(numbers)) == 14
    assert ports["auth-service"].app == 3000 and ports["user-service"].app == 3003
    assert ports["device-service"].debug == 2345 and ports["location-service"].debug == 2347
    for service in compose.model(load_catalog(REPO))["services"].values():
        assert all(p.startswith("127.0.0.1:") for p in service["ports"])


def test_development_publishes_the_debugger_and_watches_production_does_neither(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    dev, prod = (compose.model(catalog, mode)["services"] for mode in ("development", "production"))
    assert dev["auth-service"]["build"]["target"] == "development"
    assert dev["auth-service"]["ports"][1] == "127.0.0.1:${AUTH_SERVICE_DEBUG_HOST_PORT:-9229}:9229"
    assert dev["auth-service"]["volumes"][0] | {"read_only": True} == {
        "type": "bind",
        "source": "./services/auth-service/src",
        "target": "/app/src",
        "read_only": True,
    }
    assert dev["device-service"]["develop"]["watch"][0]["action"] == "rebuild"
    assert dev["device-service"]["image"] == "ghcr.io/sos-app/device-service:${SOS_IMAGE_TAG:-latest}-development"
    assert prod["device-service"]["build"]["target"] == "production"
    assert prod["device-service"]["image"] == "ghcr.io/sos-app/device-service:${SOS_IMAGE_TAG:-latest}"
    for service in prod.values():
        assert len(service["ports"]) == 1 and "develop" not in service and "volumes" not in service


def test_host_ports_can_be_set_per_service_in_pyproject(fake_repo: Path) -> None:
    pyproject = fake_repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + "[tool.sos-images.services.auth-service]\nhost-port = 4000\ndebug-host-port = 4001\n"
    )
    ports = compose.host_ports(load_catalog(fake_repo))["auth-service"]
    assert (ports.app, ports.debug) == (4000, 4001)


def test_two_services_on_one_host_port_name_the_setting_to_change(fake_repo: Path) -> None:
    pyproject = fake_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "[tool.sos-images.services.device-service]\nhost-port = 3000\n")
    with pytest.raises(UsageError, match=r"host port 3000 .*set another host-port in \[tool.sos-images.services"):
        compose.host_ports(load_catalog(fake_repo))


def test_a_host_port_out_of_range_is_refused(fake_repo: Path) -> None:
    pyproject = fake_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '[tool.sos-images.services.auth-service]\nhost-port = "x"\n')
    with pytest.raises(UsageError, match="host-port: expected a whole number 1-65535"):
        load_catalog(fake_repo)  # the settings schema refuses it when the catalog loads


def test_the_environment_overrides_host_ports_as_compose_does(fake_repo: Path) -> None:
    hp = compose.host_ports(load_catalog(fake_repo))["auth-service"]
    assert compose.resolve(hp, {"AUTH_SERVICE_HOST_PORT": "5000"}).app == 5000
    with pytest.raises(UsageError, match="AUTH_SERVICE_DEBUG_HOST_PORT='nine' is not a port number"):
        compose.resolve(hp, {"AUTH_SERVICE_DEBUG_HOST_PORT": "nine"})


def test_dollar_signs_in_settings_are_escaped_for_compose(fake_repo: Path) -> None:
    pyproject = fake_repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '[tool.sos-images.services.auth-service]\nbuild-args = {X = "a$b"}\n')
    args = compose.model(load_catalog(fake_repo))["services"]["auth-service"]["build"]["args"]
    assert args["X"] == "a$$b"


def test_the_project_is_named_as_compose_names_it() -> None:
    assert compose.project_name(Path("/src/My.Repo"), {}) == "myrepo"
    assert compose.project_name(Path("/src/x"), {"COMPOSE_PROJECT_NAME": "ci-42"}) == "ci-42"


def test_launch_configs_map_the_service_folder_to_app(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    node = compose.launch_config(catalog.services["auth-service"], 9230)
    assert (node["type"], node["request"], node["port"], node["remoteRoot"]) == ("node", "attach", 9230, "/app")
    assert node["localRoot"] == "${workspaceFolder}/services/auth-service"
    go = compose.launch_config(catalog.services["device-service"], 2346)
    assert (go["type"], go["mode"], go["port"]) == ("go", "remote", 2346)
    assert go["substitutePath"] == [{"from": "${workspaceFolder}/services/device-service", "to": "/app"}]


def test_run_environment_comes_from_the_file_then_flags_then_your_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nA=1\nB=two\n\n")
    assert devrun.parse_env(["B=3", "C"], str(env_file), {"C": "secret"}) == {"A": "1", "B": "3", "C": "secret"}


def test_an_env_file_reads_as_docker_reads_it(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("\ufeffQ='quoted'  \n  S=a=b\nFROM_ENV\nUNSET\nEMPTY=\n")
    values = devrun.parse_env([], str(env_file), {"FROM_ENV": "x"})
    assert values == {"Q": "'quoted'  ", "S": "a=b", "FROM_ENV": "x", "EMPTY": ""}


@pytest.mark.parametrize(
    ("items", "env_file", "message"),
    [
        (["1X=2"], "", "give NAME=VALUE"),
        (["MISSING"], "", "MISSING is not set in your environment"),
        ([], "/nonexistent/.env", "cannot read it"),
    ],
)
def test_bad_run_environment_is_one_line(items: list[str], env_file: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        devrun.parse_env(items, env_file, {})


def test_a_bad_env_file_line_is_named_without_its_value(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("A=1\nsecret value here\n")
    with pytest.raises(UsageError, match="line 2") as info:
        devrun.parse_env([], str(env_file), {})
    assert "secret" not in str(info.value)


def test_node_development_runs_mount_the_sources(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    node, go = catalog.services["auth-service"], catalog.services["device-service"]
    hp = compose.HostPorts(node, 4000, 4001)
    options = devrun.container_options(node, "development", hp, {})
    assert options["ports"] == {"3000/tcp": ("127.0.0.1", 4000), "9229/tcp": ("127.0.0.1", 4001)}
    assert options["volumes"] == {str(node.path / "src"): {"bind": "/app/src", "mode": "ro"}}
    assert "volumes" not in devrun.container_options(node, "production", hp, {})
    assert "volumes" not in devrun.container_options(go, "development", compose.HostPorts(go, 1, 2), {})


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env", "code", "fragment"),
    [
        (["up"], {"PATH": "/nonexistent"}, 3, "scripts/bootstrap-engine.sh"),
        (["down"], {"PATH": "/nonexistent"}, 3, "Docker Compose not found"),
        (["up", "--service", "billing-service"], {}, 2, "unknown service 'billing-service'"),
        (["run", "--service", "billing-service"], {}, 2, "unknown service 'billing-service'"),
        (["run", "--service", "auth-service", "--port", "abc"], {}, 2, "--port 'abc' is not a whole number"),
        (["run", "--service", "auth-service", "--debug-port", "70000"], {}, 2, "--debug-port 70000 is not a port"),
        (["run", "--service", "auth-service", "-e", "NOT_SET_ANYWHERE"], {}, 2, "is not set in your environment"),
        (["up", "--production", "--watch"], {}, 2, "--watch needs the development targets"),
        (["up"], {"AUTH_SERVICE_HOST_PORT": "http"}, 2, "AUTH_SERVICE_HOST_PORT='http' is not a port number"),
    ],
)
def test_dev_tasks_turn_bad_input_into_one_line(args: list[str], env: dict[str, str], code: int, fragment: str) -> None:
    result = invoke(*args, env=env)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.stdout, result.stderr


def test_compose_check_passes_on_the_committed_files() -> None:
    result = invoke("compose", "--check")
    assert result.returncode == 0, result.stderr
