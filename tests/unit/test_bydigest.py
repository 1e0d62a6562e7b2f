"""One platform per machine: the digest records, the release's tags across the two steps, the OCI layout that
is pushed by digest, and the job summaries. All pure or on files; the registry run is in test_engine.py."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from sos_images import bydigest, distribution, summary
from sos_images.bydigest import PlatformRecord
from sos_images.catalog import load_catalog
from sos_images.errors import CheckFailed, UsageError
from sos_images.plans import BuildClient, BuildOptions, SourceInfo, plan_build
from sos_images.platformjobs import one_platform
from sos_images.refs import resolve
from sos_images.release_rules import Image
from sos_images.tags import TagPolicy

REPO_HOST = "127.0.0.1:5000"
ENV = {"REGISTRY_URL": REPO_HOST}
AMD, ARM = ("cfg-a", "l1", "l2"), ("cfg-b", "l3", "l4")


@pytest.fixture
def ref(fake_repo: Path):
    catalog = load_catalog(fake_repo)
    return resolve(catalog, "device-service", None, "v1.2.3", "private", ENV)


def record(ref, platform: str = "linux/arm64", **changes) -> PlatformRecord:
    base = PlatformRecord(
        service="device-service", target="production", version="v1.2.3", repository=ref.repository,
        platform=platform, digest="sha256:" + "a" * 64, manifest="sha256:" + "b" * 64, size=2_400_000,
        unpacked=6_000_000, commit="c0ffee" * 6, provenance=True,
    )  # fmt: skip
    return replace(base, **changes)


def request(ref):
    return bydigest.ReleaseRequest("v1.2.3", "production", "production", ref.service.targets, "c0ffee", TagPolicy())


# --- records ---------------------------------------------------------------------------------------------


def test_a_platform_record_round_trips_through_its_file(ref, tmp_path: Path) -> None:
    written = bydigest.write_record(record(ref), tmp_path / "digests")
    assert written.name == "device-service-production-linux-arm64.json"
    assert bydigest.read_records(tmp_path / "digests", ref) == [record(ref)]
    assert not list((tmp_path / "digests").glob("*.tmp"))


def test_the_merge_reads_only_the_records_of_its_service_target_and_version(ref, tmp_path: Path) -> None:
    bydigest.write_record(record(ref), tmp_path)
    bydigest.write_record(record(ref, "linux/amd64", version="v9.9.9"), tmp_path)
    assert [r.platform for r in bydigest.read_records(tmp_path, ref)] == ["linux/arm64"]


@pytest.mark.parametrize(
    ("second", "fragment"),
    [
        ({"commit": "other"}, "disagree on the commit"),
        ({"repository": "ghcr.io/x/device-service"}, "disagree on the repository"),
    ],
)
def test_records_of_two_commits_or_registries_are_refused(ref, tmp_path: Path, second, fragment) -> None:
    bydigest.write_record(record(ref), tmp_path)
    bydigest.write_record(record(ref, "linux/amd64", **second), tmp_path)
    with pytest.raises(UsageError, match=fragment):
        bydigest.read_records(tmp_path, ref)


def test_no_record_and_no_folder_say_which_step_to_run_first(ref, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="publish --by-digest"):
        bydigest.read_records(tmp_path / "missing", ref)
    with pytest.raises(UsageError, match="no digest record for device-service production v1.2.3"):
        bydigest.read_records(tmp_path, ref)


def test_a_file_that_is_not_a_record_is_named(ref, tmp_path: Path) -> None:
    (tmp_path / "junk.json").write_text('{"hello": 1}')
    with pytest.raises(UsageError, match="junk.json is not a digest record"):
        bydigest.read_records(tmp_path, ref)


@pytest.mark.parametrize("platforms", [(), ("linux/amd64", "linux/arm64")])
def test_a_platform_job_builds_exactly_one_platform(platforms) -> None:
    with pytest.raises(UsageError, match="one platform per job"):
        one_platform(platforms)
    assert one_platform(("linux/arm64",)) == "linux/arm64"


# --- the release's tags --------------------------------------------------------------------------------------


def held(**platforms) -> dict[str, str]:
    return {p.replace("_", "/"): bydigest.content_id(c) for p, c in platforms.items()}


def test_a_platform_job_passes_free_tags_and_reports_only_the_immutable_ones(ref) -> None:
    candidate = Image("sha256:new", held(linux_arm64=ARM))
    release = bydigest.check_release(request(ref), ref, {}, candidate, partial=True)
    assert {(d.tag, d.action) for d in release.decisions} == {("v1.2.3", "create"), ("1.2.3", "create")}


def test_a_platform_job_accepts_a_version_tag_that_holds_its_platform_unchanged(ref) -> None:
    existing = Image("sha256:old-index", held(linux_amd64=AMD, linux_arm64=ARM))
    candidate = Image("sha256:new-arm", held(linux_arm64=ARM))
    release = bydigest.check_release(request(ref), ref, {"v1.2.3": existing}, candidate, partial=True)
    assert next(d for d in release.decisions if d.tag == "v1.2.3").action == "keep"


@pytest.mark.parametrize("existing", [held(linux_arm64=("cfg-other", "l3")), held(linux_amd64=AMD)])
def test_a_platform_job_refuses_a_version_tag_with_other_content_on_its_platform(ref, existing) -> None:
    candidate = Image("sha256:new-arm", held(linux_arm64=ARM))
    with pytest.raises(CheckFailed, match=r"v1\.2\.3 already holds sha256:old.*nothing was pushed or tagged"):
        bydigest.check_release(request(ref), ref, {"v1.2.3": Image("sha256:old", existing)}, candidate, partial=True)


def test_the_merge_refuses_an_index_that_drops_a_platform_the_version_tag_had(ref) -> None:
    existing = Image("sha256:old", held(linux_amd64=AMD, linux_arm64=ARM))
    with pytest.raises(CheckFailed, match="release a new version"):
        bydigest.check_release(request(ref), ref, {"v1.2.3": existing}, Image("sha256:n", held(linux_arm64=ARM)),
                               partial=False)  # fmt: skip


def test_the_merge_keeps_latest_when_a_higher_version_holds_it(ref) -> None:
    repository = {"v2.0.0": Image("sha256:two"), "latest": Image("sha256:two")}
    candidate = Image("sha256:new", held(linux_amd64=AMD, linux_arm64=ARM))
    release = bydigest.check_release(request(ref), ref, repository, candidate, partial=False)
    assert "latest" not in release.to_push and "v1.2.3" in release.to_push


def test_the_merge_command_names_every_tag_to_write_and_every_platform_digest() -> None:
    argv = bydigest.imagetools_argv("h/ns/s", ["v1", "latest"], ["sha256:a", "sha256:b"])
    assert argv == ["docker", "buildx", "imagetools", "create", "--tag=h/ns/s:v1", "--tag=h/ns/s:latest",
                    "h/ns/s@sha256:a", "h/ns/s@sha256:b"]  # fmt: skip


# --- the build and its OCI layout --------------------------------------------------------------------------


def test_a_by_digest_build_loads_the_image_and_exports_the_same_image_as_an_oci_layout(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    options = BuildOptions(platforms=("linux/arm64",), oci_layout="/tmp/layout")
    plan = plan_build(catalog, resolve(catalog, "device-service"), options, SourceInfo(), BuildClient("buildx"))
    assert "--load" in plan.argv and "--output=type=oci,dest=/tmp/layout,tar=false" in plan.argv


def blob(root: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest[7:]).write_bytes(data)
    return digest


def make_layout(root: Path) -> str:
    """An OCI layout as BuildKit writes it: index.json -> an index of one image and one attestation."""
    config = json.dumps({"os": "linux", "architecture": "arm64"}).encode()
    layer = b"layer bytes"
    image = json.dumps({"mediaType": distribution.MANIFEST_TYPES[0],
                        "config": {"digest": blob(root, config), "size": len(config)},
                        "layers": [{"digest": blob(root, layer), "size": len(layer)}]}).encode()  # fmt: skip
    attest = json.dumps({"mediaType": distribution.MANIFEST_TYPES[0], "config": {"digest": blob(root, b"{}")},
                         "layers": []}).encode()  # fmt: skip
    entries = [
        {"mediaType": distribution.MANIFEST_TYPES[0], "digest": blob(root, image), "size": len(image),
         "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": distribution.MANIFEST_TYPES[0], "digest": blob(root, attest), "size": len(attest),
         "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    ]  # fmt: skip
    index = json.dumps({"mediaType": distribution.INDEX_TYPES[0], "manifests": entries}).encode()
    top = {"mediaType": distribution.INDEX_TYPES[0], "digest": blob(root, index), "size": len(index)}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return top["digest"]


def test_the_layout_gives_the_pushed_digest_and_its_platforms_content_without_attestations(tmp_path: Path) -> None:
    digest = make_layout(tmp_path)
    top = distribution.layout_index(tmp_path)
    assert top.digest == digest and top.is_index and distribution.has_attestations(top.data)
    content = distribution.layout_content(tmp_path)
    assert list(content) == ["linux/arm64"] and len(content["linux/arm64"]) == 2
    image = distribution.layout_manifest(tmp_path, distribution.platform_entries(top.data)[0])
    assert distribution.compressed_size(image.data) == len(b'{"os": "linux", "architecture": "arm64"}') + 11


def test_a_registry_is_named_by_its_repository_and_its_login_comes_from_the_docker_config(tmp_path: Path) -> None:
    assert distribution.split_repository("127.0.0.1:5000/sos-app/x") == ("127.0.0.1:5000", "sos-app/x")
    with pytest.raises(UsageError, match="names no registry host"):
        distribution.split_repository("sos-app/x")
    auth = base64.b64encode(b"ci:s3cret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"r.example": {"auth": auth}}}))
    assert distribution.docker_credentials("r.example", {"DOCKER_CONFIG": str(tmp_path)}) == ("ci", "s3cret")
    assert distribution.docker_credentials("other.example", {"DOCKER_CONFIG": str(tmp_path)}) is None


# --- summaries ------------------------------------------------------------------------------------------------


def test_a_platform_summary_shows_the_image_platform_digest_sizes_and_the_tags_checked(ref) -> None:
    release = bydigest.check_release(request(ref), ref, {}, Image("d", held(linux_arm64=ARM)), partial=True)
    text = summary.platform_job(record(ref, verify="passed (11 checks)"), release.decisions)
    assert f"| `{ref.repository}` | linux/arm64 | `sha256:{'a' * 64}` | 2.4MB | 6.0MB | yes | passed" in text
    assert "`v1.2.3` free" in text


def test_the_merge_summary_lists_each_platform_and_what_happened_to_each_tag(ref) -> None:
    repository = {"v2.0.0": Image("sha256:two"), "latest": Image("sha256:two")}
    release = bydigest.check_release(request(ref), ref, repository, Image("sha256:idx", {}), partial=False)
    records = [record(ref, "linux/amd64"), record(ref)]
    text = summary.merge_job(ref, "sha256:idx", records, release.decisions, {"provenance": "present"})
    assert text.count("| linux/a") == 2 and "| `latest` | kept |" in text and "| `v1.2.3` | created |" in text
    assert "Not signed" in text


def test_a_summary_is_appended_whole_and_no_file_means_none(tmp_path: Path) -> None:
    target = tmp_path / "step-summary.md"
    target.write_text("earlier step\n")
    summary.append(target, "### mine\n")
    summary.append("", "ignored")
    assert target.read_text() == "earlier step\n### mine\n"
