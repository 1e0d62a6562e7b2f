"""What happened, for people (coloured levels like the seed's scripts) and for CI (--json)."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

from .sizes import image_sizes

LEVEL_STYLES = {"INFO": "blue", "BUILD": "magenta", "SUCCESS": "green", "WARNING": "yellow", "ERROR": "red"}
RULE = "=" * 67
# Text that rich prints unchanged where it does not style, but for its :emoji: codes: no bracket or backslash
# (markup, and its escapes, split the text where emoji codes are looked for), no tab (expanded), no control
# code (some are stripped).
PLAIN_TEXT = re.compile(r"[^\[\\\x00-\x1f\x7f]*")
PLAIN_LEVEL = re.compile(r"[A-Za-z]+")
EMOJI_CODE = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")  # rich's own pattern
NO_EMOJI = re.compile(r"\d\d")  # no emoji is named with two digits, as the ':46:' of a time is


class Reporter:
    """Levelled lines. With json=True everything human goes to stderr and stdout holds only the JSON.

    rich styles the lines on a terminal. Elsewhere (a pipe, a file, CI's log) it would print them unstyled, so
    there the Reporter writes them itself, byte for byte as rich would, and rich (~20 ms to import) is loaded
    only for a table or for a line whose text rich could change (brackets, backslashes, tabs, control codes).
    """

    def __init__(self, json_mode: bool = False, stream: IO[str] | None = None) -> None:
        self.json_mode = json_mode
        self.stream = stream or (sys.stderr if json_mode else sys.stdout)
        self._console: Any = None
        self._plain = not _styled(self.stream)
        if not self._plain:  # load rich in the background while the caller plans (git, engine facts)
            threading.Thread(target=importlib.import_module, args=("rich.console",), daemon=True).start()

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console  # lazy: rich costs import time

            self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
        return self._console

    def line(self, level: str, text: str) -> None:
        if self._plain and PLAIN_LEVEL.fullmatch(level) and PLAIN_TEXT.fullmatch(text):
            self.stream.write(f"[{level}] {_emoji(text)}\n")
            self.stream.flush()
            return
        style = LEVEL_STYLES.get(level, "white")
        self.console.print(f"[{style}]\\[{level}][/{style}] {_escape(text)}")

    def info(self, text: str) -> None:
        self.line("INFO", text)

    def success(self, text: str) -> None:
        self.line("SUCCESS", text)

    def warn(self, text: str) -> None:
        self.line("WARNING", text)

    def error(self, text: str) -> None:
        self.line("ERROR", text)

    def rule(self, title: str | None = None) -> None:
        self.info(RULE)
        if title:
            self.info(title)
            self.info(RULE)

    def fields(self, pairs: Iterable[tuple[str, Any]], level: str = "INFO") -> None:
        for key, value in pairs:
            self.line(level, f"{key + ':':<14}{value}")

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_escape(str(cell)) for cell in row))
        self.console.print(table)

    def emit_json(self, payload: Any) -> None:
        print(json.dumps(payload, indent=2, sort_keys=False, default=str), file=sys.stdout, flush=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _styled(stream: IO[str]) -> bool:
    """Whether rich may style what it prints to stream (rich's own test, erring towards yes): a terminal, colour
    forced by the environment, or a notebook."""
    if "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ or "IPython" in sys.modules:
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream: rich says "not a terminal" too
        return False


def _emoji(text: str) -> str:
    """rich's :emoji: codes, replaced as its markup does. Its table (3 ms to load) is read only when a code
    could be in it: not for the times of a build report."""
    if all(NO_EMOJI.fullmatch(code.group(2)) for code in EMOJI_CODE.finditer(text)):
        return text
    from rich._emoji_replace import _emoji_replace

    return _emoji_replace(text)


def human_size(size: int) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f}{unit}"
    return f"{size}B"


def size_text(download: int | None, unpacked: int) -> str:
    """'56.0MB download, 134.2MB unpacked' (download left out where the engine can't tell it)."""
    text = f"{human_size(unpacked)} unpacked"
    return text if download is None else f"{human_size(download)} download, {text}"


@dataclass(frozen=True)
class ImageReport:
    image: str
    id: str
    size: int  # the engine's own Size: download on the containerd store, unpacked on the classic one
    layers: int
    user: str
    ports: tuple[str, ...]
    healthcheck: tuple[str, ...]
    labels: dict[str, str]
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    download: int | None = None  # compressed layers (what a pull transfers); None where the engine can't tell
    unpacked: int = 0  # uncompressed layers; size budgets apply to this

    @classmethod
    def from_inspect(cls, image: str, data: dict[str, Any]) -> ImageReport:
        config = data.get("Config") or {}
        download, unpacked = image_sizes(data)
        return cls(
            image=image,
            id=data.get("Id", ""),
            size=int(data.get("Size", 0)),
            layers=len((data.get("RootFS") or {}).get("Layers") or []),
            user=config.get("User") or "root",
            ports=tuple(sorted(config.get("ExposedPorts") or {})),
            healthcheck=tuple((config.get("Healthcheck") or {}).get("Test") or ()),
            labels=dict(config.get("Labels") or {}),
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            download=download,
            unpacked=unpacked,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["download"], data["unpacked"]
        data["size_human"] = human_size(self.size)
        data["download_bytes"], data["unpacked_bytes"] = self.download, self.unpacked
        return data

    def size_text(self) -> str:
        return size_text(self.download, self.unpacked)

    def health_text(self) -> str:
        test = list(self.healthcheck)
        if not test or test == ["NONE"]:
            return "none"
        return " ".join(test[1:]) if test[0] in ("CMD", "CMD-SHELL") else " ".join(test)
