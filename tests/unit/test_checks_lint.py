"""lint: the real hadolint (a pip test dependency, no engine) on our Dockerfiles and a known-bad one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sos_images.catalog import load_catalog
from sos_images.checks import Finding
from sos_images.checks import lint as li
from sos_images.errors import CommandFailed, UsageError
from tests.conftest import REPO
from tests.unit.test_cli import assert_one_line_error, invoke

BAD = REPO / "tests" / "fixtures" / "lint" / "Dockerfile.bad"


def test_the_project_dockerfiles_pass_hadolint_with_the_committed_config() -> None:
    result = invoke("lint", "--trivy", "never", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == ["dockerfiles/Dockerfile.go", "dockerfiles/Dockerfile.node"]
    assert report["passed"] and report["tools"] == ["hadolint"]
    assert "--config" in result.stderr and ".hadolint.yaml" in result.stderr


def test_a_dockerfile_with_known_problems_fails_naming_the_rules() -> None:
    result = invoke("lint", "--trivy", "never", "--file", str(BAD), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert {(f["rule"], f["severity"]) for f in report["findings"]} == {
        ("DL3020", "error"),
        ("DL3004", "error"),
        ("DL3025", "warning"),
    }
    assert report["findings"][0]["target"] == "tests/fixtures/lint/Dockerfile.bad" and not report["passed"]
    assert {(f["tool"], f["kind"]) for f in report["findings"]} == {("hadolint", "dockerfile")}
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: lint failed: 3 findings in tests/fixtures/lint/Dockerfile.bad")


def test_the_committed_config_ignores_only_the_justified_rule() -> None:
    import yaml

    config = yaml.safe_load((REPO / ".hadolint.yaml").read_text())
    assert config["failure-threshold"] == "warning"
    assert config["ignored"] == ["DL3018"]
    assert "DL3018" in (REPO / ".hadolint.yaml").read_text().split("ignored:")[1].split("- DL3018")[0]  # a why


def test_only_dockerfiles_are_linted_not_their_dockerignore_files(fake_repo: Path) -> None:
    names = [p.name for p in li.dockerfiles(load_catalog(fake_repo))]
    assert names == ["Dockerfile.go", "Dockerfile.node"]
    with pytest.raises(UsageError, match="no such Dockerfile: .*nope"):
        li.dockerfiles(load_catalog(fake_repo), ["nope/Dockerfile"])


def test_hadolint_and_trivy_reports_are_read() -> None:
    hadolint = '[{"code":"DL3020","column":1,"file":"D","level":"error","line":4,"message":"Use COPY"}]'
    assert li.parse_hadolint(hadolint) == [
        Finding("hadolint", "dockerfile", "DL3020", "error", "D", "Use COPY", line=4)
    ]
    with pytest.raises(CommandFailed, match="hadolint printed output that is not JSON"):
        li.parse_hadolint("D:1 DL3020 error")
    trivy = {
        "SchemaVersion": 2,
        "Results": [
            {
                "Target": "D",
                "Misconfigurations": [
                    {
                        "ID": "DS010",
                        "AVDID": "AVD-DS-0010",
                        "Title": "RUN using 'sudo'",
                        "Severity": "CRITICAL",
                        "Status": "FAIL",
                        "CauseMetadata": {"StartLine": 5},
                    },
                ],
            }
        ],
    }
    assert li.parse_trivy_config(json.dumps(trivy), "D") == [
        Finding("trivy", "misconfiguration", "AVD-DS-0010", "CRITICAL", "D", "RUN using 'sudo'", line=5)
    ]


def test_trivy_config_uses_its_built_in_checks_and_the_severities(tmp_path: Path) -> None:
    argv = li.trivy_config_argv("trivy", tmp_path / "Dockerfile", ("CRITICAL", "HIGH"))
    assert argv[:2] == ["trivy", "config"] and "--skip-check-update" in argv
    assert "--severity=CRITICAL,HIGH" in argv and argv[-1] == str(tmp_path / "Dockerfile")


def test_a_bad_trivy_mode_is_one_line() -> None:
    result = invoke("lint", "--trivy", "sometimes")
    assert_one_line_error(result, '--trivy "sometimes": expected one of "auto", "always", "never"')
