"""The one Docker engine endpoint, resolved once the way the docker CLI does it.

Order (docker CLI's `resolveContextName` and `resolveDockerEndpoint`): `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` /
`DOCKER_CERT_PATH`), then `DOCKER_CONTEXT`, then `currentContext` in `$DOCKER_CONFIG/config.json`, then the
default socket. A context's endpoint is in `contexts/meta/<sha256 of name>/meta.json`, its TLS material in
`contexts/tls/<sha256 of name>/docker/`. The process runner, the SDK client and the unix-socket shortcut all take
this one Endpoint; nothing else reads DOCKER_HOST. Reading files only: no engine is contacted here.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentProblem, UsageError

DEFAULT_HOST = "unix:///var/run/docker.sock"
SWITCH = "switch with `docker context use default` (or set DOCKER_CONTEXT / DOCKER_HOST)"
# What the docker CLI and the Go tools built on its client library (dive, syft, trivy) read.
ENGINE_ENV = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS", "DOCKER_CONTEXT")
# Programs that speak the docker CLI's context language; other engine clients get DOCKER_HOST and friends.
CONTEXT_AWARE = ("docker", "docker-compose")
ENGINE_CLIENTS = (*CONTEXT_AWARE, "dive", "syft", "trivy")


@dataclass(frozen=True)
class TLS:
    """Client TLS for a tcp endpoint: files in a docker cert dir (ca.pem, cert.pem, key.pem), any may be absent."""

    cert_dir: str
    verify: bool

    def file(self, name: str) -> str | None:
        path = Path(self.cert_dir) / name
        return str(path) if path.is_file() else None

    @property
    def ca(self) -> str | None:
        return self.file("ca.pem")

    @property
    def client_cert(self) -> tuple[str, str] | None:
        cert, key = self.file("cert.pem"), self.file("key.pem")
        return (cert, key) if cert and key else None


@dataclass(frozen=True)
class Endpoint:
    host: str  # unix:///…, tcp://host:port, ssh://user@host, npipe://…
    context: str = "default"
    source: str = "default socket"  # where it came from, for messages and `doctor`
    tls: TLS | None = None

    @property
    def scheme(self) -> str:
        return urllib.parse.urlsplit(self.host).scheme

    @property
    def socket(self) -> str | None:
        """The unix socket path, when the endpoint is one (the standard-library shortcut serves only these)."""
        return self.host.removeprefix("unix://") if self.scheme == "unix" else None

    @property
    def hostname(self) -> str:
        return urllib.parse.urlsplit(self.host).hostname or ""

    @property
    def remote(self) -> bool:
        """On another machine: its published ports and bind mounts are that machine's, not this one's."""
        return self.scheme in ("tcp", "ssh", "http", "https") and not _loopback(self.hostname)

    @property
    def probe_host(self) -> str:
        """Where a published port is reached from here: the engine's host when remote, else loopback."""
        return self.hostname if self.remote else "127.0.0.1"

    @property
    def publish_address(self) -> str:
        """The host address a probed port is published on: loopback locally; all of the engine host's addresses
        when remote (its loopback is not reachable from here)."""
        return "0.0.0.0" if self.remote else "127.0.0.1"

    def describe(self) -> str:
        where = "remote" if self.remote else "local"
        return f"{self.host} ({where}; docker context {self.context!r}, from {self.source})"

    def tls_summary(self) -> str:
        if not self.tls:
            return "none" if self.scheme != "unix" else "none (unix socket)"
        return f"{'verified' if self.tls.verify else 'not verified'}, certs in {self.tls.cert_dir}"

    def env_for(self, program: str) -> dict[str, str | None]:
        """The engine settings a child process gets (None: remove it). The docker CLI and Compose get the context
        itself, so buildx keeps that context's builders; other engine clients get host and TLS."""
        name = Path(program).name
        if name not in ENGINE_CLIENTS:
            return {}
        env: dict[str, str | None] = dict.fromkeys(ENGINE_ENV)
        if name in CONTEXT_AWARE and self.context != "default":
            return env | {"DOCKER_CONTEXT": self.context}
        env["DOCKER_HOST"] = self.host
        if self.tls:
            env["DOCKER_CERT_PATH"] = self.tls.cert_dir
            env["DOCKER_TLS_VERIFY" if self.tls.verify else "DOCKER_TLS"] = "1"
        return env

    def refuse_source_mounts(self, what: str, instead: str) -> None:
        """Bind mounts name the engine host's files: sources from this machine are not there on a remote engine."""
        if self.remote:
            raise UsageError(
                f"{what} bind-mounts sources from this machine, which the remote engine at {self.host} "
                f"(docker context {self.context!r}) cannot see: {instead}, or use a local engine"
            )

    def unreachable(self, reason: str) -> EnvironmentProblem:
        if self.context != "default":
            return EnvironmentProblem(
                f"docker context {self.context!r} (from {self.source}) points at {self.host}, which does not "
                f"answer ({reason}): start that engine, or {SWITCH}"
            )
        return EnvironmentProblem(
            f"Docker engine not reachable at {self.host} (from {self.source}; {reason}): start dockerd "
            "(scripts/bootstrap-engine.sh), set DOCKER_HOST, or choose a context (docker context use NAME)"
        )


