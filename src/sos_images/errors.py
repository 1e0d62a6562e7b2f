"""Typed errors. Each knows its exit code; front ends print str(error) as one line and exit."""

from __future__ import annotations


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
