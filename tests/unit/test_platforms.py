"""Multi-platform builds, the registry cache and provenance: decided before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from sos_images import platforms
from sos_images.catalog import load_catalog
from sos_images.errors import EnvironmentProblem, UsageError
from sos_images.plans import BuildClient, BuildOptions, SourceInfo, plan_build
from sos_images.platforms import EngineFacts
from sos_images.refs import resolve

CURRENT = EngineFacts("linux/amd64", ("linux/amd64", "linux/amd64/v2"), containerd_store=True)
EOL = EngineFacts("linux/amd64", ("linux/amd64",), containerd_store=False)
TWO = ("linux/amd64", "linux/arm64")


def plan(repo: Path, service: str, facts: EngineFacts = CURRENT, registry: str | None = None, **options):
    catalog = load_catalog(repo)
    opts = BuildOptions(registry=registry, **options)
    ref = resolve(catalog, service, opts.target, opts.version, registry, {"REGISTRY_URL": "127.0.0.1:5000"})
    return plan_build(catalog, ref, opts, SourceInfo(), BuildClient("buildx"), {}, facts)


def test_platform_lists_are_parsed_in_order_without_duplicates() -> None:
    assert platforms.parse("linux/amd64, linux/arm64,linux/amd64") == TWO
    assert platforms.parse("") == ()


@pytest.mark.parametrize(("given", "guess"), [("linux/arm65", "linux/arm64"), ("linux/amd46", "linux/amd64")])
def test_a_misspelt_platform_is_one_line_with_a_guess(given: str, guess: str) -> None:
    with pytest.raises(UsageError, match=f"unknown platform '{given}': did you mean {guess}"):
        platforms.parse(given)


def test_a_go_production_image_cross_compiles_to_every_platform_without_emulation(fake_repo: Path) -> None:
    p = plan(fake_repo, "device-service", platforms=TWO)
    assert "--platform=linux/amd64,linux/arm64" in p.argv
    assert p.platforms == TWO


@pytest.mark.parametrize(("service", "target"), [("auth-service", None), ("device-service", "production-alpine")])
def test_a_stage_that_runs_on_the_target_platform_needs_emulation(fake_repo: Path, service: str, target) -> None:
    with pytest.raises(EnvironmentProblem, match="linux/arm64 cannot be built for .* qemu-user-static"):
        plan(fake_repo, service, platforms=TWO, target=target)


def test_an_emulating_builder_builds_any_stage(fake_repo: Path) -> None:
    facts = EngineFacts("linux/amd64", ("linux/amd64", "linux/arm64"), containerd_store=True)
    assert plan(fake_repo, "auth-service", facts, platforms=TWO).platforms == TWO


def test_multi_platform_needs_the_containerd_store_and_names_the_setting(fake_repo: Path) -> None:
    with pytest.raises(EnvironmentProblem, match='"containerd-snapshotter": true'):
        plan(fake_repo, "device-service", EOL, platforms=TWO)


def test_the_registry_cache_lives_beside_the_image_per_service_and_target(fake_repo: Path) -> None:
    prod = plan(fake_repo, "device-service", registry="private", cache="registry")
    cache = "127.0.0.1:5000/sos-app/device-service:buildcache"
    assert f"--cache-from=type=registry,ref={cache}" in prod.argv
    assert f"--cache-to=type=registry,ref={cache},mode=max,ignore-error=true" in prod.argv
    dev = plan(fake_repo, "device-service", registry="private", cache="registry", target="development")
    assert f"--cache-from=type=registry,ref={cache}-development" in dev.argv


def test_the_cache_reference_is_overridable_per_registry_profile(fake_repo: Path) -> None:
    (fake_repo / "pyproject.toml").write_text(
        '[tool.sos-images.registries.private]\ncache-ref = "cache.example/ci/{service}:bk"\n'
    )
    p = plan(fake_repo, "auth-service", registry="private", cache="registry")
    assert "--cache-from=type=registry,ref=cache.example/ci/auth-service:bk" in p.argv


def test_without_the_containerd_store_the_cache_is_imported_and_the_export_skipped_with_a_note(
    fake_repo: Path,
) -> None:
    p = plan(fake_repo, "auth-service", EOL, cache="registry")
    assert any(a.startswith("--cache-from=type=registry") for a in p.argv)
    assert not any(a.startswith("--cache-to") for a in p.argv)
    assert "containerd-snapshotter" in p.notes[0]


def test_an_unknown_cache_mode_is_refused(fake_repo: Path) -> None:
    with pytest.raises(UsageError, match="--cache 'gha': use one of none, registry"):
        plan(fake_repo, "auth-service", cache="gha")


def test_provenance_defaults_to_min_for_a_release_where_the_engine_keeps_it(fake_repo: Path) -> None:
    assert "--provenance=mode=min" in plan(fake_repo, "auth-service", release=True).argv
    assert "--provenance=false" in plan(fake_repo, "auth-service", EOL, release=True).argv


def test_a_local_build_has_no_provenance_so_its_digest_is_reproducible(fake_repo: Path) -> None:
    assert "--provenance=false" in plan(fake_repo, "auth-service").argv
    assert "--provenance=mode=max" in plan(fake_repo, "auth-service", provenance="max").argv
    assert "--provenance=false" in plan(fake_repo, "auth-service", provenance="off").argv


def test_provenance_on_an_engine_that_cannot_keep_it_names_the_setting(fake_repo: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="containerd-snapshotter"):
        plan(fake_repo, "auth-service", EOL, provenance="max")
    with pytest.raises(UsageError, match="--provenance 'full'"):
        plan(fake_repo, "auth-service", provenance="full")
