"""What changed since a git reference, read through the process runner, and the services it affects."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import affected as affected_mod
from . import process
from .catalog import Catalog
from .errors import CommandFailed, UsageError
from .report import Reporter

DEEPEN = "git fetch --deepen=100 origin (or git fetch --unshallow)"


@dataclass(frozen=True)
class Since:
    ref: str
    base: str  # the commit where HEAD left ref (merge base): what a pull request changes
    result: affected_mod.Affected

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.ref, "base": self.base, "services": self.result.services, "reasons": self.result.reasons}


def _git(root: Path, *args: str) -> tuple[bool, str]:
    proc = process.run(["git", *args], capture=True, echo=False, check=False, cwd=root)
    return proc.returncode == 0, proc.stdout


def _git_output(root: Path, *args: str) -> str:
    """A git command that must work: a failure is never read as 'nothing changed'."""
    proc = process.run(["git", *args], capture=True, echo=False, check=False, cwd=root)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise CommandFailed(f"git {args[0]} failed in {root}: {detail[0]}", proc.returncode)
    return proc.stdout


def merge_base(root: Path, ref: str) -> str:
    """The commit to compare with; one-line UsageErrors for a non-checkout, an unknown ref, a shallow clone."""
    if not _git(root, "rev-parse", "--is-inside-work-tree")[0]:
        raise UsageError(f"{root} is not a git checkout: --since compares commits; run it in a clone or drop --since")
    shallow = _git(root, "rev-parse", "--is-shallow-repository")[1].strip() == "true"
    if not _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")[0]:
        if shallow:
            raise UsageError(f"{ref!r} is not in this shallow clone: fetch more history, e.g. {DEEPEN}")
        raise UsageError(f"unknown git reference {ref!r}: give a branch, tag or commit (e.g. origin/main, HEAD~1)")
    ok, out = _git(root, "merge-base", ref, "HEAD")
    if not ok:
        if shallow:
            raise UsageError(f"this shallow clone lacks the commit where HEAD left {ref!r}: {DEEPEN}")
        raise UsageError(f"{ref!r} and HEAD share no history: give a reference on this branch's history")
    return out.strip()


def changed_paths(root: Path, base: str) -> list[str]:
    """Tracked changes from base to the work tree, and untracked files, relative to root."""
    diff = _git_output(root, "diff", "--name-only", "--no-renames", "--relative", "-z", base, "--")
    untracked = _git_output(root, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted({p for p in (diff + untracked).split("\0") if p})


def settings_at(root: Path, base: str) -> dict[str, Any]:
    """[tool.sos-images] as it was at base ({} when pyproject.toml was missing or unreadable there)."""
    ok, text = _git(root, "show", f"{base}:./{affected_mod.PYPROJECT}")
    try:
        return tomllib.loads(text).get("tool", {}).get("sos-images", {}) if ok else {}
    except tomllib.TOMLDecodeError:
        return {}


def ignore_texts(catalog: Catalog) -> dict[Path, str | None]:
    texts: dict[Path, str | None] = {}
    for path in affected_mod.ignore_files(catalog):
        texts[path] = path.read_text(encoding="utf-8") if path.is_file() else None
    return texts


def since(catalog: Catalog, ref: str) -> Since:
    """The services whose images changed between the merge base of ref and HEAD and the work tree."""
    if not ref:
        raise UsageError("--since needs a git reference, e.g. --since origin/main")
    base = merge_base(catalog.root, ref)
    paths = changed_paths(catalog.root, base)
    rules = affected_mod.rules_for(catalog, ignore_texts(catalog))
    before = settings_at(catalog.root, base) if affected_mod.PYPROJECT in paths else None
    after = dict(catalog.settings) if before is not None else None
    return Since(ref, base, affected_mod.affected(paths, rules, before, after))


def show(found: Since, out: Reporter) -> None:
    """The affected services as JSON, a table, or the one line saying there is nothing to build."""
    if out.json_mode:
        out.emit_json(found.to_dict())
    elif not found.result.services:
        out.success(f"nothing affected since {found.ref}: no image to build")
    else:
        rows = [[name, "; ".join(why)] for name, why in sorted(found.result.reasons.items())]
        out.table(f"Affected since {found.ref} ({found.base[:12]})", ["service", "why"], rows)
