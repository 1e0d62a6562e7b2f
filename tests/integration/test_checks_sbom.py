"""invoke sbom with the real syft: a Node runtime dependency and the Go standard library are listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.conftest import invoke

NODE, GO = "auth-service", "device-service"


def sbom(service: str, version: str, *args: str) -> dict[str, Any]:
    result = invoke("sbom", "--service", service, "--version", version, *args, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def syft_path(component: dict[str, Any]) -> str:
    return next((p["value"] for p in component.get("properties", []) if p["name"].endswith(":path")), "")


def test_the_node_sbom_is_cyclonedx_listing_the_runtime_dependency_ms(built, tmp_path: Path) -> None:
    b = built(NODE)
    out = tmp_path / "auth.cdx.json"
    report = sbom(NODE, b.version, "--output", str(out))
    doc = json.loads(out.read_text())
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"].startswith("1.")
    assert doc["metadata"]["component"]["name"] == f"ghcr.io/sos-app/{NODE}"
    lock = json.loads((REPO / "services" / NODE / "package-lock.json").read_text())
    app_ms = [c for c in doc["components"] if c["name"] == "ms" and syft_path(c).startswith("/app/node_modules/ms/")]
    assert [c["version"] for c in app_ms] == [lock["packages"]["node_modules/ms"]["version"]]
    assert report["components"] == len(doc["components"]) and report["path"] == str(out)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left beside it


@pytest.mark.parametrize("fmt", ["cyclonedx-json", "spdx-json"])
def test_the_go_sbom_names_the_go_standard_library_of_the_builder(built, client, tmp_path: Path, fmt: str) -> None:
    b = built(GO)
    go = client.containers.run("golang:1.21-alpine", ["go", "env", "GOVERSION"], remove=True).decode().strip()
    out = tmp_path / f"device.{fmt}"
    report = sbom(GO, b.version, "--format", fmt, "--output", str(out))
    assert report["go_stdlib"] == go and go.startswith("go1.21")
    doc = json.loads(out.read_text())
    packages = doc.get("components") or doc.get("packages")
    assert any(p["name"] == "stdlib" and go in (p.get("version") or p.get("versionInfo")) for p in packages)


def test_the_default_sbom_file_is_under_reports(built) -> None:
    b = built(GO)
    report = sbom(GO, b.version)
    path = Path(report["path"])
    try:
        assert path == REPO / "reports" / f"sbom-{GO}-{b.version}.cdx.json"
        assert json.loads(path.read_text())["bomFormat"] == "CycloneDX"
    finally:
        path.unlink(missing_ok=True)
