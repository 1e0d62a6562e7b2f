"""Sign, attest and check what ships: the real cosign 2.5 against a real registry, over HTTP and over TLS."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, invoke
from tests.integration.conftest import RUN_ID, copy_repo
from tests.integration.registry import LocalRegistry, local_registry
from tests.integration.shims import recorded_calls, recording_path

PASSWORD = f"key-pass-{RUN_ID}-secret"
VERSION = f"v2.0.0-s{RUN_ID}"


@pytest.fixture(scope="module", params=["http", "tls"])
def registry(request, client, tmp_path_factory) -> Iterator[LocalRegistry]:
    tls = request.param == "tls"
    with local_registry(tmp_path_factory.mktemp(f"sign-registry-{request.param}"), tls=tls) as reg:
        assert invoke("login", "--registry", "private", env=reg.env).returncode == 0
        yield reg


def key_pair(folder: Path, password: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["cosign", "generate-key-pair"], cwd=folder, check=True, capture_output=True,
        env={"COSIGN_PASSWORD": password, "PATH": "/usr/local/bin:/usr/bin"},
    )  # fmt: skip
    return folder / "cosign.key", folder / "cosign.pub"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    key, pub = key_pair(tmp_path_factory.mktemp("keys") / "ours", PASSWORD)
    _, other = key_pair(tmp_path_factory.mktemp("keys") / "other", "other-password")
    return {"key": key, "pub": pub, "other": other}


@pytest.fixture(scope="module")
def published(registry: LocalRegistry, keys, tmp_path_factory) -> dict[str, Any]:
    """The issue's command, through argv-recording shims for cosign and docker."""
    log = tmp_path_factory.mktemp("argv") / "calls.jsonl"
    path = recording_path(log.parent, ("cosign", "docker"), log)
    env = {**registry.env, "COSIGN_PASSWORD": PASSWORD, "PATH": path}
    result = invoke(
        "publish", "--service", "device-service", "--registry", "private", "--version", VERSION,
        "--sign", "--key", str(keys["key"]), "--json", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return {"result": result, "report": json.loads(result.stdout), "calls": recorded_calls(log)}


def check(registry: LocalRegistry, pub: Path, service: str = "device-service", version: str = VERSION):
    return invoke(
        "verify", "-s", service, "-r", "private", "-v", version, "--signed", "--key", str(pub), env=registry.env
    )


def test_publish_sign_then_verify_signed_passes_naming_the_digest(registry, keys, published) -> None:
    result = check(registry, keys["pub"])
    digest = registry.digest(f"sos-app/device-service:{VERSION}")
    assert result.returncode == 0, result.stderr
    assert digest in result.stdout and "signed with" in result.stdout
    assert published["report"]["sign"]["signed"].endswith(digest)


def test_the_push_report_reads_back_platforms_and_provenance_over_http_and_tls(published) -> None:
    """buildx imagetools cannot read a registry with a private CA; the engine (its certs.d) can."""
    push = published["report"]["push"]
    assert (push["index"], push["platforms"], push["provenance"]) == (True, ["linux/amd64"], "present")


def test_another_key_fails_in_one_line(registry, keys, published) -> None:
    result = check(registry, keys["other"])
    lines = errors(result)
    assert result.returncode == 1 and len(lines) == 1 and "do not deploy" in lines[0], result.stderr


def test_the_password_never_reaches_a_command_line_or_the_output(published) -> None:
    assert any(call[1:2] == ["sign"] for call in published["calls"]), "cosign sign was not recorded"
    assert not any(PASSWORD in arg for call in published["calls"] for arg in call)
    assert PASSWORD not in published["result"].stdout + published["result"].stderr


def test_a_moved_tag_fails_verification(registry, keys, published, client) -> None:
    moved = f"v9.9.9-moved-{RUN_ID}"
    args = ("--service", "device-service", "--registry", "private")
    signed = invoke("publish", *args, "--version", moved, "--sign", "--key", str(keys["key"]),
                    env={**registry.env, "COSIGN_PASSWORD": PASSWORD})  # fmt: skip
    assert signed.returncode == 0, signed.stderr[-2000:]
    assert check(registry, keys["pub"], version=moved).returncode == 0
    other = f"{registry.host}/sos-app/device-service:{moved}"
    subprocess.run(["docker", "tag", "alpine:3.19", other], check=True)  # another image under the signed tag
    pushed = subprocess.run(["docker", "push", "-q", other], env={**_env(), **registry.env}, capture_output=True)
    assert pushed.returncode == 0, pushed.stderr
    result = check(registry, keys["pub"], version=moved)
    assert result.returncode == 1 and "do not deploy" in result.stderr


def test_the_sbom_attestation_lists_ms_for_auth_service(registry, keys, tmp_path) -> None:
    env = {**registry.env, "COSIGN_PASSWORD": PASSWORD}
    result = invoke("publish", "-s", "auth-service", "-r", "private", "-v", VERSION, "--sign", "--key",
                    str(keys["key"]), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert check(registry, keys["pub"], service="auth-service").returncode == 0
    out = subprocess.run(
        ["cosign", "verify-attestation", "--key", str(keys["pub"]), "--type", "cyclonedx", "--insecure-ignore-tlog",
         "--allow-http-registry", "--allow-insecure-registry", f"{registry.host}/sos-app/auth-service:{VERSION}"],
        env={**_env(), **registry.env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    statement = json.loads(base64.b64decode(json.loads(out.stdout.splitlines()[0])["payload"]))
    names = {c["name"] for c in statement["predicate"]["components"]}
    assert "ms" in names


@pytest.mark.parametrize(
    ("env", "fragment", "code"),
    [({"COSIGN_PASSWORD": None}, "set COSIGN_PASSWORD", 2), ({"COSIGN_PASSWORD": "wrong"}, "signing", 1)],
)
def test_a_missing_or_wrong_password_is_one_line_and_leaves_no_signature(registry, keys, env, fragment, code):
    version = f"v3.0.0-u{RUN_ID}"
    base = {k: v for k, v in {**registry.env, **env}.items() if v is not None}
    pushed = invoke("push", "-s", "device-service", "-r", "private", "-v", VERSION, env=base)
    assert pushed.returncode == 0
    invoke("publish", "-s", "device-service", "-r", "private", "-v", version, env=base)
    environ = {k: v for k, v in {**_env(), **base}.items()}
    if env["COSIGN_PASSWORD"] is None:
        environ.pop("COSIGN_PASSWORD", None)
    result = subprocess.run(
        ["python3", "-m", "invoke", "sign", "-s", "device-service", "-r", "private", "-v", version,
         "--key", str(keys["key"])], capture_output=True, text=True, env=environ, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    lines = errors(result)
    assert result.returncode == code and fragment in lines[-1] and "Traceback" not in result.stderr, result.stderr
    assert check(registry, keys["pub"], version=version).returncode == 1  # nothing half-signed to trust


def test_a_multi_platform_index_is_signed_once_and_verifies_for_each_platform(registry, keys) -> None:
    version = f"v4.0.0-mp{RUN_ID}"
    env = {**registry.env, "COSIGN_PASSWORD": PASSWORD}
    result = invoke("publish", "-s", "device-service", "-r", "private", "-v", version, "--platform",
                    "linux/amd64,linux/arm64", "--sign", "--key", str(keys["key"]), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    raw = registry.skopeo("inspect", "--raw", f"docker://{registry.host}/sos-app/device-service:{version}")
    platforms = [m["digest"] for m in raw["manifests"] if m["platform"]["os"] != "unknown"]
    assert len(platforms) == 2
    for digest in platforms:
        out = subprocess.run(
            ["cosign", "verify", "--key", str(keys["pub"]), "--insecure-ignore-tlog", "--allow-http-registry",
             "--allow-insecure-registry", f"{registry.host}/sos-app/device-service@{digest}"],
            env={**_env(), **registry.env}, capture_output=True, text=True,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr


def test_push_sign_and_the_nox_push_session_sign_what_they_push(registry, keys, tmp_path) -> None:
    """invoke push --sign; and a push session signs by itself once [tool.sos-images.sign] names a key."""
    repo = copy_repo(tmp_path, ("device-service",))
    with (repo / "pyproject.toml").open("a") as toml:
        toml.write(f'\n[tool.sos-images.sign]\nkey = "{keys["key"]}"\n')
    env = {**registry.env, "COSIGN_PASSWORD": PASSWORD, "SOS_IMAGES_ROOT": str(repo)}
    by_task, by_nox = f"v5.0.0-p{RUN_ID}", f"v5.0.1-n{RUN_ID}"
    for version in (by_task, by_nox):
        assert invoke("build", "-s", "device-service", "-r", "private", "-v", version, env=env).returncode == 0
    pushed = invoke("push", "-s", "device-service", "-r", "private", "-v", by_task, "--sign", "--json", env=env)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert json.loads(pushed.stdout)["sign"]["signed"].endswith(registry.digest(f"sos-app/device-service:{by_task}"))
    session = "push(service='device-service', registry='private')"
    nox = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(REPO / "noxfile.py"), "-s", session, "--", "--version", by_nox],
        cwd=repo, env={**_env(), **env}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert nox.returncode == 0, nox.stderr[-3000:]
    assert "--sign" in nox.stderr
    for version in (by_task, by_nox):
        assert check(registry, keys["pub"], version=version).returncode == 0


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without the echoed commands ('+ cosign ...'): what the user is told."""
    return [line for line in result.stderr.strip().splitlines() if not line.startswith("+ ")]


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
