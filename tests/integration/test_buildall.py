"""invoke build-all against the real engine, in a copy of the repository with one service that cannot compile."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.conftest import RUN_ID, copy_repo, invoke

GOOD = ("auth-service", "device-service", "emergency-service")
BROKEN = "billing-service"
VERSION = f"test-all-{RUN_ID}"


@pytest.fixture(scope="module")
def run(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One build-all over three good services and a Go service whose main.go does not compile."""
    repo = copy_repo(tmp_path_factory.mktemp("repo"), GOOD)
    shutil.copytree(REPO / "services" / "location-service", repo / "services" / BROKEN)
    (repo / "services" / BROKEN / "cmd" / "main.go").write_text("package main\n\nfunc main() { not go }\n")
    logs = tmp_path_factory.mktemp("logs")
    result = invoke(
        "build-all",
        "--version",
        VERSION,
        "--jobs",
        "2",
        "--log-dir",
        str(logs),
        "--json",
        env={"SOS_IMAGES_ROOT": str(repo)},
    )
    yield result, json.loads(result.stdout or "{}"), logs
    for service in (*GOOD, BROKEN):
        with contextlib.suppress(Exception):
            client.images.remove(f"ghcr.io/sos-app/{service}:{VERSION}")


def test_one_broken_service_fails_the_run_but_not_the_others(run: Any, client: Any) -> None:
    result, report, _ = run
    assert result.returncode == 1, result.stderr[-3000:]
    outcome = {r["service"]: r["result"] for r in report["results"]}
    assert outcome == {**dict.fromkeys(GOOD, "ok"), BROKEN: "failed"}
    for service in GOOD:
        assert (
            client.images.get(f"ghcr.io/sos-app/{service}:{VERSION}").labels["org.opencontainers.image.title"]
            == service
        )


def test_the_failure_is_named_in_the_last_line_with_its_reason(run: Any) -> None:
    result, report, logs = run
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: 1 of 4 builds failed: {BROKEN} production; see the logs in {logs.resolve()}"
    )
    failed = next(r for r in report["results"] if r["service"] == BROKEN)
    assert re.match(r"\[builder (\d+)/\1\] failed: cmd/main.go", failed["error"]) and "syntax error" in failed["error"]
    assert "Traceback" not in result.stderr


def test_every_build_keeps_its_own_log(run: Any) -> None:
    _, report, logs = run
    for r in report["results"]:
        log = Path(r["log"])
        assert log.parent == logs.resolve() and log.name == f"{r['service']}-production.log"
        text = log.read_text()
        assert text.startswith("+ ") and f"ghcr.io/sos-app/{r['service']}:{VERSION}" in text.splitlines()[0]
    broken = (logs / f"{BROKEN}-production.log").read_text()
    assert "syntax error" in broken and broken.rstrip().endswith("[exit 1]")
    assert "syntax error" not in (logs / "device-service-production.log").read_text()


def test_the_summary_table_has_service_target_result_size_and_time(run: Any) -> None:
    result, report, _ = run
    header = next(line for line in result.stderr.splitlines() if "service" in line and "result" in line)
    assert [w for w in header.replace("┃", " ").replace("|", " ").split()] == [
        "service",
        "target",
        "result",
        "size",
        "time",
    ]
    rows = {line.split()[1]: line for line in result.stderr.splitlines() if line.startswith("│")}
    assert "FAILED" in rows[BROKEN] and "ok" in rows["device-service"] and "MB" in rows["device-service"]
    ok = [r for r in report["results"] if r["result"] == "ok"]
    assert all(r["size"] > 0 and r["seconds"] > 0 for r in ok)
