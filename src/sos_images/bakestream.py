"""BuildKit's `--progress=rawjson` stream of one `docker buildx bake`, split per target. Pure.

bake names every vertex `[<target> <stage> n/m] ...` (or `[<target> internal] ...`, `[<target>] exporting`);
a step that several targets share is one vertex digest that BuildKit reports under each target's name, so
each target's log and state gets it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

VERTEX_NAME = re.compile(r"^\[(?P<target>[A-Za-z0-9_-]+)(?:\s+(?P<step>[^\]]*))?\]\s*(?P<rest>.*)$")
STEP_COUNT = re.compile(r"\s(\d+)/(\d+)$")


def objects(text: str) -> Iterator[dict]:
    """The JSON objects of a rawjson stream (buildx writes them pretty-printed, one after another)."""
    decoder, i = json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return
        obj, i = decoder.raw_decode(text, i)
        yield obj


@dataclass
class TargetState:
    """What one target's vertices say so far: steps seen, done, cached, the current step, an error."""

    name: str
    steps: dict[str, str] = field(default_factory=dict)  # digest -> title
    done: set[str] = field(default_factory=set)
    cached: set[str] = field(default_factory=set)
    current: str = ""
    error: str = ""

    @property
    def total(self) -> int:
        return len(self.steps)


def split_name(name: str) -> tuple[str, str] | None:
    """'[dev builder 7/7] RUN go build' -> ('dev', '[builder 7/7] RUN go build'); None for bake's own steps."""
    match = VERTEX_NAME.match(name)
    if not match or (match.group("target") == "internal" and not match.group("step")):
        return None
    step = match.group("step")
    title = f"[{step}] {match.group('rest')}" if step else match.group("rest")
    return match.group("target"), title


class Progress:
    """Folds rawjson objects into one TargetState per target."""

    def __init__(self, targets: Iterable[str]) -> None:
        self.targets = {name: TargetState(name) for name in targets}

    def feed(self, obj: dict) -> None:
        for vertex in obj.get("vertexes") or []:
            split = split_name(vertex.get("name", ""))
            if split and split[0] in self.targets:
                self._vertex(self.targets[split[0]], vertex, split[1])

    def _vertex(self, state: TargetState, vertex: dict, title: str) -> None:
        digest = vertex["digest"]
        state.steps[digest] = title
        if vertex.get("cached"):
            state.cached.add(digest)
        if vertex.get("error"):
            state.error = f"{title} failed: {vertex['error']}"
        if vertex.get("completed") or vertex.get("cached"):
            state.done.add(digest)
        elif vertex.get("started"):
            state.current = title
