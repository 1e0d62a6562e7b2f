"""Every task's options, as `invoke <task> --help` renders them: chosen short flags, none empty, none clashing."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import tasks
from tests.conftest import REPO

CHOSEN = {"service": "s", "target": "t", "version": "v", "registry": "r", "env": "e"}
TASK_NAMES = sorted(tasks.ns.task_names)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_short_flags_are_the_chosen_ones_and_never_clash(name: str) -> None:
    seen: dict[str, str] = {}
    for arg in tasks.ns[name].get_arguments():
        long_name, *shorts = arg.names
        assert long_name and all(len(s) == 1 and s.isalpha() for s in shorts), arg.names
        assert shorts == ([CHOSEN[long_name]] if long_name in CHOSEN else []), arg.names
        for short in shorts:
            assert short not in seen, f"-{short} is both --{seen[short]} and --{long_name}"
            seen[short] = long_name


def test_rendered_help_has_no_empty_flag_and_every_option_explained() -> None:
    for name in TASK_NAMES:
        out = subprocess.run(
            [sys.executable, "-m", "invoke", name, "--help"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
        assert "--=" not in out and not re.search(r"(^|\s)-[=,]", out), out
        options = out.split("Options:", 1)[1] if "Options:" in out else ""
        for line in options.splitlines():
            if re.match(r"^  -", line):  # an option's first line; wrapped help lines are indented further
                assert len(re.split(r"\s{2,}", line.strip())) >= 2, f"{name}: no help for {line.strip()}"
