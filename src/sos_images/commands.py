"""Front-end-neutral verbs used by tasks.py and noxfile.py alike (they only parse and print)."""

from __future__ import annotations

from typing import Any

from . import doctor, endpoint
from .catalog import Catalog
from .errors import ToolError
from .report import Reporter


def list_services(catalog: Catalog, out: Reporter) -> None:
    rows = [
        {
            "service": svc.name,
            "language": svc.language.name,
            "targets": list(svc.targets),
            "port": svc.port,
            "health": svc.health_path,
            "path": str(svc.path.relative_to(catalog.root)) if svc.path.is_relative_to(catalog.root) else str(svc.path),
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
