"""The developer's loop against the real engine and Compose: up, reload on edit, debuggers, run, down.

One stack of the seven development images runs for the whole module in a throwaway copy of the repository,
under its own Compose project name, image tag and free host ports, so it never meets anyone else's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sos_images import compose
from sos_images.catalog import load_catalog
from tests.conftest import REPO
from tests.integration.conftest import RUN_ID, copy_repo, free_port, invoke

SERVICES = tuple(sorted(p.name for p in (REPO / "services").iterdir() if p.is_dir()))
PROJECT = f"sosdev{RUN_ID}"
TAG = f"test-{RUN_ID}"


@dataclass
class Stack:
    repo: Path
    env: dict[str, str]
    ports: dict[str, tuple[int, int]]  # service -> (app, debug) host ports


def http_json(port: int, path: str = "/health") -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as resp:
        return json.loads(resp.read())


def wait_for(predicate: Any, timeout: float, what: str) -> float:
    """Seconds until predicate() is true; fails with `what` after timeout."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(OSError, ValueError, KeyError):
            if predicate():
                return time.monotonic() - started
        assert time.monotonic() - started < timeout, what
        time.sleep(0.2)


def project_objects(client: Any, project: str) -> dict[str, list[Any]]:
    label = {"label": f"com.docker.compose.project={project}"}
    return {
        "containers": client.containers.list(all=True, filters=label),
        "networks": client.networks.list(filters=label),
        "volumes": client.volumes.list(filters=label),
    }


@pytest.fixture(scope="module")
def stack(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    repo = copy_repo(tmp_path_factory.mktemp("devrepo"), SERVICES)
    ports = {name: (free_port(), free_port()) for name in SERVICES}
    env = {"COMPOSE_PROJECT_NAME": PROJECT, "SOS_IMAGE_TAG": TAG, "SOS_IMAGES_ROOT": str(repo)}
    for name, (app, debug) in ports.items():
        env[f"{compose.env_name(name)}_HOST_PORT"] = str(app)
        env[f"{compose.env_name(name)}_DEBUG_HOST_PORT"] = str(debug)
    try:
        result = invoke("up", env=env, timeout=1800)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        yield Stack(repo, env, ports)
    finally:
        invoke("down", env=env)
        for name in SERVICES:
            with contextlib.suppress(Exception):
                client.images.remove(f"ghcr.io/sos-app/{name}:{TAG}-development")


def test_up_starts_all_seven_development_containers_healthy_on_distinct_loopback_ports(client, stack) -> None:
    containers = project_objects(client, PROJECT)["containers"]
    assert sorted(c.labels["com.docker.compose.service"] for c in containers) == sorted(SERVICES)
    published = []
    for container in containers:
        assert container.attrs["State"]["Health"]["Status"] == "healthy", container.name
        service = container.labels["com.docker.compose.service"]
        assert f"ghcr.io/sos-app/{service}:{TAG}-development" in container.image.tags
        for bindings in container.attrs["NetworkSettings"]["Ports"].values():
            published += [(b["HostIp"], int(b["HostPort"])) for b in bindings]
    assert {ip for ip, _ in published} == {"127.0.0.1"}
    assert len(published) == len({port for _, port in published}) == 2 * len(SERVICES)
    for name, (app, _) in stack.ports.items():
        assert http_json(app)["status"] == "healthy", name


def test_the_node_inspector_and_delve_answer_on_their_host_ports(stack) -> None:
    assert http_json(stack.ports["auth-service"][1], "/json/version")["Browser"].startswith("node.js")
    with socket.create_connection(("127.0.0.1", stack.ports["device-service"][1]), timeout=5) as conn:
        conn.sendall(json.dumps({"method": "RPCServer.GetVersion", "params": [{}], "id": 1}).encode())
        assert json.loads(conn.makefile().readline())["result"]["DelveVersion"]


def test_a_node_source_edit_is_served_within_seconds_without_a_rebuild(client, stack) -> None:
    before = client.containers.get(f"{PROJECT}-auth-service-1")
    app = stack.repo / "services" / "auth-service" / "src" / "app.ts"
    app.write_text(app.read_text().replace('SERVICE_NAME = "auth-service"', 'SERVICE_NAME = "auth-edited"'))
    port = stack.ports["auth-service"][0]
    seconds = wait_for(lambda: http_json(port)["service"] == "auth-edited", 30, "the Node edit was not served")
    print(f"\nNode edit served after {seconds:.1f}s")
    after = client.containers.get(f"{PROJECT}-auth-service-1")
    assert (after.id, after.image.id) == (before.id, before.image.id)  # same container and image: no rebuild


def test_a_go_source_edit_is_rebuilt_and_served_while_watching(stack) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "invoke", "up", "--service", "device-service", "--watch"],
        cwd=REPO,
        env={**os.environ, **stack.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(watcher.stdout or ()), daemon=True).start()
    try:
        wait_for(lambda: "watch enabled" in "".join(lines).lower(), 300, "compose watch did not start")
        main = stack.repo / "services" / "device-service" / "cmd" / "main.go"
        main.write_text(
            main.read_text().replace('serviceName       = "device-service"', 'serviceName = "device-edited"')
        )
        port = stack.ports["device-service"][0]
        seconds = wait_for(lambda: http_json(port)["service"] == "device-edited", 180, "the Go edit was not served")
        print(f"\nGo edit rebuilt and served after {seconds:.1f}s")
    finally:
        watcher.send_signal(signal.SIGTERM)
        code = watcher.wait(timeout=30)
    assert code == 0, "".join(lines)[-3000:]
    assert "stopped watching" in "".join(lines)


