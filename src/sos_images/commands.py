"""Front-end-neutral verbs used by tasks.py and noxfile.py alike (they only parse and print)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import doctor, endpoint
from .catalog import Catalog
from .errors import ToolError
from .report import Reporter


def list_services(catalog: Catalog, out: Reporter) -> None:
    rows = [
        {
            "service": svc.name,
            "language": svc.kind,
            "targets": list(svc.targets),
            "port": svc.port,
            "health": svc.health_path or ("HEALTHCHECK" if svc.recipe.healthcheck(svc.default_target) else "none"),
            "dockerfile": _relative(catalog, svc.recipe.dockerfile),
            "context": _relative(catalog, svc.recipe.context),
            "path": _relative(catalog, svc.path),
        }
        for svc in catalog.services.values()
    ]
    engine = engine_summary()
    if out.json_mode:
        out.emit_json({"services": rows, "problems": dict(catalog.problems), "engine": engine})
        return
    out.table(
        "SOS App services",
        ["service", "language", "targets", "port", "health"],
        [[r["service"], r["language"], ", ".join(r["targets"]), r["port"], r["health"]] for r in rows],
    )
    for svc in catalog.services.values():
        for warning in svc.recipe.warnings:
            out.warn(f"{svc.name}: {warning}")
    for name, problem in catalog.problems.items():
        out.warn(f"{name}: {problem}")
    if "error" in engine:
        out.warn(engine["error"])
    else:
        out.fields(doctor.lines(engine), level="ENGINE")
    out.info("invoke doctor asks the engine and the builder as well (version, image store, platforms)")


def engine_summary() -> dict[str, Any]:
    """The endpoint the tasks will use, from the environment and docker config alone (no engine contacted)."""
    try:
        return doctor.endpoint_facts(endpoint.current())
    except ToolError as exc:
        return {"error": str(exc)}


def _relative(catalog: Catalog, path: Path) -> str:
    return str(path.relative_to(catalog.root)) if path.is_relative_to(catalog.root) else str(path)
