"""Checks of built images and Dockerfiles: verify, lint, scan, sbom, layers.

Each module keeps its pure parts (argv, parsing, decisions) apart from the one function that runs the
tool, so the decisions are unit-tested without Docker. This module holds what they share: which image a
check looks at (the same reference `invoke build` tags), check results, settings and size parsing.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..errors import UsageError
from ..refs import ImageRef, resolve
from ..report import Reporter

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?[bB]?\s*$")
UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 2**10, "mi": 2**20, "gi": 2**30}


@dataclass(frozen=True)
class Check:
    """One named check. ok=None means it does not apply to this image (the detail says why)."""

    name: str
    ok: bool | None
    detail: str

    @property
    def result(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "result": self.result, "detail": self.detail}


# The checks find an image by the same resolution `invoke build` names it with.
image_ref = resolve


def require_image(engine: Any, ref: ImageRef) -> dict[str, Any]:
    data = engine.inspect_image(ref.image)
    if data is None:
        raise UsageError(f"image {ref.image} not found in the engine: build it first ({ref.build_hint()})")
    return data


def section(catalog: Catalog, name: str) -> dict[str, Any]:
    """[tool.sos-images.<name>] from pyproject.toml (empty when absent)."""
    value = catalog.settings.get(name, {})
    if not isinstance(value, dict):
        raise UsageError(f"[tool.sos-images.{name}] must be a table in pyproject.toml, got {value!r}")
    return value


def parse_size(text: str | int, what: str) -> int:
    """'20MB', '1.5GiB', '300kB' or a plain byte count -> bytes. Decimal units as `docker images` shows."""
    if isinstance(text, int):
        return text
    match = SIZE.match(str(text))
    if not match:
        raise UsageError(f"{what} {text!r} is not a size: give bytes or a number with kB, MB, GB, KiB, MiB, GiB")
    return int(float(match.group(1)) * UNITS[(match.group(2) or "").lower()])


def parse_list(value: str | Iterable[str], allowed: Iterable[str], what: str) -> tuple[str, ...]:
    """'critical,HIGH' -> ('CRITICAL', 'HIGH'): words checked case-insensitively, spelled as in `allowed`."""
    items = value.split(",") if isinstance(value, str) else list(value)
    known = {a.upper(): a for a in allowed}
    words = tuple(dict.fromkeys(item.strip().upper() for item in items if item.strip()))
    unknown = [w for w in words if w not in known]
    if unknown or not words:
        problem = f"has unknown {','.join(unknown)}" if unknown else "is empty"
        raise UsageError(f"{what} {problem}: choose from {','.join(known.values())}")
    return tuple(known[w] for w in words)


def print_checks(out: Reporter, title: str, checks: Iterable[Check]) -> None:
    out.table(title, ["check", "result", "detail"], [[c.name, c.result, c.detail] for c in checks])


def failed_names(checks: Iterable[Check]) -> list[str]:
    return [c.name for c in checks if c.ok is False]


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside `final`, renamed over it only if the block succeeds: no half-written files."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    except OSError as exc:
        raise UsageError(f"cannot write {final}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes 0600; reports are meant to be read
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
