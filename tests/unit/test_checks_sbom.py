"""sbom's pure parts, on documents syft 1.18 really wrote for the bundled images (trimmed for Node)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sos_images.catalog import load_catalog
from sos_images.checks import image_ref
from sos_images.checks import sbom as sb
from sos_images.errors import CommandFailed, UsageError
from tests.conftest import REPO

SBOMS = REPO / "tests" / "fixtures" / "sbom"


def doc(name: str) -> dict:
    return json.loads((SBOMS / name).read_text())


def test_cyclonedx_components_of_the_node_image_include_its_runtime_dependency() -> None:
    found = sb.components(doc("auth-service-trimmed.cdx.json"), "cyclonedx-json")
    assert ("ms", "2.1.3", "pkg:npm/ms@2.1.3") in [(c.name, c.version, c.purl) for c in found]


def test_the_go_standard_library_version_is_read_from_cyclonedx_and_spdx() -> None:
    cdx = sb.components(doc("device-service.cdx.json"), "cyclonedx-json")
    spdx = sb.components(doc("device-service.spdx.json"), "spdx-json")
    assert sb.go_stdlib(cdx) == sb.go_stdlib(spdx) == "go1.21.13"
    assert {c.name for c in spdx} == {"github.com/sos-app/device-service", "stdlib"}  # not the image itself
    assert sb.go_stdlib(sb.components(doc("auth-service-trimmed.cdx.json"), "cyclonedx-json")) is None


def test_a_document_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(CommandFailed, match="no CycloneDX document"):
        sb.components(doc("device-service.spdx.json"), "cyclonedx-json")
    with pytest.raises(CommandFailed, match="no SPDX document"):
        sb.components(doc("device-service.cdx.json"), "spdx-json")


def test_the_default_file_is_named_after_service_and_tag(fake_repo: Path) -> None:
    catalog = load_catalog(fake_repo)
    ref = image_ref(catalog, "device-service", "production-alpine", "v1.2.3", environ={})
    assert sb.default_path(fake_repo, ref, "spdx-json") == (
        fake_repo / "reports" / "sbom-device-service-v1.2.3-production-alpine.spdx.json"
    )
    prod = image_ref(catalog, "auth-service", None, "v1.2.3", environ={})
    assert sb.default_path(fake_repo, prod, "cyclonedx-json").name == "sbom-auth-service-v1.2.3.cdx.json"


def test_syft_reads_the_local_engine_and_writes_the_format_to_a_file(tmp_path: Path) -> None:
    argv = sb.syft_argv("ghcr.io/sos-app/auth-service:v1", "cyclonedx-json", tmp_path / "x.part")
    assert argv == [
        "syft",
        "scan",
        "docker:ghcr.io/sos-app/auth-service:v1",
        "--quiet",
        "--output",
        f"cyclonedx-json={tmp_path / 'x.part'}",
    ]
    assert sb.SYFT_ENV == {"SYFT_CHECK_FOR_APP_UPDATE": "false"}


def test_formats_are_checked() -> None:
    assert sb.check_format("") == "cyclonedx-json" and sb.check_format("SPDX-JSON") == "spdx-json"
    with pytest.raises(UsageError, match='--format "spdx-tag-value": expected one of "cyclonedx-json", "spdx-json"'):
        sb.check_format("spdx-tag-value")
