"""The TLS registry fixture's CA entries: a killed run's are swept, live and foreign ones stay (no Docker)."""

import os
from pathlib import Path

from tests.integration.registry import CERTS_MARKER, sweep_stale_certs


def _entry(root: Path, name: str, pid: str | None) -> Path:
    entry = root / name
    entry.mkdir()
    (entry / "ca.crt").write_text("x")
    if pid is not None:
        (entry / CERTS_MARKER).write_text(pid)
    return entry


def test_only_marked_entries_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead = _entry(tmp_path, "127.0.0.1:5001", "999999999")
    live = _entry(tmp_path, "127.0.0.1:5002", str(os.getpid()))
    foreign = _entry(tmp_path, "127.0.0.1:5003", None)
    other_host = _entry(tmp_path, "registry.example:443", "999999999")
    assert sweep_stale_certs(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and foreign.exists() and other_host.exists()
