"""invoke login / push / publish against a real registry with real authentication."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import RUN_ID, invoke
from tests.integration.registry import PASSWORD, USER, env_without_credentials, local_registry
from tests.integration.shims import recorded_calls, recording_path

SERVICE = "device-service"


@pytest.fixture(scope="module", params=["http", "tls"])
def registry(request, client, tmp_path_factory):
    with local_registry(tmp_path_factory.mktemp(f"registry-{request.param}"), tls=request.param == "tls") as reg:
        yield reg


@pytest.fixture(scope="module")
def release(built, client):
    """The device-service production image, tagged as the version the push tests release."""
    b = built(SERVICE)
    refs = []
    for version in ("v1.2.3", "v1.3.0-rc.1"):
        ref = f"ghcr.io/sos-app/{SERVICE}:{version}"
        client.images.get(b.image).tag(ref)
        refs.append(ref)
    yield b
    for ref in refs:
        with contextlib.suppress(Exception):
            client.images.remove(ref)


def login(reg, **extra):
    return invoke("login", "--registry", "private", env={**reg.env, **extra})


def test_login_succeeds_and_persists_in_docker_config(registry) -> None:
    result = login(registry)
    assert result.returncode == 0, result.stderr
    assert f"Logged in to {registry.host}" in result.stdout
    config = Path(registry.env["DOCKER_CONFIG"], "config.json").read_text()
    assert registry.host in config and PASSWORD not in config  # stored as base64 auth, not in clear


def test_wrong_password_fails_clearly(registry) -> None:
    result = login(registry, REGISTRY_PASSWORD="wrong-password")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    # the daemon's own reason: 401 over http; over TLS it falls back to http last and reports that answer
    expected = rf"error: login to {re.escape(registry.host)} as {USER} failed: Error response from daemon: .+"
    assert re.fullmatch(expected + "; check REGISTRY_PASSWORD", last), last
    assert "wrong-password" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_missing_variable_is_named(registry) -> None:
    env = env_without_credentials(registry)
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "login", "--registry", "private"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "REGISTRY_USER" in result.stderr and "REGISTRY_PASSWORD" in result.stderr


def test_push_leaves_every_policy_tag_with_the_printed_digest(registry, release, client) -> None:
    assert login(registry).returncode == 0
    result = invoke("push", "--service", SERVICE, "--registry", "private", "--version", "v1.2.3", env=registry.env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    repo = f"sos-app/{SERVICE}"
    assert registry.tags(repo) == sorted(["v1.2.3", "1.2.3", "1.2", "1", "latest"])
    printed = [line.split("@")[1] for line in result.stdout.splitlines() if line.startswith("[SUCCESS] Pushed")]
    assert len(printed) == 5 and len(set(printed)) == 1
    assert printed[0] == registry.digest(f"{repo}:v1.2.3")


def test_push_then_pull_round_trips(registry, release, client) -> None:
    assert login(registry).returncode == 0
    assert (
        invoke(
            "push", "--service", SERVICE, "--registry", "private", "--version", "v1.2.3", env=registry.env
        ).returncode
        == 0
    )
    ref = f"{registry.host}/sos-app/{SERVICE}:1.2"
    client.images.remove(ref, force=True)
    env = {**os.environ, "DOCKER_CONFIG": registry.env["DOCKER_CONFIG"]}
    subprocess.run(["docker", "pull", "-q", ref], env=env, check=True, capture_output=True)
    assert client.images.get(ref).id == client.images.get(release.image).id


def test_a_prerelease_gets_no_latest(registry, release) -> None:
    assert login(registry).returncode == 0
    result = invoke(
        "push", "--service", SERVICE, "--registry", "private", "--version", "v1.3.0-rc.1", "--json", env=registry.env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "v1.3.0-rc.1" in registry.tags(f"sos-app/{SERVICE}")
    pushed = [p["ref"].rsplit(":", 1)[1] for p in json.loads(result.stdout)["pushed"]]
    assert pushed == ["v1.3.0-rc.1", "1.3.0-rc.1"]


def test_build_metadata_builds_and_pushes_what_the_release_pushes(registry, client) -> None:
    # A version of its own: v1.2.3 (the release fixture's) is immutable and holds other content by now.
    version = f"v0.9.3+build.{RUN_ID}"
    built = invoke("build", "--service", SERVICE, "--version", version)
    assert built.returncode == 0, built.stderr[-2000:]
    local = f"ghcr.io/sos-app/{SERVICE}:v0.9.3-build.{RUN_ID}"
    try:
        assert client.images.get(local).labels["org.opencontainers.image.version"] == version
        assert login(registry).returncode == 0
        result = invoke(
            "push",
            "--service",
            SERVICE,
            "--registry",
            "private",
            "--version",
            version,
            "--semver",
            "--no-latest",  # latest must not move to this test's version: other tests read it
            "--json",
            env=registry.env,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        pushed = [p["ref"].rsplit(":", 1)[1] for p in json.loads(result.stdout)["pushed"]]
        assert pushed == [f"v0.9.3-build.{RUN_ID}", "0.9.3", "0.9", "0"]
    finally:
        with contextlib.suppress(Exception):
            client.images.remove(local)


def test_push_without_login_fails_clearly(registry, release, client, tmp_path) -> None:
    # A version no other test pushed: a re-push of tags that already hold this image pushes nothing, so succeeds.
    version = f"v0.0.1-nologin.{RUN_ID}"
    local = f"ghcr.io/sos-app/{SERVICE}:{version}"
    client.images.get(release.image).tag(local)
    env = {**registry.env, "DOCKER_CONFIG": str(tmp_path)}
    try:
        result = invoke("push", "--service", SERVICE, "--registry", "private", "--version", version, env=env)
    finally:
        client.images.remove(local)
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: push of {registry.host}/sos-app/{SERVICE}:{version} failed: "), last
    assert last.endswith(f"log in first: invoke login (docker login {registry.host})"), last
    assert "Traceback" not in result.stderr


def test_push_of_an_image_never_built_names_the_build_command(registry) -> None:
    result = invoke(
        "push", "--service", SERVICE, "--registry", "private", "--version", "v9.9.9-never", env=registry.env
    )
    assert result.returncode == 2
    assert "invoke build --service device-service --version v9.9.9-never" in result.stderr


def test_registry_down_fails_then_the_same_command_succeeds_without_leftover_tags(registry, release, client) -> None:
    assert login(registry).returncode == 0
    args = ("push", "--service", SERVICE, "--registry", "private", "--version", "v1.2.3", "--sha")
    registry.stop()
    try:
        for ref in client.images.get(release.image).tags:
            if ref.startswith(registry.host):
                client.images.remove(ref)
        result = invoke(*args, env=registry.env)
    finally:
        registry.start()
    assert result.returncode == 1
    first = f"{registry.host}/sos-app/{SERVICE}:v1.2.3"
    reachable = f"the registry {registry.host} is not reachable: is it running?"
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: push of {first} failed: ") and last.endswith(reachable), last
    left = [t for t in client.images.get(release.image).tags if t.startswith(registry.host)]
    assert left == [], f"half-tagged: {left}"
    retry = invoke(*args, env=registry.env)
    assert retry.returncode == 0, retry.stderr[-2000:]
    assert any(t.startswith("sha-") for t in registry.tags(f"sos-app/{SERVICE}"))


def test_the_password_never_appears_in_argv_or_output(registry, release, tmp_path) -> None:
    log = tmp_path / "calls.jsonl"
    env = {**registry.env, "PATH": recording_path(tmp_path, ["docker", "git"], log)}
    results = [
        invoke("login", "--registry", "private", env=env),
        invoke("push", "--service", SERVICE, "--registry", "private", "--version", "v1.2.3", env=env),
    ]
    assert all(r.returncode == 0 for r in results), results[-1].stderr[-2000:]
    calls = recorded_calls(log)
    assert ["login", "--username", USER, "--password-stdin", registry.host] in [argv[1:] for argv in calls]
    assert [argv for argv in calls if any(PASSWORD in arg for arg in argv)] == []
    assert all(PASSWORD not in r.stdout + r.stderr for r in results)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--registry", "quay"], "known registries: dockerhub, ghcr, private"),
        (["--registry", "private", "--service", "nope-service"], "unknown service"),
        (["--registry", "private", "--version", "release-7", "--semver"], "not semantic"),
    ],
)
def test_bad_push_input_is_one_line_and_pushes_nothing(registry, args, fragment) -> None:
    result = (
        invoke("push", "--service", SERVICE, *args, env=registry.env)
        if "--service" not in args
        else invoke("push", *args, env=registry.env)
    )
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_registry_host_is_refused(registry) -> None:
    result = invoke(
        "push",
        "--service",
        SERVICE,
        "--registry",
        "private",
        env={**registry.env, "REGISTRY_URL": "https://registry.example.com/path"},
    )
    assert result.returncode == 2
    assert "malformed" in result.stderr
