"""The catalog's build-all plans as a bake definition (docker-bake.json, plain values) that
`docker buildx bake -f docker-bake.json --load` runs by hand with the same images.

Each target is read back from the plan's argv (what `invoke build` runs), so the two never drift. Paths are
relative to the repository root (bake resolves them from where it runs); a dockerfile is relative to its context,
as bake reads it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import buildall, inputs, libstage
from .buildall import Job
from .catalog import Catalog
from .engine import Engine
from .errors import EnvironmentProblem, ServiceError
from .plans import BuildOptions, BuildPlan
from .report import Reporter

LIST_FLAGS = {"--cache-from=": "cache-from", "--cache-to=": "cache-to", "--secret=": "secret"}


def target_name(job: Job) -> str:
    return f"{job.service}-{job.target}"


def _relative(path: str, start: Path) -> str:
    return os.path.relpath(Path(path).resolve(), start.resolve()).replace(os.sep, "/")


def bake_target(plan: BuildPlan, root: Path) -> dict[str, Any]:
    parsed = inputs.parse(plan)
    contexts = dict(parsed.contexts)
    context = contexts.pop("", ".")
    spec: dict[str, Any] = {
        "context": _relative(context, root),
        "dockerfile": os.path.relpath(
            Path(parsed.file or Path(context, "Dockerfile")).resolve(), Path(context).resolve()
        ),
        "tags": [plan.image],
        "args": dict(plan.build_args),
        "labels": dict(plan.labels) | _inputs_label(parsed.flags),
    }
    if parsed.target:
        spec["target"] = parsed.target
    if contexts:
        spec["contexts"] = {name: _relative(path, root) for name, path in contexts.items()}
    if plan.platforms:
        spec["platforms"] = list(plan.platforms)
    return spec | _flags(parsed.flags)


def _inputs_label(flags: Sequence[str]) -> dict[str, str]:
    prefix = f"--label={inputs.LABEL}="
    values = [f.removeprefix(prefix) for f in flags if f.startswith(prefix)]
    return {inputs.LABEL: values[-1]} if values else {}


def _flags(flags: Sequence[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for flag in flags:
        for prefix, key in LIST_FLAGS.items():
            if flag.startswith(prefix):
                spec.setdefault(key, []).append(flag.removeprefix(prefix))
        if flag == "--no-cache":
            spec["no-cache"] = True
        elif flag == "--provenance=false":
            spec["attest"] = ["type=provenance,disabled=true"]
        elif flag.startswith("--provenance=mode="):
            spec["attest"] = ["type=provenance," + flag.removeprefix("--provenance=")]
    spec.setdefault("attest", ["type=provenance,disabled=true"])  # bake's default would add one
    return spec


def definition(catalog: Catalog, jobs: Sequence[Job]) -> dict[str, Any]:
    targets = {target_name(j): bake_target(j.plan, catalog.root) for j in jobs if j.plan is not None}
    return {"group": {"default": {"targets": list(targets)}}, "target": targets}


def write(text: str, path: Path) -> None:
    """Whole or not at all: a temporary file beside it, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2) + "\n"


def bake_file(
    catalog: Catalog,
    options: BuildOptions,
    out: Reporter,
    destination: str,
    *,
    language: str | None = None,
    target: str | None = None,
    only: Collection[str] | None = None,
) -> dict[str, Any]:
    """Plan what build-all would build and write it as a bake file (relative to the repository root; '-':
    stdout). A service that cannot be
    planned fails the whole command and nothing is written."""
    jobs = buildall.plan_jobs(catalog, buildall.select(catalog, language, target, only), options)
    broken = [f"{j.service}: {j.error}" for j in jobs if j.plan is None]
    if broken:
        raise ServiceError(f"cannot write the bake file: {'; '.join(broken)}")
    libstage.stage_all(catalog, list({j.plan.service.name: j.plan.service for j in jobs if j.plan}.values()))
    jobs = _labelled(jobs)
    text = render(definition(catalog, jobs))
    if destination == "-":
        print(text, end="", flush=True)
    else:
        write(text, catalog.root / destination)  # beside the paths it names, unless absolute
        out.success(f"wrote {destination}: {len(jobs)} targets")
        out.info(f"from {catalog.root} (paths are relative to it): docker buildx bake -f {destination} --load")
    return {"file": destination, "targets": [target_name(j) for j in jobs]}


def _labelled(jobs: list[Job]) -> list[Job]:
    """With the inputs label when the engine answers (it knows the base images' ids), so images bake builds are
    up to date for build-all; without it (no engine) the file is still whole."""
    engine = Engine()
    try:
        engine.ping()
    except EnvironmentProblem:
        return jobs
    return [replace(j, plan=inputs.check(j.plan, engine)[0]) if j.plan else j for j in jobs]
