"""Front-end-neutral verbs used by tasks.py and noxfile.py alike (they only parse and print)."""

from __future__ import annotations

from .catalog import Catalog
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
    if out.json_mode:
        out.emit_json({"services": rows, "problems": dict(catalog.problems)})
        return
    out.table(
        "SOS App services",
        ["service", "language", "targets", "port", "health"],
        [[r["service"], r["language"], ", ".join(r["targets"]), r["port"], r["health"]] for r in rows],
    )
    for name, problem in catalog.problems.items():
        out.warn(f"{name}: {problem}")
