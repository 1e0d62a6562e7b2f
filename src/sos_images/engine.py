"""The engine boundary: the Docker engine through the SDK, behind methods. Callers never see SDK objects.

The SDK is used for what it does well (ping, inspect, history, archives, containers, tags, push streams); builds
go through the docker CLI (process.run), since the SDK has no BuildKit. The SDK is imported lazily: it costs
~0.1 s, and `invoke --list` should not pay for it.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import re
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import IO, Any

from . import endpoint as endpoint_mod
from .endpoint import Endpoint
from .errors import CommandFailed, EnvironmentProblem
from .platforms import EngineFacts
from .sizes import HISTORY_KEY

ARCHITECTURES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm/v7",
    "i686": "386",
    "s390x": "s390x",
    "ppc64le": "ppc64le",
    "riscv64": "riscv64",
}
PUSH_ATTEMPTS = 3
TRANSIENT = re.compile(r"\b(500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout)\b")
# The containerd image store reports a push's digest only in its last status line.
PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def containerd_store(info: dict[str, Any]) -> bool:
    """Whether the engine keeps images in containerd (multi-platform indexes, attestations), from /info."""
    return any("io.containerd.snapshotter" in str(v) for _, v in info.get("DriverStatus") or [])


def sdk_client(endpoint: Endpoint, timeout: int = 300) -> Any:
    """A Docker SDK client for exactly this endpoint (never docker.from_env, which reads DOCKER_HOST itself).
    ssh:// goes through the ssh binary, as the docker CLI does (it honours ~/.ssh/config)."""
    import docker  # lazy: see module docstring

    client = docker.DockerClient.__new__(docker.DockerClient)  # its __init__ only makes .api, here ours
    try:
        client.api = _engine_api()(
            base_url=endpoint.host, tls=_tls_config(endpoint), timeout=timeout, use_ssh_client=endpoint.scheme == "ssh"
        )
    except docker.errors.DockerException as exc:
        raise endpoint.unreachable(str(exc).splitlines()[0][:160]) from None
    return client


@functools.cache
def _engine_api() -> type:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's CA on every request, so an engine with
    its own CA would be checked against the proxy's bundle (and fail); the engine's TLS settings win here, even for
    the version probe the client makes while it is constructed."""
    import docker

    class EngineAPIClient(docker.APIClient):
        def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return {**super().merge_environment_settings(*args, **kwargs), "verify": self.verify}

    return EngineAPIClient


def _tls_config(endpoint: Endpoint) -> Any:
    if endpoint.tls is None or endpoint.scheme == "unix":
        return None
    import docker.tls

    tls = endpoint.tls
    return docker.tls.TLSConfig(client_cert=tls.client_cert, ca_cert=tls.ca if tls.verify else None, verify=tls.verify)


class Container:
    """One container, seen through the questions the checks ask of it."""

    def __init__(self, sdk_container: Any) -> None:
        self._c = sdk_container

    @property
    def id(self) -> str:
        return self._c.id

    def state(self) -> dict[str, Any]:
        """The current State (Running, ExitCode, Health, Pid...)."""
        self._c.reload()
        return self._c.attrs["State"]

    def host_port(self, port: int) -> int | None:
        self._c.reload()
        bindings = ((self._c.attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{port}/tcp") or []
        return int(bindings[0]["HostPort"]) if bindings else None

    def logs(self, tail: int | None = None) -> str:
        raw = self._c.logs(tail=tail) if tail else self._c.logs()
        return raw.decode("utf-8", "replace")

    def stop(self, timeout: int) -> None:
        self._c.stop(timeout=timeout)

    def wait(self, timeout: float) -> int | None:
        return self._c.wait(timeout=timeout).get("StatusCode")

    def published_ports(self) -> set[int]:
        self._c.reload()
        ports = (self._c.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        return {int(b["HostPort"]) for bindings in ports.values() for b in bindings or () if b.get("HostPort")}

    def wait_healthy(self, timeout: float) -> str:
        """Poll until healthy, unhealthy, exited or timeout; returns the last health status."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            status = (state.get("Health") or {}).get("Status", "none") if state.get("Running") else "exited"
            if status in ("healthy", "unhealthy", "exited") or time.monotonic() > deadline:
                return status
            time.sleep(0.5)

    def log_tail(self, lines: int = 20) -> list[str]:
        try:
            return self.logs(tail=lines).splitlines()
        except Exception:  # a container gone meanwhile has no logs to show
            return []

    def follow_logs(self, stream: IO[str]) -> int:
        """Copy the container's new output to stream until it stops; its exit code."""
        for chunk in self._c.logs(stream=True, follow=True, since=int(time.time())):
            stream.write(chunk.decode(errors="replace"))
            stream.flush()
        return int(self._c.wait().get("StatusCode", 0))

    def process_uid(self, pid: int) -> int | None:
        """The UID of process `pid` as `docker top` reports it (when /proc does not show it: a remote engine)."""
        try:
            top = self._c.top(ps_args="-o pid,uid")
        except Exception:  # any failure here means: unknown
            return None
        titles = top.get("Titles") or []
        for row in top.get("Processes") or []:
            record = dict(zip(titles, row, strict=False))
            if record.get("PID") == str(pid) and str(record.get("UID", "")).isdigit():
                return int(record["UID"])
        return None


