"""An extra dockerd 26 for tests that need an engine other than this machine's: its own data root, exec root,
socket, containerd and bridge (a second daemon on docker0 would take it over); removed afterwards."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.integration.conftest import RUN_ID

ENGINE_BIN = Path(os.environ.get("SOS_ENGINE_DIR", "/opt/sos-engine")) / "bin"


@contextlib.contextmanager
def second_engine(root: Path, name: str = "run", extra: Sequence[str] = ()) -> Iterator[dict[str, str]]:
    """Another dockerd on unix://root/docker.sock (plus whatever `extra` flags add, e.g. a TLS tcp listener);
    yields {"DOCKER_HOST": that socket}."""
    bridge = f"sos{name[:3]}{RUN_ID[:6]}"
    sock, exec_root = root / "docker.sock", Path(f"/run/sos-{name}-{RUN_ID}")
    (root / "daemon.json").write_text('{"features": {"containerd-snapshotter": true}}')
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    argv = [
        str(ENGINE_BIN / "dockerd"), "--config-file", str(root / "daemon.json"), "--data-root", str(root / "data"),
        "--exec-root", str(exec_root), "--pidfile", str(root / "docker.pid"), "-H", f"unix://{sock}",
        "--bridge", bridge, "--iptables=false", "--ip-masq=false", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PATH": f"{ENGINE_BIN}:{os.environ['PATH']}"}
    proc = subprocess.Popen(argv, env=env, stdout=(root / "dockerd.log").open("w"), stderr=subprocess.STDOUT)
    host = {"DOCKER_HOST": f"unix://{sock}"}
    try:
        _wait_ready(host, proc, root / "dockerd.log")
        yield host
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        shutil.rmtree(root / "data", ignore_errors=True)
        shutil.rmtree(exec_root, ignore_errors=True)


def make_tls(folder: Path, ips: Sequence[str] = ("127.0.0.1",)) -> tuple[Path, Path]:
    """A CA, a server certificate for these IP addresses and a client certificate, as `dockerd --tlsverify` and
    DOCKER_CERT_PATH want them: (server dir with ca/cert/key.pem, client dir with ca/cert/key.pem)."""
    server, client = folder / "server", folder / "client"
    server.mkdir(parents=True)
    client.mkdir()
    ca_key, ca = folder / "ca-key.pem", folder / "ca.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sos test CA",
             "-keyout", ca_key, "-out", ca)  # fmt: skip
    for where, subject, ext in (
        (server, f"/CN={ips[0]}", f"subjectAltName={','.join(f'IP:{ip}' for ip in ips)}\nextendedKeyUsage=serverAuth"),
        (client, "/CN=sos test client", "extendedKeyUsage=clientAuth"),
    ):
        (folder / "ext.cnf").write_text(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", where / "key.pem",
                 "-out", folder / "req.csr")  # fmt: skip
        _openssl("x509", "-req", "-in", folder / "req.csr", "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-days", "2", "-extfile", folder / "ext.cnf", "-out", where / "cert.pem")  # fmt: skip
        shutil.copy(ca, where / "ca.pem")
    return server, client


def _openssl(*args: object) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


ROOTLESS_USER = "sos-rootless"  # made by scripts/bootstrap-engine.sh, with subordinate UIDs


@contextlib.contextmanager
def rootless_engine() -> Iterator[str]:
    """Rootless Docker (dockerd-rootless.sh: rootlesskit, slirp4netns, the overlay2 store) run by an unprivileged
    user; yields its socket path. This machine's /dev/net/tun is root-only (0600, where Debian's udev makes it
    0666), so the daemon runs in a private mount namespace with a 0666 node of the same device over it."""
    missing = [
        p for p in ("rootlesskit", "rootlesskit-docker-proxy", "dockerd-rootless.sh") if not (ENGINE_BIN / p).exists()
    ]
    have_user = subprocess.run(["id", "-u", ROOTLESS_USER], capture_output=True).returncode == 0
    assert have_user and not missing, (
        f"rootless Docker needs scripts/bootstrap-engine.sh (missing: {missing or ROOTLESS_USER})"
    )
    home = Path(tempfile.mkdtemp(prefix="sos-rootless-"))
    home.chmod(0o755)
    run = home / "run"
    run.mkdir(mode=0o700)
    shutil.chown(run, ROOTLESS_USER, ROOTLESS_USER)
    subprocess.run(["mknod", "-m", "666", str(home / "tun"), "c", "10", "200"], check=True)
    daemon = (
        f"export XDG_RUNTIME_DIR={run} HOME={run} PATH={ENGINE_BIN}:/usr/sbin:/usr/bin:/sbin:/bin; "
        f"exec dockerd-rootless.sh --data-root {run}/data --exec-root {run}/exec -H unix://{run}/docker.sock "
        "--iptables=false"
    )
    script = f"mount --bind {home}/tun /dev/net/tun && exec su -s /bin/sh {ROOTLESS_USER} -c {shlex.quote(daemon)}"
    log = (home / "dockerd.log").open("w")
    proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    try:
        _wait_ready({"DOCKER_HOST": f"unix://{run}/docker.sock"}, proc, home / "dockerd.log")
        yield f"{run}/docker.sock"
    finally:
        _stop_group(proc)
        shutil.rmtree(home, ignore_errors=True)


def _wait_ready(host: dict[str, str], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while subprocess.run(["docker", "info"], env={**os.environ, **host}, capture_output=True).returncode:
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.5)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the session this fixture started (su, rootlesskit, dockerd, containerd), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
