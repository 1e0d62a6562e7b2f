"""The one error edge: every exception is one line and an exit code; a traceback only when asked for."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from invoke import Exit

import sos_images.verbs
import tasks
from sos_images.changes import changed_paths
from sos_images.errors import CommandFailed, UsageError, tool_json


def _fail_with(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> Exit:
    def boom(a: object) -> None:
        raise exc

    monkeypatch.setattr(sos_images.verbs, "services", boom)
    with pytest.raises(Exit) as caught:
        tasks.call("services", {"c": None, "json": False})
    return caught.value


def test_an_unexpected_exception_is_an_internal_error_exit_1_without_traceback(monkeypatch, capsys) -> None:
    monkeypatch.delenv("SOS_DEBUG", raising=False)
    exit_ = _fail_with(monkeypatch, KeyError("Config"))
    assert exit_.code == 1 and str(exit_.message).startswith("internal error: KeyError: 'Config'")
    assert "SOS_DEBUG=1" in str(exit_.message) and "Traceback" not in capsys.readouterr().err


def test_sos_debug_shows_the_traceback(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SOS_DEBUG", "1")
    exit_ = _fail_with(monkeypatch, ZeroDivisionError("division by zero"))
    assert exit_.code == 1 and "Traceback" in capsys.readouterr().err


def test_a_typed_error_keeps_its_message_and_exit_code(monkeypatch) -> None:
    monkeypatch.delenv("SOS_DEBUG", raising=False)
    exit_ = _fail_with(monkeypatch, UsageError("unknown service 'x'"))
    assert (exit_.code, exit_.message) == (2, "error: unknown service 'x'")


def test_interrupt_is_exit_130(monkeypatch) -> None:
    assert _fail_with(monkeypatch, KeyboardInterrupt()).code == 130


@pytest.mark.parametrize(("text", "expect"), [("Error: no such image", object), ('{"a": 1}', list)])
def test_a_tool_output_that_cannot_be_read_names_the_tool(text: str, expect: type) -> None:
    with pytest.raises(CommandFailed, match="^hadolint printed"):
        tool_json("hadolint", text, expect)


def test_a_failing_git_diff_fails_instead_of_meaning_nothing_changed(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(CommandFailed, match="git diff failed"):
        changed_paths(tmp_path, "0" * 40)
