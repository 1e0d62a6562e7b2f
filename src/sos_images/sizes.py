"""An image's two sizes, from the engine's inspect and history (pure).

download: the compressed layers, what a pull transfers. unpacked: the uncompressed layers, what the image
takes on disk once pulled; size budgets mean this one. On the containerd image store the engine's inspect
`Size` is the image's content (compressed layers plus its few-kB manifest and config) and each history
entry's `Size` is that layer's unpacked snapshot. On the classic store both are unpacked, and the download
size is not known locally (None).
"""

from __future__ import annotations

from typing import Any

HISTORY_KEY = "SosHistory"  # where Engine.sized_inspect puts the history next to the inspect fields


def image_sizes(data: dict[str, Any]) -> tuple[int | None, int]:
    """(download, unpacked) bytes; without a history, the engine's Size stands for both it can."""
    content = int(data.get("Size") or 0)
    history = data.get(HISTORY_KEY)
    if not history:
        return None, content
    unpacked = sum(max(int(entry.get("Size") or 0), 0) for entry in history)
    if unpacked > content:
        return content, unpacked
    return None, content  # classic store: Size is already the unpacked figure
