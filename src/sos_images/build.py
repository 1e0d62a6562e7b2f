"""`build`: pre-build checks, plan, run BuildKit through the docker CLI, inspect the result."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import endpoint, inputs, libstage, platforms, process, refs, reproduce
from .catalog import Catalog, Service
from .engine import Engine
from .errors import EnvironmentProblem, ServiceError
from .plans import BuildOptions, BuildPlan, plan_build
from .platforms import EngineFacts
from .report import ImageReport, Reporter


@dataclass(frozen=True)
class BuildResult:
    plan: BuildPlan
    report: ImageReport | None
    seconds: float
    platform_digests: dict[str, str] = field(default_factory=dict)  # a reproducible build's manifests
    up_to_date: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "seconds": round(self.seconds, 2),
            "up_to_date": self.up_to_date,
            "platforms": list(self.plan.platforms),
            "digest": self.report.id if self.report else None,
            "platform_digests": self.platform_digests,
            "report": self.report.to_dict() if self.report else None,
            "next": next_steps(self.plan),
        }


def preflight(service: Service) -> list[str]:
    """The seed's pre-build checks for one service folder. Returns facts worth printing."""
    if service.language is None:
        return _own_checks(service)
    if service.kind == "node":
        return _node_checks(service.path)
    return _go_checks(service.path)


def _own_checks(service: Service) -> list[str]:
    """An own Dockerfile was read when the catalog loaded; what it says is worth printing."""
    recipe = service.recipe
    health = recipe.healthcheck(service.default_target)
    return [
        f"Dockerfile {recipe.dockerfile}, context {recipe.context}",
        f"targets {', '.join(recipe.targets)}; port {service.port}; "
        + (f"HEALTHCHECK {health}" if health else f"health {service.health_path or 'none'}"),
    ]