class Engine:
    """The Docker engine through the SDK. Construction never fails; `ping` says whether it answers."""

    def __init__(self, endpoint: Endpoint | None = None) -> None:
        self.endpoint = endpoint or endpoint_mod.current()
        self.host = self.endpoint.host
        self._client: Any = None

    @property
    def _sdk(self) -> Any:
        if self._client is None:
            self._client = sdk_client(self.endpoint)
        return self._client

    @property
    def _socket(self) -> str | None:
        """The engine's unix socket, when it has one: then the standard library talks to it (1 ms, no SDK import)."""
        return self.endpoint.socket

    def _get(self, url: str, timeout: float = 60) -> tuple[int, bytes]:
        """GET url over the unix socket: (status, body). An engine that does not answer is EnvironmentProblem."""
        conn = _UnixHTTPConnection(self._socket or "", timeout=timeout)
        try:
            conn.request("GET", url)
            response = conn.getresponse()
            return response.status, response.read()
        except OSError as exc:
            raise self._unreachable(exc) from None
        finally:
            conn.close()

    def ping(self) -> None:
        if self._socket:
            status, _ = self._get("/_ping", timeout=10)
            if status != 200:
                raise self._unreachable(OSError(f"ping answered {status}"))
            return
        import docker

        try:
            self._sdk.ping()
        except (docker.errors.DockerException, OSError) as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: Exception) -> EnvironmentProblem:
        return self.endpoint.unreachable(str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__)

    def info(self) -> dict[str, Any]:
        if self._socket:
            status, body = self._get("/info", timeout=10)
            if status != 200:
                raise self._unreachable(OSError(f"GET /info answered {status}"))
            return json.loads(body)
        return self._sdk.api.info()

    def facts(self, builder_platforms: tuple[str, ...] = ()) -> EngineFacts:
        """What planning needs to know: native platform, image store, and what the builder can run."""
        info = self.info()
        native = f"{info.get('OSType', 'linux')}/{ARCHITECTURES.get(info.get('Architecture', ''), 'amd64')}"
        store = containerd_store(info)
        return EngineFacts(native, builder_platforms or (native,), store)

    # --- images ---

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        if self._socket:  # no SDK import on the build path
            status, body = self._get(f"/images/{urllib.parse.quote(ref, safe='')}/json")
            if status == 404:
                return None
            if status != 200:
                raise CommandFailed(f"inspecting {ref} failed: {body.decode('utf-8', 'replace').strip()[:200]}")
            return json.loads(body)
        import docker

        try:
            return self._sdk.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.DockerException as exc:
            raise self._unreachable(exc) from None

    def history(self, ref: str) -> list[dict[str, Any]]:
        if self._socket:  # no SDK import on the build path
            status, body = self._get(f"/images/{urllib.parse.quote(ref, safe='')}/history")
            if status != 200:
                detail = body.decode("utf-8", "replace").strip()[:200]
                raise CommandFailed(f"reading the history of {ref} failed: {detail}")
            return json.loads(body)
        import docker

        try:
            return self._sdk.api.history(ref)
        except docker.errors.APIError as exc:
            raise CommandFailed(f"reading the history of {ref} failed: {exc.explanation or exc}") from None

    def sized_inspect(self, ref: str) -> dict[str, Any] | None:
        """inspect_image plus the layer history, which holds the unpacked sizes (see report.image_sizes)."""
        data = self.inspect_image(ref)
        if data is None:
            return None
        try:
            return {**data, HISTORY_KEY: self.history(ref)}
        except CommandFailed:  # a foreign platform's image has no unpacked snapshot here: the engine's Size only
            return data

    def image_archive(self, ref: str) -> Any:
        """`docker save` of one image as an iterator of byte chunks (a docker-archive tar)."""
        return self._sdk.api.get_image(ref, chunk_size=1 << 20)

    def remote_digest(self, reference: str) -> str | None:
        """The digest a tag points at in its registry, asked through the engine (its certs.d, its insecure
        loopback rule, the docker config's credentials); None when the registry does not have it."""
        return (self.distribution(reference) or {}).get("Descriptor", {}).get("digest")

    def distribution(self, reference: str) -> dict[str, Any] | None:
        """The engine's view of a pushed tag: its descriptor and the platforms of its index (or None)."""
        import docker

        try:
            return self._sdk.api.inspect_distribution(reference)
        except docker.errors.APIError:
            return None

    def tag(self, source: str, repository: str, tag: str) -> None:
        self._sdk.api.tag(source, repository, tag)

    def remove_tag(self, ref: str) -> None:
        import docker

        with contextlib.suppress(docker.errors.DockerException):
            self._sdk.api.remove_image(ref, noprune=True)

    def push(self, repository: str, tag: str, on_status: Callable[[dict[str, Any]], None]) -> str:
        """Push one tag; the digest pushed (an index's for a multi-platform image). Stream errors raise.

        A registry's transient server error (5xx) is retried twice, a second apart, as docker's own uploads are;
        pushing the same content again is harmless. Anything else fails at once.
        """
        for attempt in range(PUSH_ATTEMPTS):
            try:
                return self._push_once(repository, tag, on_status)
            except CommandFailed as exc:
                if attempt == PUSH_ATTEMPTS - 1 or not TRANSIENT.search(str(exc)):
                    raise
                on_status({"status": f"registry error, retrying: {exc}"})
                time.sleep(1 + attempt)
        raise AssertionError("unreachable")

    def _push_once(self, repository: str, tag: str, on_status: Callable[[dict[str, Any]], None]) -> str:
        import docker

        digest = ""
        try:
            for chunk in self._sdk.api.push(repository, tag=tag, stream=True, decode=True):
                if chunk.get("error"):
                    raise CommandFailed(_push_error(repository, tag, chunk["error"]))
                digest = (chunk.get("aux") or {}).get("Digest") or _status_digest(chunk) or digest
                on_status(chunk)
        except docker.errors.APIError as exc:
            raise CommandFailed(_push_error(repository, tag, exc.explanation or str(exc))) from None
        if not digest:
            raise CommandFailed(f"push of {repository}:{tag} ended without a digest: check the registry")
        return digest

    # --- containers ---

    @contextlib.contextmanager
    def container(self, image: str, *, start: bool = True, **kwargs: Any) -> Iterator[Container]:
        """A container (started unless start=False) that is removed on leaving the block, whatever happened.

        create + start rather than run: a failed start would leave the created container behind.
        """
        import docker

        try:
            sdk_container = self._sdk.containers.create(image, **kwargs)
        except docker.errors.APIError as exc:
            raise CommandFailed(f"could not create a container of {image}: {exc.explanation or exc}") from None
        try:
            if start:
                sdk_container.start()
            yield Container(sdk_container)
        finally:
            with contextlib.suppress(docker.errors.DockerException):
                sdk_container.remove(force=True)

    def find_container(self, name: str) -> Container | None:
        import docker

        try:
            return Container(self._sdk.containers.get(name))
        except docker.errors.NotFound:
            return None

    def labelled_containers(self, label: str, *, running_only: bool = False) -> list[Container]:
        return [Container(c) for c in self._sdk.containers.list(all=not running_only, filters={"label": label})]

    def published_ports(self, label: str) -> set[int]:
        """Host ports published by the running containers with this label (a Compose project's own)."""
        return set().union(*(c.published_ports() for c in self.labelled_containers(label, running_only=True)))

    def path_exists(self, container: Container, path: str) -> bool:
        """Whether `path` (a file, directory or symlink) exists in a container's filesystem."""
        import docker

        try:
            stream, _ = self._sdk.api.get_archive(container.id, path)
        except docker.errors.NotFound:
            return False
        for _ in stream:  # drain it, so the connection goes back to the pool
            pass
        return True

    def wait_removed(self, container_id: str, timeout: float = 10) -> None:
        """Block until a container is gone (after `docker run --rm` ends)."""
        import docker

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._sdk.api.inspect_container(container_id)
            except docker.errors.NotFound:
                return
            time.sleep(0.1)


def _status_digest(chunk: dict[str, Any]) -> str:
    match = PUSHED_DIGEST.search(chunk.get("status") or "")
    return match.group(1) if match else ""


def _push_error(repository: str, tag: str, error: str) -> str:
    host = repository.split("/", 1)[0]
    hint = "check the registry and try again"
    lowered = error.lower()
    if "no basic auth credentials" in lowered or "unauthorized" in lowered or "authentication required" in lowered:
        hint = f"log in first: invoke login (docker login {host})"
    elif "connection refused" in lowered or "no such host" in lowered or "timeout" in lowered:
        hint = f"the registry {host} is not reachable: is it running?"
    return f"push of {repository}:{tag} failed: {error.strip()}; {hint}"
