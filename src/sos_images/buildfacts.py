"""The facts a build plan takes from the outside world: the source (commit, date) and the build client.

Plain values, below both plans (which reads them) and process (which finds them), so imports run downward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SourceInfo:
    """Facts about the sources: the commit and a reproducible creation date (RFC 3339, UTC)."""

    commit: str = "unknown"
    created: str = "1970-01-01T00:00:00Z"

    @property
    def epoch(self) -> str:
        """SOURCE_DATE_EPOCH for BuildKit: the creation date in seconds."""
        return str(int(datetime.strptime(self.created + "+0000", "%Y-%m-%dT%H:%M:%SZ%z").timestamp()))


@dataclass(frozen=True)
class BuildClient:
    """How BuildKit is reached: 'buildx' (docker buildx build) or 'classic' (DOCKER_BUILDKIT=1 docker build)."""

    kind: str
    program: str = "docker"

    def prefix(self) -> list[str]:
        if self.kind == "buildx":
            return [self.program, "buildx", "build"]
        return [self.program, "build"]

    def env(self) -> dict[str, str]:
        # buildx's own git probing (7 git calls per build) only feeds provenance the docker driver does not
        # keep; the tool sets the revision and source labels itself.
        return {"DOCKER_BUILDKIT": "1"} if self.kind == "classic" else {"BUILDX_GIT_INFO": "0"}
