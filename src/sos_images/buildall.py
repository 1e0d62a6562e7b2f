"""`build-all`: the `invoke build` plan for many (service, target) pairs at once.

Invoke has no parallel runner, so the pool lives here: threads, each waiting on one `docker buildx build`
subprocess (BuildKit does the real work in dockerd). Every build writes its own log file; one failure
neither stops nor hides the others; the summary says what happened to each.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import inputs, libstage, process
from .build import make_plan
from .catalog import LANGUAGES, OWN, Catalog
from .engine import Engine
from .errors import CommandFailed, ToolError, UsageError
from .plans import BuildOptions, BuildPlan
from .report import Reporter, human_size, size_text
from .sizes import image_sizes

ALL = "all"
# BuildKit plain progress: "#12 [builder 7/7] RUN ...", "#12 0.239 output", "#12 ERROR: executor failed ..."
STEP_TITLE = re.compile(r"^#\d+ (\[[^\]]+\])")
STEP_OUTPUT = re.compile(r"^#\d+ \d+\.\d+ (.*)$")
FAILED_STEP = re.compile(r"^#(\d+) ERROR: (.*)$")
MAX_DEFAULT_JOBS = 4


@dataclass(frozen=True)
class Job:
    """One build to run: its plan, or why it cannot be planned (then nothing is built)."""

    service: str
    target: str
    plan: BuildPlan | None
    error: str = ""


@dataclass(frozen=True)
class Outcome:
    service: str
    target: str
    image: str
    ok: bool
    seconds: float
    log: Path | None
    size: int | None = None  # the engine's own Size (download on the containerd store); see sizes.py
    error: str = ""
    download: int | None = None
    unpacked: int | None = None
    up_to_date: bool = False

    @property
    def result(self) -> str:
        return "failed" if not self.ok else "up to date" if self.up_to_date else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "target": self.target,
            "image": self.image,
            "result": self.result,
            "size": self.size,
            "size_human": human_size(self.size) if self.size is not None else None,
            "download_bytes": self.download,
            "unpacked_bytes": self.unpacked,
            "seconds": round(self.seconds, 2),
            "log": str(self.log) if self.log else None,
            "error": self.error or None,
        }

    def row(self) -> list[str]:
        if self.unpacked is not None:
            size = size_text(self.download, self.unpacked)
        else:
            size = human_size(self.size) if self.size is not None else "-"
        result = "FAILED" if not self.ok else self.result
        return [self.service, self.target, result, size, f"{self.seconds:.1f}s"]


def select(
    catalog: Catalog, language: str | None = None, target: str | None = None, only: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """(service, target) pairs to build. No target: each service's default one; 'all': every target.

    Folders the catalog could not read are included (target '-') when no language is asked for, so a
    broken service shows up as a failure instead of silently dropping out of the build. `only` (the affected
    services) narrows the pairs and may leave none: that is not an error.
    """
    kinds = (*LANGUAGES, OWN)
    if language and language not in kinds:
        raise UsageError(f"unknown language {language!r}; known: {', '.join(kinds)} (a service's own Dockerfile)")
    targets = {t for lang in LANGUAGES.values() for t in lang.targets} | {t for s, t in catalog.matrix()}
    if target and target != ALL and target not in targets:
        raise UsageError(f"unknown target {target!r}; known targets: {', '.join(sorted(targets))} or {ALL}")
    if target == ALL:
        pairs = [(svc.name, t) for svc, t in catalog.matrix(language)]
    elif target:
        pairs = [(svc.name, t) for svc, t in catalog.matrix(language, target)]
    else:
        pairs = [(svc.name, t) for svc, t in catalog.matrix(language) if t == svc.default_target]
    if not language:
        pairs += [(name, "-") for name in catalog.problems]
    if only is not None:
        return [(service, t) for service, t in pairs if service in only]
    if not pairs:
        which = f"{language} service" if language else "service"
        raise UsageError(f"nothing to build: no {which} has the target {target or 'production'!r}")
    return pairs


def plan_jobs(catalog: Catalog, pairs: Iterable[tuple[str, str]], options: BuildOptions) -> list[Job]:
    """The same plan `invoke build` makes, per pair; a pre-build failure becomes a failed job, not an abort."""
    jobs = []
    for service, target in pairs:
        try:
            plan, _facts = make_plan(catalog, service, _options_for(options, service, target))
            jobs.append(Job(service, target, plan))
        except ToolError as exc:
            jobs.append(Job(service, target, None, str(exc)))
    return jobs


def _options_for(options: BuildOptions, service: str, target: str) -> BuildOptions:
    """Per-build options: {service} and {target} in cache references give each image its own cache."""

    def fill(items: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(i.replace("{service}", service).replace("{target}", target) for i in items)

    return replace(
        options,
        target=None if target == "-" else target,
        progress="plain",  # the log is a file: no TTY animation
        cache_from=fill(options.cache_from),
        cache_to=fill(options.cache_to),
    )


def log_path(log_dir: Path, job: Job) -> Path:
    return log_dir / f"{job.service}-{job.target}.log"


def run_job(job: Job, log_dir: Path) -> Outcome:
    """Run one planned build with its whole output in its own log file. Never raises for a failed build."""
    assert job.plan is not None
    log = log_path(log_dir, job)
    started = time.perf_counter()
    proc = process.run(job.plan.argv, env=dict(job.plan.env), capture=True, echo=False, check=False)
    seconds = time.perf_counter() - started
    log.write_text(f"+ {job.plan.command_line()}\n{proc.stdout}{proc.stderr}\n[exit {proc.returncode}]\n")
    error = "" if proc.returncode == 0 else _reason(proc.stderr, proc.returncode)
    return Outcome(job.service, job.target, job.plan.image, proc.returncode == 0, seconds, log, error=error)


def _reason(stderr: str, code: int) -> str:
    """One line: the failed BuildKit step and its last output line (the compiler's or npm's error)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    failed = [m for m in map(FAILED_STEP.match, lines) if m]
    if failed:
        own = [line for line in lines if line.startswith(f"#{failed[-1].group(1)} ")]
        title = next((m.group(1) for m in map(STEP_TITLE.match, own) if m), "a build step")
        output = [m.group(1) for m in map(STEP_OUTPUT.match, own) if m]
        text = f"{title} failed: {output[-1] if output else failed[-1].group(2)}"
    else:
        errors = [line for line in lines if "error" in line.lower()]
        text = (errors or lines or [f"exit {code}"])[-1]
    return text if len(text) <= 240 else text[:237] + "..."