def test_a_taken_host_port_is_named_before_anything_starts(client, stack) -> None:
    project = f"{PROJECT}taken"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**stack.env, "COMPOSE_PROJECT_NAME": project, "USER_SERVICE_HOST_PORT": str(port)}
        result = invoke("up", "--service", "user-service", env=env)
    assert result.returncode == 2
    assert f"host port {port} (user-service) is already in use" in result.stderr
    assert "USER_SERVICE_HOST_PORT" in result.stderr and "Traceback" not in result.stderr
    assert not any(project_objects(client, project).values())


def test_an_unknown_service_is_one_line(stack) -> None:
    result = invoke("up", "--service", "nope-service", env=stack.env)
    assert result.returncode == 2 and "unknown service 'nope-service'" in result.stderr


def _run(stack: Stack, project: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", "run", "--version", TAG, *args],
        cwd=REPO,
        env={**os.environ, **stack.env, "COMPOSE_PROJECT_NAME": project},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_run_serves_the_service_prints_the_debugger_and_cleans_up_on_sigterm(client, stack) -> None:
    project, app, debug = f"{PROJECT}run", free_port(), free_port()
    proc = _run(stack, project, "--service", "device-service", "--port", str(app), "--debug-port", str(debug))
    output = []
    for line in proc.stdout or ():
        output.append(line)
        if "Ctrl-C stops" in line:
            break
    text = "".join(output)
    assert f"http://127.0.0.1:{app}/health" in text and f"dlv connect 127.0.0.1:{debug}" in text, text[-3000:]
    assert '"mode": "remote"' in text and f'"port": {debug}' in text
    assert http_json(app)["status"] == "healthy"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not client.containers.list(all=True, filters={"name": f"{project}-device-service-run"})


def test_sigterm_during_start_up_leaves_no_container(client, stack) -> None:
    project = f"{PROJECT}abort"
    name = f"{project}-auth-service-run"
    proc = _run(
        stack, project, "--service", "auth-service", "--port", str(free_port()), "--debug-port", str(free_port())
    )
    try:
        wait_for(lambda: client.containers.list(all=True, filters={"name": name}), 300, "no container appeared")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) != 0
    finally:
        proc.kill()
    assert not client.containers.list(all=True, filters={"name": name})


