"""Record every invocation of chosen programs: a shim per program on PATH logs its argv, then execs the real one.

Unlike sampling /proc, nothing is missed however short-lived the process: the shim itself writes the line
before the real program starts. Used to prove that secrets never reach a command line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

SHIM = """#!{python}
import json, os, sys
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps({{"argv": sys.argv}}) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def recording_path(tmp: Path, programs: Sequence[str], log: Path) -> str:
    """A PATH value whose first folder holds one recording shim per program, then the current PATH.

    Each shim appends {"argv": [...]} (its argv as called, argv[0] the shim's path) to `log` as one JSON
    line and then execs the real program found on the current PATH. A program missing there is an error.
    """
    original = os.environ.get("PATH", os.defpath)
    folder = tmp / "recording-shims"
    folder.mkdir(parents=True, exist_ok=True)
    for program in programs:
        real = shutil.which(program, path=original)
        if real is None:
            raise FileNotFoundError(f"{program} is not on PATH: nothing to record")
        shim = folder / program
        shim.write_text(SHIM.format(python=sys.executable, log=str(log), real=real), encoding="utf-8")
        shim.chmod(0o755)
    return f"{folder}{os.pathsep}{original}"


def recorded_calls(log: Path) -> list[list[str]]:
    """Every recorded argv, in the order the calls started (empty when nothing ran)."""
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["argv"] for line in lines if line.strip()]
