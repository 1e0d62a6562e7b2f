"""Docker Engine 26 with the containerd image store: multi-platform indexes, provenance, and a registry cache that
two CI runners share (two engines on this machine with nothing in common but a registry)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RUN_ID, copy_repo, invoke
from tests.integration.engines import second_engine
from tests.integration.registry import LocalRegistry, local_registry
from tests.integration.test_cache import step_statuses

TWO = "linux/amd64,linux/arm64"
ELF_MACHINES = {b"\x3e\x00": "linux/amd64", b"\xb7\x00": "linux/arm64"}  # e_machine: x86-64, AArch64
VERSION = f"v1.2.3-t{RUN_ID}"


def test_the_tests_run_on_a_current_engine_with_the_containerd_store(client) -> None:
    info = client.info()
    assert int(info["ServerVersion"].split(".")[0]) >= 25, info["ServerVersion"]
    assert "io.containerd.snapshotter" in str(info["DriverStatus"])


@pytest.fixture(scope="module")
def registry(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with local_registry(tmp_path_factory.mktemp("engine-registry")) as reg:
        assert invoke("login", "--registry", "private", env=reg.env).returncode == 0
        yield reg


@pytest.fixture(scope="module")
def published(registry: LocalRegistry) -> dict[str, Any]:
    """The issue's command: a two-platform publish of a Go service."""
    result = invoke(
        "publish",
        "--service", "device-service",
        "--registry", "private",
        "--version", VERSION,
        "--platform", TWO,
        "--json",
        env=registry.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_a_published_go_service_is_one_index_with_both_platforms(registry: LocalRegistry, published) -> None:
    raw = registry.skopeo("inspect", "--raw", f"docker://{registry.host}/sos-app/device-service:{VERSION}")
    images = [m for m in raw["manifests"] if m["platform"]["os"] != "unknown"]
    assert sorted(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in images) == sorted(TWO.split(","))
    assert published["push"]["platforms"] == TWO.split(",")
    assert published["build"]["platforms"] == TWO.split(",")


def test_the_printed_index_digest_is_the_registrys(registry: LocalRegistry, published) -> None:
    digest = registry.digest(f"sos-app/device-service:{VERSION}")
    assert published["push"]["digest"] == digest
    assert {p["digest"] for p in published["push"]["pushed"]} == {digest}
    assert published["build"]["digest"] == digest  # the local index is the pushed one


def elf_machine(image: str, platform: str, env: dict[str, str] | None = None) -> str:
    """The machine the image's /app binary is for, read from its ELF header (pulled through this engine)."""
    env = {**os.environ, **(env or {})}
    created = subprocess.run(
        ["docker", "create", "--platform", platform, image], capture_output=True, text=True, check=True, env=env
    )
    container = created.stdout.strip()
    try:
        elf = subprocess.run(["docker", "cp", f"{container}:/app", "-"], capture_output=True, check=True).stdout
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
    header = elf[512 : 512 + 64]  # docker cp streams a tar: the file starts after its 512-byte header
    assert header[:4] == b"\x7fELF"
    return ELF_MACHINES[header[18:20]]


@pytest.mark.parametrize("platform", TWO.split(","))
def test_each_platform_holds_a_binary_for_its_machine(registry: LocalRegistry, published, platform: str) -> None:
    assert elf_machine(f"{registry.host}/sos-app/device-service:{VERSION}", platform) == platform


def test_a_release_carries_provenance_in_its_index(registry: LocalRegistry, published) -> None:
    raw = registry.skopeo("inspect", "--raw", f"docker://{registry.host}/sos-app/device-service:{VERSION}")
    kinds = [(m.get("annotations") or {}).get("vnd.docker.reference.type") for m in raw["manifests"]]
    assert kinds.count("attestation-manifest") == 2  # one per platform
    assert published["push"]["provenance"] == "present"


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("--service", "device-service", "--platform", "linux/arm65"), 2, "did you mean linux/arm64"),
        (("--service", "auth-service", "--platform", TWO), 3, "linux/arm64 cannot be built for auth-service"),
    ],
)
def test_a_platform_that_cannot_be_built_is_one_line_and_tags_nothing(client, args, code, fragment) -> None:
    version = f"t-bad-{RUN_ID}"
    result = invoke("build", *args, "--version", version)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1 and fragment in lines[0], result.stderr
    leftovers = subprocess.run(["docker", "images", "-q", f"*/*/*:{version}"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""


def test_an_unreachable_cache_registry_warns_and_the_build_succeeds(client) -> None:
    closed = "127.0.0.1:9"  # discard port: nothing listens
    env = {"REGISTRY_URL": closed}
    version = f"t-nocache-{RUN_ID}"
    result = invoke(
        "build", "--service", "device-service", "--registry", "private", "--version", version,
        "--cache", "registry", "--progress", "plain", env=env,
    )  # fmt: skip
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "connection refused" in result.stderr.lower() or "failed to" in result.stderr.lower()
    finally:
        subprocess.run(["docker", "rmi", f"{closed}/sos-app/device-service:{version}"], capture_output=True)


# --- Two CI runners ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mirror(registry: LocalRegistry) -> Iterator[str]:
    """The Go base image served by the shared registry, as a mirror would serve it to an empty runner."""
    image = f"{registry.host}/library/golang:1.21-alpine"
    subprocess.run(["docker", "tag", "golang:1.21-alpine", image], check=True)
    pushed = subprocess.run(["docker", "push", "-q", image], env={**os.environ, **registry.env}, capture_output=True)
    assert pushed.returncode == 0, pushed.stderr
    yield image
    subprocess.run(["docker", "rmi", image], capture_output=True)


@pytest.fixture(scope="module")
def runners(registry: LocalRegistry, mirror: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Runner A (this machine's engine) builds with --cache registry; runner B, an empty engine, builds the same
    commit."""
    repo = copy_repo(tmp_path_factory.mktemp("runners-repo"), ("device-service",))
    version = f"t-runners-{RUN_ID}"
    common = {**registry.env, "SOS_IMAGES_ROOT": str(repo), "SOURCE_DATE_EPOCH": "1700000000"}
    argv = [
        "build", "--service", "device-service", "--registry", "private", "--version", version, "--cache", "registry",
        "--build-arg", f"GO_IMAGE={mirror}", "--progress", "plain", "--json",
    ]  # fmt: skip
    image = f"{registry.host}/sos-app/device-service:{version}"
    try:
        a = invoke(*argv, env=common)
        assert a.returncode == 0, a.stderr[-3000:]
        with second_engine(tmp_path_factory.mktemp("runner-b")) as host:
            b_config = tmp_path_factory.mktemp("runner-b-config")
            env_b = {**common, **host, "DOCKER_CONFIG": str(b_config)}
            assert invoke("login", "--registry", "private", env=env_b).returncode == 0
            b = invoke(*argv, env=env_b)
            assert b.returncode == 0, b.stderr[-3000:]
            layers_b = _layers(image, env_b)
        yield {"a": a, "b": b, "layers_a": _layers(image, common), "layers_b": layers_b}
    finally:
        subprocess.run(["docker", "rmi", image], capture_output=True)


def _layers(image: str, env: dict[str, str]) -> list[str]:
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", image],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("step", ["go mod download", "go build"])
def test_an_empty_runner_gets_dependency_and_compile_steps_from_the_registry_cache(runners, step: str) -> None:
    statuses = step_statuses(runners["b"].stderr, step)
    assert statuses and all(s == "CACHED" for s in statuses), statuses


def test_both_runners_produce_identical_layers(runners) -> None:
    assert runners["layers_a"] == runners["layers_b"]


def test_an_image_built_for_a_profile_is_the_one_push_takes_and_says_so(registry: LocalRegistry, published) -> None:
    args = ("push", "--service", "device-service", "--registry", "private", "--version", VERSION, "--json")
    result = invoke(*args, env=registry.env)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["source"] == f"{registry.host}/sos-app/device-service:{VERSION}"
    assert f"local image {report['source']}" in result.stderr


def test_a_dry_run_push_prints_json_too(registry: LocalRegistry) -> None:
    result = invoke(
        "push", "-s", "device-service", "-r", "private", "-v", "v9.9.9", "--dry-run", "--json", env=registry.env
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert [p["ref"] for p in report["pushed"]][-1] == f"{registry.host}/sos-app/device-service:latest"


# --- A release built natively, one platform per machine -----------------------------------------------------

SPLIT = f"v3.1.0-s{RUN_ID}"


def tags_or_none(registry: LocalRegistry, repository: str) -> list[str]:
    """The repository's tags; [] when it has none (the registry then answers 404 to the tag list)."""
    try:
        return registry.tags(repository)
    except subprocess.CalledProcessError as exc:
        assert "404" in exc.stderr, exc.stderr
        return []


@pytest.fixture(scope="module")
def split_release(registry: LocalRegistry, mirror: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Runner A (this engine) builds linux/amd64, runner B (an empty engine: nothing shared but the registry)
    linux/arm64, Go cross-compiling; the digest folder travels between them as CI's artifacts carry it. Then one
    merge, signed with a key pair, and `verify --signed`."""
    tmp = tmp_path_factory.mktemp("split")
    (tmp / "repo").mkdir()
    repo = copy_repo(tmp / "repo", ("device-service",))
    password = f"split-{RUN_ID}"
    keys_env = {"COSIGN_PASSWORD": password, "PATH": os.environ["PATH"]}
    subprocess.run(["cosign", "generate-key-pair"], cwd=tmp, env=keys_env, check=True, capture_output=True)
    common = {**registry.env, "SOS_IMAGES_ROOT": str(repo), "COSIGN_PASSWORD": password}
    job = ("publish", "-s", "device-service", "-r", "private", "-v", SPLIT, "--by-digest", "--digests",
           str(tmp / "digests"), "--build-arg", f"GO_IMAGE={mirror}", "--json")  # fmt: skip
    a = invoke(*job, "--platform", "linux/amd64", "--verify", "--summary", str(tmp / "a.md"), env=common)
    assert a.returncode == 0, a.stderr[-3000:]
    with second_engine(tmp_path_factory.mktemp("split-runner-b")) as host:
        env_b = {**common, **host, "DOCKER_CONFIG": str(tmp_path_factory.mktemp("split-b-config"))}
        assert invoke("login", "--registry", "private", env=env_b).returncode == 0
        b = invoke(*job, "--platform", "linux/arm64", "--verify", "--summary", str(tmp / "b.md"), env=env_b)
        assert b.returncode == 0, b.stderr[-3000:]
    tags_before = tags_or_none(registry, "sos-app/device-service")
    merge = ("merge", "-s", "device-service", "-r", "private", "-v", SPLIT, "--digests", str(tmp / "digests"),
             "--summary", str(tmp / "merge.md"), "--json")  # fmt: skip
    merged = invoke(*merge, "--sign", "--key", str(tmp / "cosign.key"), env=common)
    assert merged.returncode == 0, merged.stderr[-3000:]
    again = invoke(*merge, env=common)
    return {"a": json.loads(a.stdout), "b": json.loads(b.stdout), "merged": json.loads(merged.stdout),
            "again": again, "tags_before": tags_before, "tmp": tmp, "env": common}  # fmt: skip


def test_a_platform_job_pushes_its_digest_and_no_tag(registry: LocalRegistry, split_release) -> None:
    assert not any(SPLIT in tag for tag in split_release["tags_before"])
    for job, platform in (("a", "linux/amd64"), ("b", "linux/arm64")):
        record = json.loads(Path(split_release[job]["record"]).read_text())
        assert record["platform"] == platform and record["provenance"] is True
        assert registry.skopeo(
            "inspect", "--raw", f"docker://{registry.host}/sos-app/device-service@{record['digest']}"
        )


def test_each_platform_job_verified_only_what_its_machine_runs(split_release) -> None:
    assert split_release["a"]["verify"].startswith("passed")
    assert split_release["b"]["verify"].startswith("skipped")  # runner B is amd64 too: arm64 does not run there


def test_the_merge_makes_one_index_of_both_platforms_with_their_provenance(
    registry: LocalRegistry, split_release
) -> None:
    raw = registry.skopeo("inspect", "--raw", f"docker://{registry.host}/sos-app/device-service:{SPLIT}")
    images = [m for m in raw["manifests"] if m["platform"]["os"] != "unknown"]
    assert sorted(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in images) == sorted(TWO.split(","))
    kinds = [(m.get("annotations") or {}).get("vnd.docker.reference.type") for m in raw["manifests"]]
    assert kinds.count("attestation-manifest") == 2
    assert split_release["merged"]["digest"] == registry.digest(f"sos-app/device-service:{SPLIT}")
    digests = {m["digest"] for m in images}
    assert {split_release[j]["manifest"] for j in "ab"} == digests  # each runner's own image, unchanged


@pytest.mark.parametrize("platform", TWO.split(","))
def test_each_platform_of_the_merged_index_is_a_binary_for_its_machine(registry, split_release, platform) -> None:
    image = f"{registry.host}/sos-app/device-service:{SPLIT}"
    assert elf_machine(image, platform, split_release["env"]) == platform


def test_verify_signed_accepts_the_merged_index(split_release) -> None:
    key = str(split_release["tmp"] / "cosign.pub")
    checked = invoke("verify", "-s", "device-service", "-r", "private", "-v", SPLIT, "--signed", "--key", key,
                     env=split_release["env"])  # fmt: skip
    assert checked.returncode == 0, checked.stderr[-2000:]


def test_a_second_merge_of_the_same_digests_changes_nothing(split_release) -> None:
    again = split_release["again"]
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads(again.stdout)
    assert {t["action"] for t in report["tags"]} == {"keep"} and report["digest"] == split_release["merged"]["digest"]


def test_the_job_summaries_show_digests_sizes_and_tags(split_release) -> None:
    tmp = split_release["tmp"]
    assert split_release["b"]["digest"] in (tmp / "b.md").read_text()
    merge = (tmp / "merge.md").read_text()
    assert split_release["merged"]["digest"] in merge and "| linux/arm64 |" in merge
    assert f"| `{SPLIT}` | created |" in merge and "Signed and SBOM-attested" in merge


def test_a_platform_job_for_a_platform_that_needs_emulation_is_one_line_and_pushes_nothing(registry) -> None:
    result = invoke("publish", "-s", "auth-service", "-r", "private", "-v", SPLIT, "--platform", "linux/arm64",
                    "--by-digest", env=registry.env)  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 3 and len(lines) == 1 and "linux/arm64 cannot be built for auth-service" in lines[0]
    assert not tags_or_none(registry, "sos-app/auth-service")
