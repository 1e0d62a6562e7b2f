"""`layers`: what dive shows in its CI mode, from the image's own `docker save` archive.

Each layer's size and the instruction that made it; bytes wasted by files that a later layer overwrites
or deletes (whiteouts `.wh.<name>`, opaque directories `.wh..wh..opq`); an efficiency figure. Unlike
dive, which counts every copy of a path seen in two layers, only the hidden copies count as wasted, so
the figure is what a rebuild could save.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from ..catalog import Catalog
from ..engine import Engine
from ..errors import CheckFailed, UsageError
from ..report import Reporter, human_size
from . import ImageRef, parse_size, require_image, section

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
GZIP = b"\x1f\x8b"
DEFAULTS = {"max-wasted-bytes": "10MB", "min-efficiency": 0.95}


@dataclass(frozen=True)
class Entry:
    path: str
    size: int = 0
    kind: str = "file"  # file, dir, link, whiteout (path = the deleted path), opaque (path = the directory)
    executable: bool = False
    head: bytes = b""  # first bytes of executables, when asked for


@dataclass(frozen=True)
class Waste:
    path: str
    size: int
    layer: int
    how: str  # "overwritten" or "deleted"


@dataclass
class Analysis:
    layer_sizes: list[int]
    wasted_by_layer: list[int]
    waste: list[Waste] = field(default_factory=list)
    final: dict[str, tuple[int, Entry]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.layer_sizes)

    @property
    def wasted(self) -> int:
        return sum(self.wasted_by_layer)

    @property
    def efficiency(self) -> float:
        return 1.0 if self.total == 0 else 1 - self.wasted / self.total


# --- Reading a docker-archive (or OCI layout) tar stream --------------------------------------------


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks, so tarfile can stream `docker save`."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


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


# --- Analysis (pure) ---------------------------------------------------------------------------------


def analyze(layers: list[list[Entry]]) -> Analysis:
    """Stack the layers; every byte a later layer hides is wasted and charged to the layer that stored it."""
    result = Analysis([sum(e.size for e in entries) for entries in layers], [0] * len(layers))
    for index, entries in enumerate(layers):
        # OCI: whiteouts apply to the lower layers only, so deletions go first
        for entry in entries:
            if entry.kind == "whiteout":
                _hide(result, entry.path, include_self=True)
            elif entry.kind == "opaque":
                _hide(result, entry.path, include_self=False)
        for entry in entries:
            if entry.kind not in ("whiteout", "opaque"):
                _add(result, index, entry)
    return result


def _add(result: Analysis, index: int, entry: Entry) -> None:
    previous = result.final.get(entry.path)
    if previous is not None and previous[0] != index:
        if previous[1].kind == "dir" and entry.kind != "dir":
            _hide(result, entry.path, include_self=False)
        _charge(result, entry.path, previous, "overwritten")
    result.final[entry.path] = (index, entry)


def _hide(result: Analysis, path: str, include_self: bool) -> None:
    prefix = f"{path}/" if path else ""
    doomed = [p for p in result.final if p.startswith(prefix) or (include_self and p == path)]
    for hidden in doomed:
        _charge(result, hidden, result.final.pop(hidden), "deleted")


def _charge(result: Analysis, path: str, previous: tuple[int, Entry], how: str) -> None:
    layer, entry = previous
    if entry.size:
        result.wasted_by_layer[layer] += entry.size
        result.waste.append(Waste(path, entry.size, layer, how))


def instructions(config: dict[str, Any], count: int) -> list[str]:
    """The Dockerfile instruction behind each layer: the history entries that made a layer, in order."""
    made = [h.get("created_by", "") for h in config.get("history") or [] if not h.get("empty_layer")]
    made = made[-count:] if len(made) >= count else [""] * (count - len(made)) + made
    return [clean_instruction(text) for text in made]


def clean_instruction(text: str) -> str:
    text = re.sub(r"^/bin/sh -c #\(nop\)\s*", "", text)
    text = re.sub(r"^(RUN )?/bin/sh -c ", "RUN ", text)
    text = re.sub(r"\s*# buildkit$", "", text)
    return " ".join(text.split())


def packed_binaries(analysis: Analysis) -> list[str]:
    """Executables in the final filesystem that carry UPX's magic near their start."""
    return sorted(path for path, (_, e) in analysis.final.items() if e.executable and b"UPX!" in e.head)