def _loopback(hostname: str) -> bool:
    if hostname in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def config_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("DOCKER_CONFIG") or Path(environ.get("HOME") or "~").expanduser() / ".docker")


def resolve(environ: Mapping[str, str]) -> Endpoint:
    """The endpoint the docker CLI would use in this environment. A named context that does not exist or cannot
    be read raises EnvironmentProblem naming it and how to switch."""
    config = config_dir(environ)
    if environ.get("DOCKER_HOST"):
        return Endpoint(environ["DOCKER_HOST"], "default", "DOCKER_HOST", _env_tls(environ, config))
    name, source = environ.get("DOCKER_CONTEXT", ""), "DOCKER_CONTEXT"
    if not name:
        name, source = _current_context(config), f"currentContext in {config / 'config.json'}"
    if not name or name == "default":
        return Endpoint(DEFAULT_HOST, "default", "default socket", _env_tls(environ, config))
    return _context(config, name, source)


def _env_tls(environ: Mapping[str, str], config: Path) -> TLS | None:
    verify = bool(environ.get("DOCKER_TLS_VERIFY"))
    if not (verify or environ.get("DOCKER_TLS")):
        return None
    return TLS(environ.get("DOCKER_CERT_PATH") or str(config), verify)


def _current_context(config: Path) -> str:
    path = config / "config.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("currentContext") or "")
    except FileNotFoundError:
        return ""
    except (OSError, ValueError, AttributeError) as exc:
        raise EnvironmentProblem(f"{path} cannot be read ({exc}): fix or remove it") from None


def _context(config: Path, name: str, source: str) -> Endpoint:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest / "meta.json"
    try:
        docker = json.loads(meta.read_text(encoding="utf-8"))["Endpoints"]["docker"]
        host = docker["Host"]
    except FileNotFoundError:
        raise EnvironmentProblem(
            f"docker context {name!r} (from {source}) does not exist (`docker context ls` lists them): {SWITCH}"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EnvironmentProblem(f"docker context {name!r} ({meta}) cannot be read ({exc}): {SWITCH}") from None
    tls_dir = config / "contexts" / "tls" / digest / "docker"
    tls = TLS(str(tls_dir), not docker.get("SkipTLSVerify")) if tls_dir.is_dir() else None
    return Endpoint(host, name, source, tls)


@functools.cache
def _current(frozen: tuple[tuple[str, str], ...]) -> Endpoint:
    return resolve(dict(frozen))


def current(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint of this process (resolved once per environment)."""
    env = os.environ if environ is None else environ
    return _current(tuple((k, env[k]) for k in (*ENGINE_ENV, "DOCKER_CONFIG", "HOME") if k in env))
