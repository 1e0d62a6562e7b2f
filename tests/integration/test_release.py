"""Release rules against a real htpasswd registry: forward-only floating tags, immutable versions, re-runs."""

from __future__ import annotations

import contextlib
import http.server
import json
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.integration.conftest import free_port, invoke
from tests.integration.registry import LocalRegistry, local_registry

SERVICE = "device-service"
REPO_PATH = f"sos-app/{SERVICE}"


@pytest.fixture()
def registry(client, tmp_path) -> Iterator[LocalRegistry]:
    """A fresh registry per test (each starts from an empty repository), logged in."""
    with local_registry(tmp_path / "registry") as reg:
        assert invoke("login", "--registry", "private", env=reg.env).returncode == 0
        yield reg


@pytest.fixture(scope="module")
def contents(built, client) -> dict[str, str]:
    """Three small Go production images with different content."""
    return {"a": built(SERVICE).image, "b": built("location-service").image, "c": built("emergency-service").image}


def release(registry: LocalRegistry, client, image: str, version: str, *extra: str):
    """Name `image` for this registry as `version` (tags under its host:port are this test's alone) and push it."""
    client.images.get(image).tag(f"{registry.host}/{REPO_PATH}:{version}")
    return invoke("push", "-s", SERVICE, "-r", "private", "-v", version, "--json", *extra, env=registry.env)


def pushed(registry: LocalRegistry, client, image: str, version: str, *extra: str) -> dict:
    result = release(registry, client, image, version, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def digests(registry: LocalRegistry) -> dict[str, str]:
    return {tag: registry.digest(f"{REPO_PATH}:{tag}") for tag in registry.tags(REPO_PATH)}


def actions(report: dict) -> dict[str, str]:
    return {t["tag"]: t["action"] for t in report["tags"]}


def test_a_hotfix_of_an_older_line_moves_its_line_but_not_the_newer_major_nor_latest(registry, client, contents):
    pushed(registry, client, contents["a"], "v1.9.0")
    newer = pushed(registry, client, contents["b"], "v2.0.0")["digest"]
    report = pushed(registry, client, contents["c"], "v1.9.1")
    assert actions(report) == {"v1.9.1": "create", "1.9.1": "create", "1.9": "move", "1": "move", "latest": "keep"}
    now = digests(registry)
    assert now["latest"] == now["2"] == newer
    assert now["1"] == now["1.9"] == now["v1.9.1"] == report["digest"] != newer
    latest = next(t for t in report["tags"] if t["tag"] == "latest")
    assert latest["reason"] == "v2.0.0 is higher than v1.9.1"


def test_force_tags_moves_latest_back_on_purpose(registry, client, contents):
    pushed(registry, client, contents["b"], "v2.0.0")
    report = pushed(registry, client, contents["a"], "v1.9.1", "--force-tags")
    assert actions(report)["latest"] == "move"
    assert digests(registry)["latest"] == report["digest"]


def test_a_prerelease_after_a_stable_leaves_every_floating_tag(registry, client, contents):
    stable = pushed(registry, client, contents["a"], "v2.0.0")["digest"]
    report = pushed(registry, client, contents["b"], "v2.1.0-rc.1")
    assert actions(report) == {"v2.1.0-rc.1": "create", "2.1.0-rc.1": "create"}
    now = digests(registry)
    assert now["latest"] == now["2"] == now["2.0"] == stable != now["v2.1.0-rc.1"]


def test_rerunning_the_same_release_succeeds_and_changes_nothing(registry, client, contents):
    pushed(registry, client, contents["a"], "v2.0.0", "--sha")
    before = digests(registry)
    again = release(registry, client, contents["a"], "v2.0.0", "--sha")
    assert again.returncode == 0, again.stderr[-3000:]
    report = json.loads(again.stdout)
    assert set(actions(report).values()) == {"keep"} and report["pushed"] == []
    assert report["digest"] == before["v2.0.0"]
    assert digests(registry) == before
    assert "Pushed" not in again.stdout + again.stderr


def test_other_content_under_an_existing_version_is_refused_and_nothing_changes(registry, client, contents):
    pushed(registry, client, contents["a"], "v2.0.0")
    before = digests(registry)
    result = release(registry, client, contents["b"], "v2.0.0")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    new = client.images.get(contents["b"]).id
    assert last.startswith(f"error: v2.0.0 already holds {before['v2.0.0']}, other content than this image {new}")
    assert "--force" in last and "Traceback" not in result.stderr
    assert digests(registry) == before


def test_force_overwrites_an_existing_version_deliberately(registry, client, contents):
    pushed(registry, client, contents["a"], "v2.0.0")
    report = pushed(registry, client, contents["b"], "v2.0.0", "--force")
    assert set(actions(report).values()) == {"move"}
    assert set(digests(registry).values()) == {report["digest"]}


def test_a_dry_run_reads_the_registry_and_pushes_nothing(registry, client, contents):
    pushed(registry, client, contents["b"], "v2.0.0")
    before = digests(registry)
    report = pushed(registry, client, contents["a"], "v1.9.1", "--dry-run")
    assert report["dry_run"] is True
    assert actions(report) == {"v1.9.1": "create", "1.9.1": "create", "1.9": "create", "1": "create", "latest": "keep"}
    assert {t["new"] for t in report["tags"] if t["action"] == "create"} == {client.images.get(contents["a"]).id}
    assert digests(registry) == before


class _RefusingTagList(http.server.BaseHTTPRequestHandler):
    """A registry front that answers /v2/ but refuses every tag list, as a registry does to an account that
    may push but not list."""

    def do_GET(self) -> None:
        status = 401 if self.path.endswith("/tags/list") or "/tags/list?" in self.path else 200
        body = b'{"errors":[{"code":"DENIED","message":"listing is not allowed"}]}' if status == 401 else b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def refusing_registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _RefusingTagList)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_registry_that_refuses_the_tag_list_stops_the_push_in_one_line(client, contents, tmp_path):
    with refusing_registry() as host:
        ref = f"{host}/{REPO_PATH}:v1.0.0"
        client.images.get(contents["a"]).tag(ref)
        try:
            env = {"REGISTRY_URL": host, "DOCKER_CONFIG": str(tmp_path), "REGISTRY_USER": "u", "REGISTRY_PASSWORD": "p"}
            result = invoke("push", "-s", SERVICE, "-r", "private", "-v", "v1.0.0", env=env)
        finally:
            client.images.remove(ref)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert f"registry {host} refused the tag list of {REPO_PATH} (HTTP 401, DENIED)" in last, last
    assert "--force-tags" in last and "Traceback" not in result.stderr
    assert "PUSH" not in result.stdout


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("release-key")
    env = {"COSIGN_PASSWORD": "release-key-pass", "PATH": "/usr/local/bin:/usr/bin"}
    subprocess.run(["cosign", "generate-key-pair"], cwd=folder, check=True, capture_output=True, env=env)
    return {
        "key": str(folder / "cosign.key"),
        "pub": str(folder / "cosign.pub"),
        "COSIGN_PASSWORD": env["COSIGN_PASSWORD"],
    }


