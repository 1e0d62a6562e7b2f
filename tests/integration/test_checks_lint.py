"""invoke lint with `trivy config` too (the real trivy, its built-in checks, offline)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.fixtures.images import trivy_or_skip
from tests.integration.conftest import invoke


@pytest.fixture(scope="module")
def trivy() -> str:
    return trivy_or_skip()


def test_the_project_dockerfiles_pass_hadolint_and_trivy_config(trivy) -> None:
    result = invoke("lint", "--trivy", "always", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["tools"] == ["hadolint", "trivy config"] and report["findings"] == []


def test_trivy_config_names_the_misconfigurations_of_a_bad_dockerfile(trivy) -> None:
    bad = REPO / "tests" / "fixtures" / "lint" / "Dockerfile.bad"
    result = invoke("lint", "--trivy", "always", "--file", str(bad), "--json")
    assert result.returncode == 1
    found = {(f["rule"], f["severity"]) for f in json.loads(result.stdout)["findings"] if f["tool"] == "trivy"}
    assert found == {("AVD-DS-0002", "HIGH"), ("AVD-DS-0010", "CRITICAL")}
