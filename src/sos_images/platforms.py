"""Target platforms: parse `--platform`, and decide before anything is built whether each one can be built.

Pure: the engine's facts (its native platform, the platforms its builder can run, whether it keeps images in
the containerd store) come in as an `EngineFacts`, so every decision is unit-tested without Docker.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .catalog import Service
from .errors import EnvironmentProblem, UsageError

KNOWN = (
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
)
# Stages whose RUN steps all run on the build platform (the builder cross-compiles; the final stage only copies):
# any target platform builds without emulation. Every other (language, target) runs RUN steps on the target.
CROSS_COMPILED = {("go", "production")}
STORE_SETTING = '"features": {"containerd-snapshotter": true} in /etc/docker/daemon.json (Docker Engine 24 or newer)'
EMULATION_HINT = (
    "set up QEMU emulation for it (apt-get install qemu-user-static binfmt-support, or "
    "docker run --privileged --rm tonistiigi/binfmt --install all)"
)


@dataclass(frozen=True)
class EngineFacts:
    native: str = "linux/amd64"
    builder_platforms: tuple[str, ...] = ("linux/amd64",)  # what the builder can RUN (native + emulated)
    containerd_store: bool = True


def parse(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """'linux/amd64,linux/arm64' -> ('linux/amd64', 'linux/arm64'); each one known, none twice."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    platforms = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    for platform in platforms:
        if platform not in KNOWN:
            guess = difflib.get_close_matches(platform, KNOWN, n=1)
            hint = f"did you mean {guess[0]}? " if guess else ""
            raise UsageError(f"unknown platform {platform!r}: {hint}known platforms: {', '.join(KNOWN)}")
    return platforms


def check_buildable(service: Service, target: str, platforms: tuple[str, ...], facts: EngineFacts) -> None:
    """Refuse, before building, what the engine cannot build: one line saying which platform, why, what to do."""
    if len(platforms) > 1 and not facts.containerd_store:
        raise EnvironmentProblem(
            f"a multi-platform image ({', '.join(platforms)}) needs the containerd image store: set {STORE_SETTING} "
            "and restart dockerd (scripts/bootstrap-engine.sh starts such an engine)"
        )
    if (service.kind, target) in CROSS_COMPILED:
        return
    runnable = {_base(p) for p in facts.builder_platforms} | {_base(facts.native)}
    for platform in platforms:
        if _base(platform) not in runnable:
            raise EnvironmentProblem(
                f"{platform} cannot be built for {service.name} {target}: its RUN steps run on the target platform "
                f"and this builder runs only {', '.join(sorted(runnable))}; {EMULATION_HINT}, and use a base image "
                f"that has {platform}"
            )


def needs_engine_facts(platforms: tuple[str, ...], native: str = "linux/amd64") -> bool:
    return any(p != native for p in platforms)


def _base(platform: str) -> str:
    """linux/amd64/v2 -> linux/amd64 (variants of one architecture run the same RUN steps)."""
    parts = platform.split("/")
    return "/".join(parts[:3]) if parts[1:2] == ["arm"] else "/".join(parts[:2])