def signed(registry: LocalRegistry, client, key, image: str, version: str, *extra: str) -> dict:
    client.images.get(image).tag(f"{registry.host}/{REPO_PATH}:{version}")
    env = {**registry.env, "COSIGN_PASSWORD": key["COSIGN_PASSWORD"]}
    args = ("push", "-s", SERVICE, "-r", "private", "-v", version, "--sign", "--key", key["key"], "--json", *extra)
    result = invoke(*args, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def verified(registry: LocalRegistry, key, version: str) -> subprocess.CompletedProcess[str]:
    return invoke("verify", "-s", SERVICE, "-r", "private", "-v", version, "--signed", "--key", key["pub"],
                  env=registry.env)  # fmt: skip


def test_signatures_follow_a_rerun_signs_nothing_a_forced_overwrite_signs_the_new_digest(
    registry, client, contents, key
):
    first = signed(registry, client, key, contents["a"], "v3.0.0")
    assert first["sign"]["skipped"] == []
    again = signed(registry, client, key, contents["a"], "v3.0.0")
    assert again["pushed"] == [] and again["sign"]["skipped"] == ["sign", "attest"]
    assert again["sign"]["signed"] == first["sign"]["signed"]
    forced = signed(registry, client, key, contents["b"], "v3.0.0", "--force")
    assert forced["digest"] != first["digest"] and forced["sign"]["skipped"] == []
    result = verified(registry, key, "v3.0.0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert forced["digest"] in result.stdout


def test_a_rerun_after_a_job_died_between_push_and_sign_completes_the_signature(registry, client, contents, key):
    unsigned = pushed(registry, client, contents["a"], "v3.1.0")
    assert verified(registry, key, "v3.1.0").returncode == 1
    rerun = signed(registry, client, key, contents["a"], "v3.1.0")
    assert rerun["pushed"] == [] and rerun["sign"]["skipped"] == [] and rerun["digest"] == unsigned["digest"]
    assert verified(registry, key, "v3.1.0").returncode == 0


def test_publish_dry_run_builds_reads_the_registry_and_pushes_nothing(registry, client, contents):
    pushed(registry, client, contents["b"], "v2.0.0")
    before = digests(registry)
    result = invoke("publish", "-s", SERVICE, "-r", "private", "-v", "v1.9.1", "--dry-run", "--json", env=registry.env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)["push"]
    assert actions(report)["latest"] == "keep" and actions(report)["1.9"] == "create"
    assert "keep   latest" in result.stderr and "v2.0.0 is higher than v1.9.1" in result.stderr
    assert digests(registry) == before
