"""Front-end-neutral verbs used by tasks.py and noxfile.py alike (they only parse and print)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import process, release_check
from .catalog import Catalog
from .engine import Engine
from .errors import CheckFailed
from .registry import describe_pushed, plan_push, push
from .release_rules import ReleaseRequest
from .report import Reporter
from .tags import TagPolicy


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


def push_service(
    catalog: Catalog,
    service: str,
    registry: str,
    version: str,
    target: str,
    out: Reporter,
    *,
    semver: bool = False,
    sha: bool = False,
    latest: bool | None = None,
    dry_run: bool = False,
    force: bool = False,
    force_tags: bool = False,
) -> dict[str, Any]:
    """Push one built image under the tags the release rules allow; what was pushed (or would be) as a dict.

    The registry is read first: a refused tag stops the push before anything is tagged or sent (exit 1).
    """
    policy = TagPolicy.from_settings(
        catalog.settings.get("tags", {}), semver="required" if semver else None, sha=sha or None, latest=latest
    )
    commit = process.source_info(catalog.root).commit
    plan = plan_push(catalog, service, registry or None, version, target or None, policy, commit)
    language = plan.ref.service.language
    request = ReleaseRequest(plan.ref.version, plan.ref.target, language.default_target, tuple(language.targets),
                             commit, policy, force=force, force_tags=force_tags)  # fmt: skip
    engine = Engine()
    engine.ping()
    checked = release_check.check(plan, request, engine, dry_run=dry_run)
    report_decisions(checked, out)
    result: dict[str, Any] = {"service": plan.service, "registry": plan.ref.registry.name, "dry_run": dry_run,
                              "source": checked.source, "tags": checked.release.to_dict()}  # fmt: skip
    if checked.release.refused:
        raise CheckFailed(checked.release.refusal())
    todo = replace(plan, tags=tuple(checked.release.to_push))
    if dry_run:
        return result | {"digest": checked.image.digest, "pushed": [{"ref": r, "digest": ""} for r in todo.refs]}
    pushed = push(todo, engine, out) if todo.tags else []
    index = describe_pushed(pushed[0].ref if pushed else plan.refs[0], engine)
    if index:
        out.fields([("Platforms", ", ".join(index["platforms"])), ("Provenance", index["provenance"])], level="PUSH")
    return result | {
        "digest": pushed[0].digest if pushed else checked.current_digest,
        **index,
        "pushed": [{"ref": p.ref, "digest": p.digest} for p in pushed],
    }


def report_decisions(checked: release_check.Checked, out: Reporter) -> None:
    """One line per tag: created, moved, kept (and why) or refused."""
    if not checked.listed:
        out.warn("the registry refused its tag list; --force-tags: floating tags move without the forward-only check")
    for decision in checked.release.decisions:
        level = {"refuse": "ERROR", "keep": "KEEP"}.get(decision.action, "TAG")
        out.line(level, decision.line())
