"""What every check shares: which image it looks at, sizes and lists from the command line, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sos_images.catalog import load_catalog
from sos_images.checks import Check, atomic_path, image_ref, parse_list, parse_size
from sos_images.errors import UsageError
from sos_images.plans import BuildClient, BuildOptions, SourceInfo, plan_build
from sos_images.refs import resolve


def test_a_check_looks_at_exactly_the_image_the_build_tags(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    for service, target in catalog.matrix():
        options = BuildOptions(version="v1.2.3", target=target)
        ref = resolve(catalog, service.name, target, "v1.2.3", None, {})
        plan = plan_build(catalog, ref, options, SourceInfo(), BuildClient("buildx"), {})
        assert image_ref(catalog, service.name, target, "v1.2.3", environ={}).image == plan.image


def test_the_default_target_and_version_name_the_plain_latest_tag(fake_repo: Path) -> None:
    ref = image_ref(load_catalog(fake_repo), "device-service", "", "", environ={})
    assert (ref.image, ref.target, ref.is_default_target) == (
        "ghcr.io/sos-app/device-service:latest",
        "production",
        True,
    )
    dev = image_ref(load_catalog(fake_repo), "device-service", "development", "v1", environ={})
    assert dev.image.endswith(":v1-development") and not dev.is_default_target


def test_a_registry_profile_changes_the_repository_like_a_build_does(fake_repo: Path) -> None:
    env = {"REGISTRY_URL": "127.0.0.1:5000"}
    ref = image_ref(load_catalog(fake_repo), "auth-service", None, "v1", "private", environ=env)
    assert ref.image == "127.0.0.1:5000/sos-app/auth-service:v1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("billing-service", None, "v1"), "unknown service 'billing-service'"),
        (("auth-service", "production-alpine", "v1"), "valid targets: production, development"),
        (("device-service", None, "v1 build"), "not a valid Docker tag"),
        ((None, None, "v1"), "no service given"),
    ],
)
def test_bad_image_arguments_are_usage_errors(fake_repo: Path, args: tuple, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        image_ref(load_catalog(fake_repo), *args, environ={})


@pytest.mark.parametrize(
    ("text", "size"),
    [("10MB", 10_000_000), ("1.5GiB", 1_610_612_736), ("300kB", 300_000), ("2 MiB", 2_097_152), ("123", 123), (7, 7)],
)
def test_sizes_read_as_docker_prints_them(text: str | int, size: int) -> None:
    assert parse_size(text, "--max-wasted-bytes") == size


@pytest.mark.parametrize("text", ["lots", "10 parsecs", "-5MB", ""])
def test_a_bad_size_is_a_usage_error_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError, match="--max-wasted-bytes"):
        parse_size(text, "--max-wasted-bytes")


def test_lists_are_case_insensitive_and_spelled_as_allowed() -> None:
    assert parse_list("critical, High,HIGH", ("CRITICAL", "HIGH", "LOW"), "--severity") == ("CRITICAL", "HIGH")
    assert parse_list("VULN,secret", ("vuln", "secret"), "--scanners") == ("vuln", "secret")
    with pytest.raises(UsageError, match="--severity has unknown URGENT: choose from CRITICAL,HIGH"):
        parse_list("URGENT,high", ("CRITICAL", "HIGH"), "--severity")
    with pytest.raises(UsageError, match="is empty"):
        parse_list(" , ", ("CRITICAL",), "--severity")


def test_atomic_path_renames_only_a_finished_file(tmp_path: Path) -> None:
    final = tmp_path / "reports" / "sbom.json"
    with atomic_path(final) as tmp:
        tmp.write_text("{}")
        assert not final.exists()
    assert final.read_text() == "{}"
    assert final.stat().st_mode & 0o644 == 0o644
    assert [p.name for p in final.parent.iterdir()] == ["sbom.json"]


def test_atomic_path_leaves_the_old_file_and_no_part_file_on_failure(tmp_path: Path) -> None:
    final = tmp_path / "sbom.json"
    final.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("tool crashed")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["sbom.json"]


def test_an_unwritable_destination_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="cannot write"), atomic_path(tmp_path / "file" / "x.json"):
        pass


def test_a_check_shows_pass_fail_or_not_applicable() -> None:
    assert [Check("a", ok, "").result for ok in (True, False, None)] == ["PASS", "FAIL", "n/a"]
    assert Check("stop", False, "took 10s").to_dict() == {"name": "stop", "result": "FAIL", "detail": "took 10s"}
