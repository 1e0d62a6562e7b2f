"""Which engine, endpoint, context and builder the tasks will use, and what works against a remote engine."""

from __future__ import annotations

from typing import Any

from . import endpoint as endpoint_mod
from . import process
from .endpoint import Endpoint
from .engine import Engine, containerd_store
from .errors import ToolError
from .report import Reporter

REMOTE_OK = "build, build-all, push, publish, verify, scan, sbom, layers, sign, attest, login, compose"


def endpoint_facts(ep: Endpoint) -> dict[str, Any]:
    """What is known without asking the engine: where it is and how it was chosen."""
    facts = {"endpoint": ep.host, "context": ep.context, "source": ep.source, "tls": ep.tls_summary()}
    return facts | {"remote": ep.remote, "remote_tasks": remote_note(ep) if ep.remote else ""}


def remote_note(ep: Endpoint) -> str:
    return (
        f"remote engine on {ep.hostname}: {REMOTE_OK} work; verify probes {ep.hostname}; run and up --production "
        f"publish ports on {ep.hostname}'s loopback; up (development) and run of a Node development image are "
        "refused: they bind-mount sources from this machine"
    )


def engine_facts(engine: Engine) -> dict[str, Any]:
    info = engine.info()
    store = "containerd" if containerd_store(info) else info.get("Driver", "?")
    return {
        "version": info.get("ServerVersion", "?"),
        "os": f"{info.get('OperatingSystem', '?')} ({info.get('OSType', 'linux')}/{info.get('Architecture', '?')})",
        "store": store,
        "rootless": "name=rootless" in (info.get("SecurityOptions") or []),
    }


def builder_facts(builder: str | None) -> dict[str, Any]:
    fields = process.buildx_inspect(builder)
    if not fields:
        return {"builder": builder or "", "driver": "", "note": "no buildx builder answered (docker buildx ls)"}
    return {
        "builder": fields.get("Name", builder or ""),
        "driver": fields.get("Driver", ""),
        "builder_endpoint": fields.get("Endpoint", ""),
        "platforms": process.builder_platforms(builder),
    }


def diagnose(out: Reporter, builder: str | None = None) -> dict[str, Any]:
    """Resolve the endpoint, ask the engine and the builder; print and return the facts. An engine that does not
    answer raises after the endpoint lines are shown (exit 3)."""
    ep = endpoint_mod.current()
    facts = endpoint_facts(ep)
    engine = Engine(ep)
    try:
        engine.ping()
        facts |= {"engine": engine_facts(engine), **builder_facts(builder)}
    except ToolError:
        show(facts, out)
        raise
    show(facts, out)
    return facts


def show(facts: dict[str, Any], out: Reporter) -> None:
    if out.json_mode:
        out.emit_json(facts)
        return
    out.fields(lines(facts), level="ENGINE")
    if facts["remote"]:
        out.warn(facts["remote_tasks"])


def lines(facts: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("Endpoint", f"{facts['endpoint']} ({'remote' if facts['remote'] else 'local'})"),
        ("Context", f"{facts['context']} (from {facts['source']})"),
        ("TLS", facts["tls"]),
    ]
    if "engine" in facts:
        e = facts["engine"]
        rows += [("Engine", f"Docker Engine {e['version']}, {e['os']}" + (", rootless" if e["rootless"] else ""))]
        rows += [("Image store", e["store"])]
    if "builder" in facts:
        driver = f" ({facts['driver']} driver)" if facts["driver"] else ""
        platforms = ", ".join(facts.get("platforms", ())) or facts.get("note", "")
        rows += [("Builder", f"{facts['builder'] or '?'}{driver}: {platforms}")]
    return rows
