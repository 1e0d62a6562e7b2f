"""Markdown job summaries, read at a glance like build-push-action's: written by the tasks themselves (`--summary
FILE`: GitHub's $GITHUB_STEP_SUMMARY, a GitLab report artifact), never by shell in the pipeline. Pure rendering,
plus one append that writes a whole summary at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .report import human_size


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]


def code(text: str) -> str:
    return f"`{text}`" if text else ""


def tag_rows(decisions: Iterable[Any]) -> list[list[str]]:
    """One row per tag of the release (release_rules' TagDecision): what happened to it and why."""
    rows = []
    for d in decisions:
        digest = d.new if d.changes else d.current
        rows.append([code(d.tag), _ACTIONS.get(d.action, d.action), code(digest[:19]), d.reason])
    return rows


_ACTIONS = {"create": "created", "move": "moved", "keep": "kept", "refuse": "refused"}


def platform_job(record: Any, decisions: Iterable[Any]) -> str:
    """One platform pushed by digest: the image, the tags checked (read-only), the verify result."""
    lines = [f"### {record.service} {record.target} {record.version}: {record.platform} pushed by digest", ""]
    lines += table(
        ["image", "platform", "digest", "download", "unpacked", "provenance", "verify"],
        [[code(record.repository), record.platform, code(record.digest), human_size(record.size),
          human_size(record.unpacked), "yes" if record.provenance else "no", record.verify]],
    )  # fmt: skip
    checked = [f"{code(d.tag)} {'free' if d.action == 'create' else 'holds this content'}" for d in decisions]
    lines += ["", "Release tags checked, read-only (the merge tags them): " + (", ".join(checked) or "none"), ""]
    return "\n".join(lines) + "\n"


def merge_job(ref: Any, digest: str, records: Sequence[Any], decisions: Sequence[Any], facts: dict[str, Any]) -> str:
    """The index: its digest, each platform's image, every tag created, moved or kept, the signature."""
    lines = [f"### {ref.service.name} {ref.target} {ref.version}: multi-platform index", ""]
    lines += [f"{code(ref.repository + '@' + digest)}, provenance {facts.get('provenance', 'unknown')}", ""]
    lines += table(
        ["platform", "digest", "download", "unpacked", "commit", "verify"],
        [[r.platform, code(r.digest), human_size(r.size), human_size(r.unpacked), code(r.commit[:12]), r.verify]
         for r in records],
    )  # fmt: skip
    lines += ["", *table(["tag", "action", "digest", "why"], tag_rows(decisions)), ""]
    signed = facts.get("sign")
    lines.append(f"Signed and SBOM-attested: {code(signed['signed'])}" if signed else "Not signed (no --sign).")
    return "\n".join(lines) + "\n\n"


def append(path: str | Path | None, text: str) -> None:
    """Append one whole summary (GitHub's step summary file is shared by the job's steps)."""
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(text)