def _node_checks(path: Path) -> list[str]:
    name = path.name
    try:
        manifest = json.loads((path / "package.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ServiceError(f"services/{name}/package.json is not valid JSON ({exc}): fix it") from None
    if not (manifest.get("scripts") or {}).get("build"):
        raise ServiceError(f'services/{name}/package.json has no "build" script: add one (e.g. "build": "tsc")')
    if not (path / "package-lock.json").is_file():
        raise ServiceError(f"services/{name} has no package-lock.json, which npm ci needs: run npm install there")
    if not any((path / "src" / f"index.{ext}").is_file() for ext in ("ts", "js", "mts", "mjs")):
        raise ServiceError(f"services/{name} has no entry point src/index.ts: add it")
    deps = len(manifest.get("dependencies") or {})
    return [f"package {manifest.get('name', name)}@{manifest.get('version', '?')}, {deps} runtime dependencies"]


def _go_checks(path: Path) -> list[str]:
    name = path.name
    if not (path / "go.mod").is_file():
        raise ServiceError(f"services/{name} has no go.mod: run 'go mod init github.com/sos-app/{name}' there")
    if not (path / "cmd" / "main.go").is_file():
        raise ServiceError(f"services/{name} has no cmd/main.go: the main package must live in cmd/")
    gomod = (path / "go.mod").read_text(encoding="utf-8")
    module = re.search(r"^module\s+(\S+)", gomod, re.M)
    requires = _go_requires(gomod)
    return [f"module {module.group(1) if module else '?'}, {requires} dependencies"]


def _go_requires(gomod: str) -> int:
    blocks = re.findall(r"^require\s*\((.*?)^\)", gomod, re.M | re.S)
    count = sum(
        1 for block in blocks for line in block.splitlines() if line.strip() and not line.strip().startswith("//")
    )
    return count + len(re.findall(r"^require\s+[^(\s]", gomod, re.M))


def next_steps(plan: BuildPlan) -> list[str]:
    ref, port = plan.ref, plan.service.port
    steps = [f"docker run --rm -p {port}:{port} {ref.image}"]
    debug = plan.service.debug_port
    if plan.target == "development" and debug:
        steps = [f"docker run --rm -p {port}:{port} -p {debug}:{debug} {ref.image}"]
        if plan.service.kind == "go":
            steps.append(f"dlv connect localhost:{debug}")
    steps.append(f"invoke verify {ref.options()}")
    if plan.target != "development":
        registry = "" if ref.explicit_registry else " --registry ghcr"
        steps.append(f"invoke push {ref.options()}{registry}")
    return steps


def make_plan(
    catalog: Catalog, service_name: str | None, options: BuildOptions, environ: Mapping[str, str] = os.environ
) -> tuple[BuildPlan, list[str]]:
    """Validate everything that needs no engine, then plan. Raises before anything is built."""
    ref = refs.resolve(catalog, service_name, options.target, options.version, options.registry, environ)
    facts = preflight(ref.service)
    client = process.find_build_client(environ)
    source = process.source_info(catalog.root, environ)
    bases = resolve_bases(catalog, ref, environ) if options.refresh else None
    scratch = Path(tempfile.gettempdir()) / f"sos-images-{os.getpid()}"
    plan = plan_build(catalog, ref, options, source, client, environ, engine_facts(options, environ), bases, scratch)
    return plan, facts


def resolve_bases(catalog: Catalog, ref: refs.ImageRef, environ: Mapping[str, str]) -> dict[str, str]:
    """Each base image the target stands on, resolved in its registry now (what a refresh builds on)."""
    text = ref.service.recipe.dockerfile.read_text(encoding="utf-8")
    engine, bases = Engine(endpoint.current(environ)), {}
    for name in reproduce.base_args_used(text, ref.target):
        image = catalog.base_images[name]
        digest = engine.remote_digest(image.split("@", 1)[0])
        if not digest:
            raise EnvironmentProblem(
                f"--refresh: base image {image} ({name}) is not in a registry the engine can reach: "
                f"point {name} at a registry or mirror in [tool.sos-images.base-images]"
            )
        bases[name] = digest
    return bases


def engine_facts(options: BuildOptions, environ: Mapping[str, str]) -> EngineFacts | None:
    """The engine's facts, asked only when an option depends on them (a plain local build does not wait for
    dockerd's /info). With no engine (a dry run on a laptop) those of a current engine are assumed."""
    asks = options.release or options.reproducible or options.provenance not in (None, "off")
    if not (options.platforms or options.cache != "none" or asks):
        return None
    try:
        facts = Engine(endpoint.current(environ)).facts()
    except EnvironmentProblem:
        return EngineFacts()
    if platforms.needs_engine_facts(options.platforms, facts.native):
        return replace(facts, builder_platforms=process.builder_platforms(options.builder) or facts.builder_platforms)
    return facts


def build(
    catalog: Catalog,
    service_name: str | None,
    options: BuildOptions,
    out: Reporter,
    *,
    dry_run: bool = False,
    engine: Engine | None = None,
) -> BuildResult:
    if dry_run:
        plan, facts = make_plan(catalog, service_name, options)
        announce(plan, facts, out)
        out.info("Dry run: nothing built. The command:")
        print(plan.command_line(), file=out.stream, flush=True)
        return BuildResult(plan, None, 0.0)
    plan, facts = make_plan(catalog, service_name, options)
    engine = engine or Engine()
    engine.ping()
    announce(plan, facts, out)
    out.success("Pre-build checks passed")
    for note in plan.notes:
        out.warn(note)
    libstage.stage(catalog, plan.service)  # first: the staged libraries are inputs too
    if inputs.labelled(options, plan):
        plan, current = inputs.check(plan, engine)
        if current and inputs.may_skip(options, plan):
            return _up_to_date(plan, engine, out)
    out.info("Building Docker image...")
    started = time.perf_counter()
    digests = run_build(plan, stdout=sys.stderr if out.json_mode else None)
    seconds = time.perf_counter() - started
    data = engine.sized_inspect(plan.image)
    report = ImageReport.from_inspect(plan.image, data) if data else None
    result = BuildResult(plan, report, seconds, digests)
    summarize(result, out)
    return result


def _up_to_date(plan: BuildPlan, engine: Engine, out: Reporter) -> BuildResult:
    data = engine.inspect_image(plan.image)
    report = ImageReport.from_inspect(plan.image, data) if data else None
    out.success(f"{plan.image} is up to date: its inputs did not change (--rebuild builds it anyway)")
    return BuildResult(plan, report, 0.0, up_to_date=True)


def run_build(plan: BuildPlan, stdout: Any = None, *, load: bool = True) -> dict[str, str]:
    """Run the build; a reproducible one is then loaded from its OCI archive, which is removed either way.
    Returns the archive's per-platform digests (none for a plain --load)."""
    if not plan.oci_archive:
        process.run(plan.argv, env=dict(plan.env), stdout=stdout)
        return {}
    folder = Path(plan.oci_archive).parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        process.run(plan.argv, env=dict(plan.env), stdout=stdout)
        digests = reproduce.archive_digests(plan.oci_archive)
        if load:
            process.run(["docker", "load", "--input", plan.oci_archive], stdout=stdout)
        return digests
    finally:
        Path(plan.oci_archive).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


def announce(plan: BuildPlan, facts: list[str], out: Reporter) -> None:
    out.rule("SOS App - Docker Image Build")
    out.fields(
        [
            ("Service", plan.service.name),
            ("Language", plan.service.kind),
            ("Target", plan.target),
            ("Version", plan.version),
            ("Image", plan.image),
        ]
    )
    out.info("=" * 67)
    args = dict(plan.build_args)
    out.fields([("Build Date", args["BUILD_DATE"]), ("Git Commit", args["GIT_COMMIT"])], level="BUILD")
    for fact in facts:
        out.line("BUILD", fact)


def summarize(result: BuildResult, out: Reporter) -> None:
    report = result.report
    if report is None:
        out.warn(f"built, but {result.plan.image} is not in the engine (a remote builder without --load?)")
        return
    out.success(f"Docker image built successfully: {report.image} in {result.seconds:.1f}s")
    out.success(f"Image Size: {report.size_text()}")
    platforms = result.plan.platforms
    out.fields(
        [
            ("Platforms", ", ".join(platforms) if platforms else "the engine's own"),
            ("Digest", report.id + (" (OCI index)" if len(platforms) > 1 else "")),
            ("Layers", report.layers),
            ("User", report.user),
            ("Ports", ", ".join(report.ports) or "none"),
            ("Healthcheck", report.health_text()),
        ]
    )
    out.info("Next steps:")
    for step in next_steps(result.plan):
        out.info("  " + step)
