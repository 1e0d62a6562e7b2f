"""Checks of built images and Dockerfiles: verify, lint, scan, sbom, layers.

Every check has one shape: `settings.pick` resolves each option (the argument, then pyproject.toml, then
the default) with the same parser as the settings schema; its pure parts (argv, parsing, decisions) stay
apart from the one function that runs the tool, so they are unit-tested without Docker; what a tool finds is
a `Finding`, a pass/fail row is a `Check`; and `render(result, out)` prints the result (a table, or JSON).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..refs import ImageRef, resolve
from ..report import Reporter


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


@dataclass(frozen=True)
class Finding:
    """One thing a tool found: a lint rule broken in a Dockerfile, a vulnerability, a secret, a licence.

    `rule` is the tool's identifier (DL3008, CVE-2023-45133, aws-access-key-id), as SARIF's ruleId;
    `severity` is the tool's own word (hadolint: error..style; Trivy: CRITICAL..UNKNOWN).
    """

    tool: str  # hadolint, trivy
    kind: str  # dockerfile, vulnerability, secret, misconfiguration, license
    rule: str
    severity: str
    target: str  # the file, or Trivy's target (an OS, a lock file, a binary)
    message: str = ""
    line: int = 0
    package: str = ""
    installed: str = ""
    fixed: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The checks find an image by the same resolution `invoke build` names it with.
image_ref = resolve


def require_image(engine: Any, ref: ImageRef, *, sized: bool = False) -> dict[str, Any]:
    """The image's inspect; sized adds its history, for sizes.image_sizes."""
    data = engine.sized_inspect(ref.image) if sized else engine.inspect_image(ref.image)
    if data is None:
        raise UsageError(f"image {ref.image} not found in the engine: build it first ({ref.build_hint()})")
    return data


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
