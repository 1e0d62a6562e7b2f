"""`sbom`: syft writes the SBOM of a built image, CycloneDX or SPDX JSON, atomically.

syft writes to a temporary file beside the destination; only a complete, parseable document of the
expected format is renamed into place, so a failed or interrupted run leaves no half-written SBOM.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import process
from ..catalog import Catalog
from ..engine import Engine
from ..errors import CommandFailed, tool_json
from ..report import Reporter
from ..settings import argument, choice
from . import ImageRef, atomic_path, require_image

FORMATS = {"cyclonedx-json": "cdx.json", "spdx-json": "spdx.json"}
SYFT_ENV = {"SYFT_CHECK_FOR_APP_UPDATE": "false"}  # no phoning home, works offline


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    purl: str = ""


def check_format(fmt: str) -> str:
    return argument(choice(*FORMATS), (fmt or "cyclonedx-json").lower(), "--format")


def default_path(root: Path, ref: ImageRef, fmt: str) -> Path:
    tag = ref.tag
    return root / "reports" / f"sbom-{ref.service.name}-{tag}.{FORMATS[fmt]}"


def syft_argv(image: str, fmt: str, dest: Path) -> list[str]:
    """`image` is a local image, or a source syft names itself (registry:REPO@DIGEST: what a merge job has)."""
    source = image if image.startswith("registry:") else f"docker:{image}"
    return ["syft", "scan", source, "--quiet", "--output", f"{fmt}={dest}"]


def components(doc: dict[str, Any], fmt: str) -> list[Component]:
    """The packages of a CycloneDX or SPDX JSON document; raises if it is not one."""
    if fmt == "cyclonedx-json":
        if doc.get("bomFormat") != "CycloneDX" or not doc.get("specVersion"):
            raise CommandFailed("syft wrote no CycloneDX document (bomFormat/specVersion missing)")
        items = doc.get("components") or []
        return [Component(c.get("name", ""), c.get("version", ""), c.get("purl", "")) for c in items]
    if not str(doc.get("spdxVersion", "")).startswith("SPDX-"):
        raise CommandFailed("syft wrote no SPDX document (spdxVersion missing)")
    return [
        Component(p.get("name", ""), p.get("versionInfo", ""), _spdx_purl(p))
        for p in doc.get("packages") or []
        if not str(p.get("SPDXID", "")).startswith("SPDXRef-DocumentRoot")  # the image itself
    ]


def _spdx_purl(package: dict[str, Any]) -> str:
    refs = package.get("externalRefs") or []
    return next((r.get("referenceLocator", "") for r in refs if r.get("referenceType") == "purl"), "")


def go_stdlib(found: list[Component]) -> str | None:
    """syft reports the Go standard library as the component 'stdlib' (version 'go1.21.13')."""
    return next((c.version for c in found if c.name == "stdlib" and "golang" in c.purl), None)


def sbom(catalog: Catalog, ref: ImageRef, out: Reporter, *, fmt: str = "", output: str = "") -> dict[str, Any]:
    fmt = check_format(fmt)
    dest = Path(output) if output else default_path(catalog.root, ref, fmt)
    engine = Engine()
    engine.ping()
    require_image(engine, ref)
    with atomic_path(dest) as tmp:
        process.run(syft_argv(ref.image, fmt, tmp), env=SYFT_ENV, capture=True)
        found = components(tool_json("syft", tmp.read_text(encoding="utf-8"), dict), fmt)
    result = {
        "image": ref.image,
        "format": fmt,
        "path": str(dest),
        "components": len(found),
        "go_stdlib": go_stdlib(found),
    }
    render(ref, result, out)
    return result


def render(ref: ImageRef, result: dict[str, Any], out: Reporter) -> None:
    if ref.service.kind == "go" and not result["go_stdlib"]:
        out.warn(f"no Go standard library in the SBOM of {ref.image}: a UPX-packed binary hides its modules")
    if out.json_mode:
        out.emit_json(result)
        return
    extra = f", Go {result['go_stdlib']}" if result["go_stdlib"] else ""
    out.success(f"SBOM ({result['format']}) of {ref.image}: {result['components']} components{extra}")
    out.info(f"written to {result['path']}")
