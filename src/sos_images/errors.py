"""Typed errors. Each knows its exit code; front ends print str(error) as one line and exit."""

from __future__ import annotations

from typing import Any


class ToolError(Exception):
    """Base class: a failure the user can act on. The message says what is wrong and how to fix it."""

    exit_code = 1


class UsageError(ToolError):
    """Bad input: unknown service, invalid target, malformed version or argument."""

    exit_code = 2


class ServiceError(ToolError):
    """A service folder does not meet the build requirements (missing go.mod, build script...)."""

    exit_code = 2


class EnvironmentProblem(ToolError):
    """The machine lacks something: engine not reachable, no BuildKit client, a tool not installed."""

    exit_code = 3


class CommandFailed(ToolError):
    """An external command (docker, hadolint, trivy...) exited non-zero."""

    def __init__(self, message: str, returncode: int = 1) -> None:
        super().__init__(message)
        self.returncode = returncode


class CheckFailed(ToolError):
    """A verification, scan, lint or budget check found problems."""


def tool_json(tool: str, text: str, expect: type = object) -> Any:
    """A tool's JSON output; unparseable (or not the expected kind) is a CommandFailed naming the tool."""
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CommandFailed(f"{tool} printed output that is not JSON ({exc}): {text.strip()[:120]!r}") from None
    if not isinstance(value, expect):
        raise CommandFailed(f"{tool} printed JSON of an unexpected shape: {text.strip()[:120]!r}")
    return value


def one_line(exc: BaseException, debug: bool = False) -> tuple[str, int]:
    """The edge's message and exit code for any exception; the traceback only when debugging (SOS_DEBUG=1).

    A ToolError says what is wrong and how to fix it; anything else is a bug: exit 1, "internal error".
    """
    import os
    import sys
    import traceback

    if debug or os.environ.get("SOS_DEBUG", "") not in ("", "0"):
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", 130
    if isinstance(exc, ToolError):
        return f"error: {exc}", exc.exit_code
    detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
    return f"internal error: {detail} (a bug: rerun with SOS_DEBUG=1 for the traceback and report it)", 1