def default_jobs() -> int:
    return max(1, min(MAX_DEFAULT_JOBS, os.cpu_count() or 1))


def build_all(
    catalog: Catalog,
    options: BuildOptions,
    out: Reporter,
    *,
    language: str | None = None,
    target: str | None = None,
    jobs: int | None = None,
    log_dir: Path | None = None,
    dry_run: bool = False,
    only: Collection[str] | None = None,
) -> list[Outcome]:
    """Build the selected images (of the `only` services when given), `jobs` at a time; summary, then
    CommandFailed if any build failed."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, got {jobs}")
    pairs = select(catalog, language, target, only)
    if not pairs:  # only the affected services were asked for, and none has this target
        out.success("nothing affected by the changes: no image to build")
        if out.json_mode:
            out.emit_json(to_dict([], options, None))
        return []
    planned = plan_jobs(catalog, pairs, options)
    if dry_run:
        outcomes, log_dir = _dry_run(planned, out), None
    else:
        engine = Engine()
        engine.ping()
        log_dir = (log_dir or catalog.root / "reports" / "logs").resolve()
        log_dir.mkdir(parents=True, exist_ok=True)
        libstage.stage_all(catalog, list({j.plan.service.name: j.plan.service for j in planned if j.plan}.values()))
        planned, current = _skip_current(planned, options, engine, out)
        remaining = _run_pool(_not_in(planned, current), jobs or default_jobs(), log_dir, engine, out)
        outcomes = _merge(planned, current, remaining)
        summarize(outcomes, out, log_dir)
    if out.json_mode:
        out.emit_json(to_dict(outcomes, options, log_dir))
    raise_if_failed(outcomes, log_dir, out, announce=not dry_run)
    return outcomes


def _skip_current(
    planned: Sequence[Job], options: BuildOptions, engine: Engine, out: Reporter
) -> tuple[list[Job], list[Outcome]]:
    """Each plan with its inputs label; the builds whose image already carries it become 'up to date' outcomes."""
    labelled, current = [], []
    for job in planned:
        if job.plan is None or not inputs.labelled(options, job.plan):
            labelled.append(job)
            continue
        try:
            plan, fresh = inputs.check(job.plan, engine)
        except OSError:  # an unreadable input: build it, and let BuildKit say what is wrong
            plan, fresh = job.plan, False
        labelled.append(replace(job, plan=plan))
        if fresh and inputs.may_skip(options, plan):
            data = engine.sized_inspect(plan.image) or {}
            download, unpacked = image_sizes(data)
            outcome = Outcome(job.service, job.target, plan.image, True, 0.0, None, data.get("Size"))
            current.append(replace(outcome, download=download, unpacked=unpacked, up_to_date=True))
            out.success(f"{job.service} {job.target}: {plan.image} is up to date")
    return labelled, current


def _not_in(planned: Sequence[Job], current: Sequence[Outcome]) -> list[Job]:
    skip = {(o.service, o.target) for o in current}
    return [j for j in planned if (j.service, j.target) not in skip]


def _merge(planned: Sequence[Job], *groups: Sequence[Outcome]) -> list[Outcome]:
    order = {(j.service, j.target): i for i, j in enumerate(planned)}
    return sorted((o for g in groups for o in g), key=lambda o: order[(o.service, o.target)])


def _run_pool(planned: Sequence[Job], jobs: int, log_dir: Path, engine: Engine, out: Reporter) -> list[Outcome]:
    failed_early = [Outcome(j.service, j.target, "", False, 0.0, None, error=j.error) for j in planned if not j.plan]
    runnable = [j for j in planned if j.plan is not None]
    if not runnable:
        return failed_early
    out.info(f"Building {len(runnable)} images, {jobs} at a time; one log per build in {log_dir}")
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="build")
    try:
        futures: dict[Future[Outcome], Job] = {}
        for job in runnable:
            futures[pool.submit(run_job, job, log_dir)] = job
        done = [_finish(future, futures[future], engine, out, log_dir) for future in as_completed(futures)]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return _merge(planned, failed_early, done)


def _finish(future: Future[Outcome], job: Job, engine: Engine, out: Reporter, log_dir: Path) -> Outcome:
    """Record one finished build; the image is inspected here, in the main thread, for its size."""
    try:
        outcome = future.result()
    except ToolError as exc:  # e.g. docker vanished from PATH: still one failed row, not an abort
        outcome = Outcome(job.service, job.target, job.plan.image if job.plan else "", False, 0.0, None, error=str(exc))
    if outcome.ok:
        data = engine.sized_inspect(outcome.image) or {}
        download, unpacked = image_sizes(data)
        outcome = replace(outcome, size=data.get("Size"), download=download, unpacked=unpacked)
        out.success(f"{outcome.service} {outcome.target}: {outcome.image} in {outcome.seconds:.1f}s")
    else:
        out.error(f"{outcome.service} {outcome.target} failed: {outcome.error} (log: {log_path(log_dir, job)})")
    return outcome


def _dry_run(planned: Sequence[Job], out: Reporter) -> list[Outcome]:
    out.info("Dry run: nothing built. The commands:")
    for job in planned:
        if job.plan:
            print(job.plan.command_line(), file=out.stream, flush=True)
        else:
            out.error(f"{job.service} {job.target}: {job.error}")
    return [
        Outcome(j.service, j.target, j.plan.image if j.plan else "", j.plan is not None, 0.0, None, error=j.error)
        for j in planned
    ]


def summarize(outcomes: Sequence[Outcome], out: Reporter, log_dir: Path) -> None:
    out.table("Build summary", ["service", "target", "result", "size", "time"], [o.row() for o in outcomes])
    ok = sum(o.ok and not o.up_to_date for o in outcomes)
    fresh = sum(o.up_to_date for o in outcomes)
    out.info(f"{ok} of {len(outcomes)} built, {fresh} up to date; logs: {log_dir}/<service>-<target>.log")


def raise_if_failed(outcomes: Sequence[Outcome], log_dir: Path | None, out: Reporter, *, announce: bool = True) -> None:
    failed = [o for o in outcomes if not o.ok]
    if announce:
        for o in failed:
            out.error(f"FAILED {o.service} {o.target}: {o.error}" + (f" (log: {o.log})" if o.log else ""))
    if failed:
        names = ", ".join(f"{o.service} {o.target}" for o in failed)
        where = f"; see the logs in {log_dir}" if log_dir else ""
        raise CommandFailed(f"{len(failed)} of {len(outcomes)} builds failed: {names}{where}")


def to_dict(outcomes: Sequence[Outcome], options: BuildOptions, log_dir: Path | None) -> dict[str, Any]:
    return {
        "version": options.version,
        "log_dir": str(log_dir) if log_dir else None,
        "built": sum(o.ok and not o.up_to_date for o in outcomes),
        "up_to_date": sum(o.up_to_date for o in outcomes),
        "failed": sum(not o.ok for o in outcomes),
        "results": [o.to_dict() for o in outcomes],
    }
