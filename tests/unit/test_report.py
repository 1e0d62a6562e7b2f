"""The Reporter writes a line itself where rich would print it unstyled: the text must be rich's, to the byte."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sos_images.report import NO_EMOJI, Reporter
from tests.conftest import REPO

LINES = [
    "Service:      device-service",
    "Build Date:   2026-11-28T21:46:11Z",  # ':46:' looks like an emoji code and is none
    "docker run --rm -p 8080:8080 -p 2345:2345 ghcr.io/sos-app/device-service:v1.2.3-development",
    "done :smile: :thumbs_up: :warning-emoji: :red_heart-text: :+1: :100: :: :1234:",
    "a:smile:b::smile:::warning:: :46-emoji: :00:smile: 12:30:100:",
    "naïve café 日本語 ✅ " + "x" * 300,
    "",
    "  leading and trailing  ",
    "brackets [bold]x[/bold] \\[INFO] [1] back\\slash",
    ":a[b]:smile: and x[bold]:smile:",  # rich looks for emoji codes between markup tags
    "tab\there, bell\a, cr\rend, newline\nline two",
]


def rich_lines(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """What rich itself prints for these lines when it is not writing to a terminal."""
    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # the Reporter then hands every line to rich, which styles none
    stream = io.StringIO()
    out = Reporter(stream=stream)
    for text in lines:
        out.info(text)
    out.fields([("Key", "value:smile:")], level="BUILD")
    monkeypatch.delenv("TTY_COMPATIBLE")
    return stream.getvalue()


def plain_lines(lines: list[str]) -> str:
    stream = io.StringIO()
    out = Reporter(stream=stream)
    for text in lines:
        out.info(text)
    out.fields([("Key", "value:smile:")], level="BUILD")
    return stream.getvalue()


def test_lines_written_directly_are_what_rich_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "20")  # rich wraps nothing (soft wrap) whatever the width
    assert plain_lines(LINES) == rich_lines(LINES, monkeypatch)


PIECES = [*":_+-[]\\ \tab1é日😀\n", ":smile:", "[b]", "[/b]", "smile", "\x1b[1m"]


@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), max_size=5))
def test_any_text_is_printed_as_rich_prints_it(lines: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert plain_lines(lines) == rich_lines(lines, monkeypatch)


def test_a_build_report_on_a_pipe_does_not_load_rich() -> None:
    report = "out.rule('SOS App'); out.fields([('Build Date', '2026-11-28T21:46:11Z')]); out.success('built :smile:')"
    assert not loads("rich.console", report)


def loads(module: str, report: str) -> bool:
    """Whether printing `report` with a Reporter on a pipe imports `module` (in a fresh interpreter)."""
    code = (
        "import io, sys; from sos_images.report import Reporter; out = Reporter(stream=io.StringIO()); "
        f"{report}; sys.exit({module!r} in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env).returncode != 0


def test_no_emoji_is_named_with_two_digits() -> None:
    """The Reporter does not load rich's emoji table for a time's ':46:' (see report.NO_EMOJI)."""
    from rich._emoji_codes import EMOJI

    assert not [name for name in EMOJI if NO_EMOJI.fullmatch(name)]


def test_times_do_not_load_the_emoji_table() -> None:
    report = "out.fields([('Build Date', '2026-11-28T21:46:11Z'), ('Next', 'docker run -p 8080:8080 x:v1')])"
    assert not loads("rich._emoji_codes", report)
    assert loads("rich._emoji_codes", "out.success('built :smile:')")  # the probe can see it load


def test_a_terminal_still_gets_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    stream = io.StringIO()
    Reporter(stream=stream).success("built")
    assert stream.getvalue() == "\x1b[32m[SUCCESS]\x1b[0m built\n"
