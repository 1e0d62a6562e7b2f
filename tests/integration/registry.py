"""A real registry for tests: Debian's docker-registry (distribution) on loopback, htpasswd bcrypt auth,
plain HTTP or TLS with a CA made for the test, and an isolated DOCKER_CONFIG."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.conftest import free_port

USER, PASSWORD = "sos-ci", "s3cret-Pa55-for-tests"


@dataclass
class LocalRegistry:
    root: Path
    port: int
    tls: bool
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.root / "config.yml"
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=(self.root / "registry.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError((self.root / "registry.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def skopeo(self, *args: str) -> dict | list:
        tls = [f"--cert-dir={self.root / 'certs.d'}"] if self.tls else ["--tls-verify=false"]
        out = subprocess.run(
            ["skopeo", *args[:1], *tls, f"--creds={USER}:{PASSWORD}", *args[1:]],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return json.loads(out.stdout)

    def tags(self, repository: str) -> list[str]:
        return sorted(self.skopeo("list-tags", f"docker://{self.host}/{repository}")["Tags"])

    def digest(self, reference: str) -> str:
        return self.skopeo("inspect", f"docker://{self.host}/{reference}")["Digest"]


def _make_tls(root: Path, host: str) -> tuple[Path, Path]:
    """A CA made for the test and a server certificate for 127.0.0.1 signed by it."""
    ca_key, ca_crt, key, csr, crt = (root / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=sos-test-ca",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_crt),
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
    ext = root / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca_crt),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(ext),
        "-out",
        str(crt),
    )
    certs = root / "certs.d"
    certs.mkdir()
    shutil.copy(ca_crt, certs / "ca.crt")
    sweep_stale_certs()
    docker_certs = DOCKER_CERTS / host
    docker_certs.mkdir(parents=True, exist_ok=True)
    (docker_certs / CERTS_MARKER).write_text(str(os.getpid()))
    shutil.copy(ca_crt, docker_certs / "ca.crt")
    return crt, key


# dockerd trusts a registry's CA only from /etc/docker/certs.d/<host>/ (it reads the folder per push; the
# alternative, insecure-registries, needs a daemon restart). So the fixture writes there, marks its entries
# with the pid that made them, and removes them on teardown and, for runs that were killed, on start-up.
DOCKER_CERTS = Path("/etc/docker/certs.d")
CERTS_MARKER = ".sos-test-registry"


def sweep_stale_certs(root: Path = DOCKER_CERTS) -> list[Path]:
    """Remove 127.0.0.1:PORT entries this fixture made whose run is gone; others' entries stay."""
    removed = []
    for entry in root.glob("127.0.0.1:*"):
        marker = entry / CERTS_MARKER
        if marker.is_file() and not _alive(marker.read_text().strip()):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def local_registry(root: Path, tls: bool = False) -> Iterator[LocalRegistry]:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    reg = LocalRegistry(root, port, tls)
    htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True)
    (root / "htpasswd").write_text(htpasswd.stdout)
    tls_block = ""
    if tls:
        crt, key = _make_tls(root, reg.host)
        tls_block = f"  tls:\n    certificate: {crt}\n    key: {key}\n"
    (root / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n{tls_block}"
        f"auth:\n  htpasswd:\n    realm: sos-test\n    path: {root / 'htpasswd'}\n"
    )
    config_dir = root / "docker-config"
    config_dir.mkdir()
    reg.env = {
        "DOCKER_CONFIG": str(config_dir),
        "REGISTRY_URL": reg.host,
        "REGISTRY_USER": USER,
        "REGISTRY_PASSWORD": PASSWORD,
    }
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()
        _untag_local(reg.host)
        if tls:
            shutil.rmtree(DOCKER_CERTS / reg.host, ignore_errors=True)


def _untag_local(host: str) -> None:
    """The tags pushes made under this registry's name: gone with it, so test runs do not pile up tags."""
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, check=False
    )
    tags = [t for t in listed.stdout.split() if t.startswith(f"{host}/")]
    if tags:
        subprocess.run(["docker", "rmi", "--force", *tags], capture_output=True, check=False)


def env_without_credentials(reg: LocalRegistry) -> dict[str, str]:
    return {k: v for k, v in {**os.environ, **reg.env}.items() if k not in ("REGISTRY_USER", "REGISTRY_PASSWORD")}