def test_a_service_that_never_becomes_healthy_shows_its_log_and_is_removed(client, stack) -> None:
    project = f"{PROJECT}sick"
    env = {**stack.env, "COMPOSE_PROJECT_NAME": project}
    ports = ("--port", str(free_port()), "--debug-port", str(free_port()))
    crash = ("-e", "NODE_OPTIONS=--require=/nonexistent.js", "--timeout", "20")
    result = invoke("run", "--service", "auth-service", "--version", TAG, *ports, *crash, env=env)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "auth-service did not become healthy" in result.stderr
    assert "nonexistent.js" in result.stdout  # its last log lines
    assert not client.containers.list(all=True, filters={"name": f"{project}-auth-service-run"})


def test_plain_docker_compose_up_works_with_the_generated_file(client, stack) -> None:
    project = f"{PROJECT}plain"
    env = {**os.environ, **stack.env, "COMPOSE_PROJECT_NAME": project}
    env |= {"AUTH_SERVICE_HOST_PORT": str(free_port()), "AUTH_SERVICE_DEBUG_HOST_PORT": str(free_port())}
    compose_cli = ["docker", "compose"]
    try:
        up = subprocess.run([*compose_cli, "up", "--detach", "--wait", "auth-service"], cwd=stack.repo, env=env)
        assert up.returncode == 0
        assert http_json(int(env["AUTH_SERVICE_HOST_PORT"]))["service"] in ("auth-service", "auth-edited")
    finally:
        subprocess.run([*compose_cli, "down", "--volumes"], cwd=stack.repo, env=env, check=True)
    assert not any(project_objects(client, project).values())


def test_logs_show_a_services_output(stack) -> None:
    result = invoke("logs", "--service", "auth-service", "--tail", "20", env=stack.env)
    assert result.returncode == 0 and "auth-service-1" in result.stdout, result.stderr[-2000:]


def test_sigterm_during_up_takes_down_what_it_started(client, stack) -> None:
    project = f"{PROJECT}upabort"
    env = {**os.environ, **stack.env, "COMPOSE_PROJECT_NAME": project}
    env |= {"USER_SERVICE_HOST_PORT": str(free_port()), "USER_SERVICE_DEBUG_HOST_PORT": str(free_port())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "up", "--service", "user-service"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: project_objects(client, project)["containers"], 300, "no container appeared")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0 and stderr.strip().splitlines()[-1] == "interrupted"
    assert project_objects(client, project) == {"containers": [], "networks": [], "volumes": []}


def test_a_service_never_healthy_in_up_shows_its_log_and_leaves_nothing(client, tmp_path: Path) -> None:
    repo = copy_repo(tmp_path, ("emergency-service",))
    main = repo / "services" / "emergency-service" / "cmd" / "main.go"
    main.write_text(
        main.read_text().replace(
            "\tos.Exit(run(", '\tfmt.Fprintln(os.Stderr, "sick on purpose")\n\tos.Exit(3)\n\tos.Exit(run('
        )
    )
    project, tag = f"{PROJECT}sickup", f"{TAG}-sick"
    env = {"SOS_IMAGES_ROOT": str(repo), "COMPOSE_PROJECT_NAME": project, "SOS_IMAGE_TAG": tag}
    env |= {"EMERGENCY_SERVICE_HOST_PORT": str(free_port()), "EMERGENCY_SERVICE_DEBUG_HOST_PORT": str(free_port())}
    try:
        result = invoke("up", "--timeout", "15", env=env)
        assert result.returncode == 1, result.stderr[-2000:]
        assert "not healthy: emergency-service" in result.stderr.splitlines()[-1]
        assert "sick on purpose" in result.stdout + result.stderr  # its last log lines
        assert project_objects(client, project) == {"containers": [], "networks": [], "volumes": []}
    finally:
        with contextlib.suppress(Exception):
            client.images.remove(f"ghcr.io/sos-app/emergency-service:{tag}-development")


def test_down_leaves_no_container_network_or_volume(client, stack) -> None:
    result = invoke("down", env=stack.env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert project_objects(client, PROJECT) == {"containers": [], "networks": [], "volumes": []}


def test_up_wrote_the_compose_file_the_fresh_copy_lacked(stack) -> None:
    assert (stack.repo / "compose.yaml").read_text() == compose.render(load_catalog(stack.repo))