# --- Thresholds and the task -------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    max_wasted_bytes: int
    min_efficiency: float

    @classmethod
    def resolve(cls, settings: dict[str, Any], max_wasted: str = "", min_efficiency: str = "") -> Thresholds:
        """Precedence: the task's argument, then [tool.sos-images.layers], then DEFAULTS."""
        wasted_text = max_wasted or settings.get("max-wasted-bytes", DEFAULTS["max-wasted-bytes"])
        wasted = parse_size(wasted_text, "max-wasted-bytes")
        raw = min_efficiency or settings.get("min-efficiency", DEFAULTS["min-efficiency"])
        try:
            efficiency = float(str(raw).rstrip("%")) / (100 if str(raw).endswith("%") else 1)
        except ValueError:
            efficiency = -1.0
        if not 0 <= efficiency <= 1:
            raise UsageError(f"min-efficiency {raw!r} must be between 0 and 1 (e.g. 0.95 or 95%)")
        return cls(wasted, efficiency)

    def problems(self, analysis: Analysis) -> list[str]:
        found = []
        if analysis.wasted > self.max_wasted_bytes:
            found.append(f"{human_size(analysis.wasted)} wasted > {human_size(self.max_wasted_bytes)} allowed")
        if analysis.efficiency < self.min_efficiency:
            found.append(f"efficiency {analysis.efficiency:.2%} < {self.min_efficiency:.2%}")
        return found


def to_dict(ref: ImageRef, analysis: Analysis, commands: list[str], limits: Thresholds) -> dict[str, Any]:
    rows = zip(analysis.layer_sizes, analysis.wasted_by_layer, commands, strict=True)
    return {
        "image": ref.image,
        "layers": [
            {"index": i, "size": size, "wasted": wasted, "created_by": cmd}
            for i, (size, wasted, cmd) in enumerate(rows)
        ],
        "total_bytes": analysis.total,
        "wasted_bytes": analysis.wasted,
        "efficiency": round(analysis.efficiency, 4),
        "wasted_files": [w.__dict__ for w in sorted(analysis.waste, key=lambda w: -w.size)[:20]],
        "thresholds": {"max_wasted_bytes": limits.max_wasted_bytes, "min_efficiency": limits.min_efficiency},
        "problems": limits.problems(analysis),
    }


def layers(
    catalog: Catalog,
    ref: ImageRef,
    out: Reporter,
    *,
    max_wasted: str = "",
    min_efficiency: str = "",
    engine: Engine | None = None,
) -> dict[str, Any]:
    limits = Thresholds.resolve(section(catalog, "layers"), max_wasted, min_efficiency)
    engine = engine or Engine()
    engine.ping()
    require_image(engine, ref)
    config, entries = read_archive(engine.image_archive(ref.image))
    analysis = analyze(entries)
    report = to_dict(ref, analysis, instructions(config, len(entries)), limits)
    show(report, out)
    if report["problems"]:
        raise CheckFailed(f"layers of {ref.image}: {'; '.join(report['problems'])} (see the wasted files above)")
    out.success(f"{ref.image}: efficiency {analysis.efficiency:.2%}, {human_size(analysis.wasted)} wasted")
    return report


def show(report: dict[str, Any], out: Reporter) -> None:
    if out.json_mode:
        out.emit_json(report)
        return
    rows = [
        [r["index"], human_size(r["size"]), human_size(r["wasted"]) if r["wasted"] else "", _cut(r["created_by"])]
        for r in report["layers"]
    ]
    out.table(f"layers of {report['image']}", ["#", "size", "wasted", "instruction"], rows)
    if report["wasted_files"]:
        out.table(
            "largest wasted files",
            ["path", "size", "layer", "how"],
            [[w["path"], human_size(w["size"]), w["layer"], w["how"]] for w in report["wasted_files"][:10]],
        )
    limits = report["thresholds"]
    out.fields(
        [
            ("Total", human_size(report["total_bytes"])),
            ("Wasted", f"{human_size(report['wasted_bytes'])} (limit {human_size(limits['max_wasted_bytes'])})"),
            ("Efficiency", f"{report['efficiency']:.2%} (minimum {limits['min_efficiency']:.0%})"),
        ]
    )


def _cut(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def scan_packed(engine: Engine, image: str) -> list[str]:
    """UPX-packed executables in an image (used by `scan`: Trivy cannot see inside them)."""
    _, entries = read_archive(engine.image_archive(image), head=4096)
    return packed_binaries(analyze(entries))
