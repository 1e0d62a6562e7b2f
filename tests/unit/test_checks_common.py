"""What every check shares: which image it looks at, one way to read options and numbers, one shape, atomic writes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sos_images import settings
from sos_images.catalog import load_catalog
from sos_images.checks import Check, atomic_path, image_ref
from sos_images.errors import UsageError
from sos_images.settings import argument


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
    assert argument(settings.size(), text, "--max-wasted-bytes") == size


@pytest.mark.parametrize("text", ["lots", "10 parsecs", "-5MB", "1.5", "disabled", True])
def test_a_bad_size_is_one_line_naming_the_option_and_what_it_expects(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--max-wasted-bytes .*: expected a size: bytes, or a number with kB"):
        argument(settings.size(), text, "--max-wasted-bytes")


def test_lists_are_case_insensitive_deduplicated_and_spelled_as_allowed() -> None:
    assert argument(settings.words(("CRITICAL", "HIGH", "LOW"), "s"), "critical, High,HIGH", "-x") == (
        "CRITICAL",
        "HIGH",
    )
    assert argument(settings.words(("vuln", "secret"), "s"), "VULN,secret", "-x") == ("vuln", "secret")
    for bad in ("URGENT,high", " , ", ""):
        with pytest.raises(UsageError, match="--severity .*: expected severities: a comma-separated list of CRITICAL"):
            argument(settings.words(("CRITICAL", "HIGH"), "severities"), bad, "--severity")


@given(st.one_of(st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False, width=32)))
def test_the_one_number_parser_reads_a_number_and_its_text_alike(value: float) -> None:
    assert settings.number(value) == settings.number(str(value)) == float(value)


@pytest.mark.parametrize("value", ["", "ten", "nan", "inf", "1,5", True, None, [1]])
def test_the_number_parser_refuses_what_is_not_a_finite_number(value: object) -> None:
    with pytest.raises(settings.Wrong):
        settings.number(value)


def test_percentages_and_ratios_are_one_kind() -> None:
    check = settings.fraction(can_disable=True)[0]
    assert check("95%") == check(0.95) == check("0.95") == 0.95
    assert check("disabled") is None and check(False) is None
    with pytest.raises(settings.Wrong, match="a number 0-1"):
        check("150%")


def test_every_option_comes_from_the_argument_then_pyproject_then_the_default() -> None:
    table = settings.validate({"scan": {"severity": "critical"}, "verify": {"health-timeout": 30}})
    assert settings.pick(table, "scan", "severity", "high,low") == ("HIGH", "LOW")
    assert settings.pick(table, "scan", "severity", "") == ("CRITICAL",)
    assert settings.pick({}, "scan", "severity") == ("CRITICAL", "HIGH")
    assert settings.pick(table, "verify", "health-timeout", "2.5", "--timeout") == 2.5
    assert settings.pick(table, "verify", "health-timeout") == 30
    assert settings.pick({}, "layers", "min-efficiency", 0) == 0.0  # zero is a value, not "not given"
    with pytest.raises(UsageError, match=r"^--timeout \"soon\": expected a number of seconds above 0, at most 3600$"):
        settings.pick(table, "verify", "health-timeout", "soon", "--timeout")


def test_every_check_has_the_same_shape() -> None:
    """One render step by one name; findings of one type; no check with its own parser or settings reader."""
    for name in ("verify", "lint", "scan", "sbom", "layers"):
        module = importlib.import_module(f"sos_images.checks.{name}")
        assert callable(getattr(module, "render", None)), name
        source = Path(module.__file__).read_text()
        assert "class Finding" not in source, name  # findings of one type: the common Finding
        assert "settings.get(" not in source and "float(" not in source, name


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
