"""Reproducible builds and package refreshes, as plans and as what the Dockerfiles say (no Docker)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sos_images import reproduce
from sos_images.catalog import load_catalog
from sos_images.errors import EnvironmentProblem, UsageError
from sos_images.plans import BuildClient, BuildOptions, SourceInfo, plan_build
from sos_images.platforms import EngineFacts
from sos_images.refs import resolve
from tests.conftest import REPO

SOURCE = SourceInfo(commit="0" * 40, created="2026-11-28T23:38:02Z")
STORE = EngineFacts(containerd_store=True)
GO = (REPO / "dockerfiles/Dockerfile.go").read_text()
NODE = (REPO / "dockerfiles/Dockerfile.node").read_text()


def plan(repo: Path, service: str, facts: EngineFacts | None = STORE, client: str = "buildx", **options):
    catalog, bases = load_catalog(repo), options.pop("bases", None)
    opts = BuildOptions(**options)
    ref = resolve(catalog, service, opts.target, opts.version, opts.registry, {})
    return plan_build(catalog, ref, opts, SOURCE, BuildClient(client), {}, facts, bases, Path("/scratch"))


def test_source_date_epoch_is_the_commit_time_in_seconds(fake_repo: Path) -> None:
    assert SOURCE.epoch == "1795909082"
    assert dict(plan(fake_repo, "device-service").build_args)["SOURCE_DATE_EPOCH"] == "1795909082"


def test_a_reproducible_build_exports_an_oci_archive_with_rewritten_times_instead_of_loading(fake_repo: Path) -> None:
    p = plan(fake_repo, "auth-service", reproducible=True, version="v1.0.0")
    assert p.oci_archive == "/scratch/auth-service-v1.0.0.oci.tar"
    assert "--load" not in p.argv
    wanted = "--output=type=oci,dest=/scratch/auth-service-v1.0.0.oci.tar,"
    assert f"{wanted}name=ghcr.io/sos-app/auth-service:v1.0.0,rewrite-timestamp=true" in p.argv


def test_a_release_is_reproducible_where_the_store_keeps_it_and_a_local_build_loads(fake_repo: Path) -> None:
    assert plan(fake_repo, "device-service", release=True).oci_archive
    classic = EngineFacts(containerd_store=False)
    assert plan(fake_repo, "device-service", release=True, facts=classic).oci_archive is None
    assert plan(fake_repo, "device-service").oci_archive is None


def test_reproducible_on_the_classic_store_is_refused_with_the_setting(fake_repo: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="containerd-snapshotter"):
        plan(fake_repo, "device-service", reproducible=True, facts=EngineFacts(containerd_store=False))


def test_refresh_pulls_and_reruns_only_the_stages_that_install_packages(fake_repo: Path) -> None:
    go = plan(fake_repo, "device-service", refresh=True).argv
    assert "--pull" in go and "--no-cache-filter=builder,development,production-alpine" in go
    assert "--no-cache-filter=base" in plan(fake_repo, "auth-service", refresh=True).argv
    with pytest.raises(UsageError, match="buildx"):
        plan(fake_repo, "auth-service", refresh=True, client="classic")


def test_resolved_bases_are_built_by_digest_and_the_final_base_is_labelled_as_ko_does(fake_repo: Path) -> None:
    digest = "sha256:" + "a" * 64
    p = plan(fake_repo, "device-service", target="production-alpine", bases={"ALPINE_IMAGE": digest})
    assert dict(p.build_args)["ALPINE_IMAGE"] == f"alpine:3.19@{digest}"
    assert dict(p.labels)[reproduce.BASE_NAME] == "alpine:3.19"
    assert dict(p.labels)[reproduce.BASE_DIGEST] == digest
    scratch = plan(fake_repo, "device-service", bases={"GO_IMAGE": digest})
    assert reproduce.BASE_DIGEST not in dict(scratch.labels)  # scratch stands on nothing


def test_the_final_stage_base_is_followed_through_stages() -> None:
    assert reproduce.base_arg(NODE, "production") == "NODE_IMAGE"
    assert reproduce.base_arg(GO, "production-alpine") == "ALPINE_IMAGE"
    assert reproduce.base_arg(GO, "production") is None
    assert reproduce.base_args_used(GO, "production-alpine") == ("ALPINE_IMAGE", "GO_IMAGE")
    assert reproduce.base_args_used(GO, "production") == ("GO_IMAGE",)


@pytest.mark.parametrize("dockerfile", ["Dockerfile.go", "Dockerfile.node"])
def test_no_dockerfile_writes_todays_date_into_shadow(dockerfile: str) -> None:
    """busybox adduser writes the day count of the build into /etc/shadow: tomorrow's build would differ."""
    text = (REPO / "dockerfiles" / dockerfile).read_text()
    assert not re.search(r"^[^#]*\badd(user|group)\b", text, re.M)
    assert all(re.fullmatch(r"\w+:!::0:::::", line) for line in re.findall(r"echo '([^']*)' >> /etc/shadow", text))


def test_per_platform_digests_leave_out_attestation_manifests() -> None:
    index = {
        "manifests": [
            {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": "sha256:c", "platform": {"os": "unknown", "architecture": "unknown"}},
        ]
    }
    assert reproduce.platform_digests(index) == {"linux/amd64": "sha256:a", "linux/arm64/v8": "sha256:b"}


def test_each_platform_is_one_line_same_or_differs() -> None:
    lines = [c.line() for c in reproduce.compare({"linux/amd64": "sha256:a", "linux/arm64": "sha256:b"},
                                                 {"linux/amd64": "sha256:a", "linux/arm64": "sha256:x"})]  # fmt: skip
    assert lines == ["linux/amd64: same sha256:a", "linux/arm64: differs (rebuilt sha256:b, published sha256:x)"]


def test_the_refresh_rebuilds_the_highest_stable_patch_of_every_line_lowest_first() -> None:
    from sos_images.rebuild import release_heads

    tags = ["v1.0.0", "v1.0.10", "v1.0.9", "v1.1.0-rc.1", "v2.0.0", "v2.0.1", "v1.1.0", "staging", "2.1.0-beta"]
    assert release_heads(tags) == ["v1.0.10", "v1.1.0", "v2.0.1"]
    assert release_heads(["v3.0.0-rc.1", "nightly"]) == []
