"""The input digest skip against the real engine: unchanged -> up to date with no BuildKit request; an edit rebuilds."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RUN_ID, copy_repo, invoke

SERVICE = "device-service"
VERSION = f"test-inputs-{RUN_ID}"
IMAGE = f"ghcr.io/sos-app/{SERVICE}:{VERSION}"


def build_all(repo: Path, logs: Path, *extra: str) -> dict[str, Any]:
    env = {"SOS_IMAGES_ROOT": str(repo), "SOURCE_DATE_EPOCH": "1700000000"}
    result = invoke(
        "build-all", "--language", "go", "--version", VERSION, "--log-dir", str(logs), "--json", *extra, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)["results"][0]


@pytest.fixture(scope="module")
def repo(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield copy_repo(tmp_path_factory.mktemp("repo"), (SERVICE,))
    with contextlib.suppress(Exception):
        client.images.remove(IMAGE)


def test_unchanged_inputs_are_up_to_date_and_an_edit_rebuilds(repo: Path, client: Any, tmp_path: Path) -> None:
    first = build_all(repo, tmp_path / "a")
    assert first["result"] == "ok" and first["log"]
    built = client.images.get(IMAGE)
    assert built.labels["io.sos-app.inputs"].startswith("sha256:")

    again = build_all(repo, tmp_path / "b")
    assert again["result"] == "up to date"
    assert not list((tmp_path / "b").glob("*.log"))  # no build ran: no docker buildx process, no log
    assert client.images.get(IMAGE).id == built.id

    forced = build_all(repo, tmp_path / "c", "--rebuild")
    assert forced["result"] == "ok" and list((tmp_path / "c").glob("*.log"))

    main = repo / "services" / SERVICE / "cmd" / "main.go"
    main.write_text(main.read_text() + "\n// edited\n")
    edited = build_all(repo, tmp_path / "d")
    assert edited["result"] == "ok"
    rebuilt = client.images.get(IMAGE)
    assert rebuilt.labels["io.sos-app.inputs"] != built.labels["io.sos-app.inputs"]
