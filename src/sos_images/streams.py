"""A byte-chunk iterator (a `docker save` stream) as a readable file, so tarfile can stream it."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any


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
