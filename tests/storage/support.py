"""Test streams: large inputs made on demand, and inputs that fail part-way."""

from __future__ import annotations

import hashlib
import io
import random
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class SourceBroke(Exception):
    """Raised by a test stream to stand in for a client that went away mid-upload."""


class GeneratedStream(io.RawIOBase):
    """``size`` pseudo-random bytes produced as they are read, never held whole.

    Reads return at most ``piece`` bytes, like a socket, and the stream records the
    largest read it was asked for, so tests can prove a store streamed it.
    """

    def __init__(
        self, size: int, *, seed: int = 0, piece: int = 64 * 1024, fail_after: int | None = None
    ) -> None:
        super().__init__()
        self.remaining = size
        self.produced = 0
        self.largest_request = 0
        self.digest = hashlib.sha256()
        self._random = random.Random(seed)
        self._piece = piece
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        self.largest_request = max(self.largest_request, len(target))
        if self._fail_after is not None and self.produced >= self._fail_after:
            raise SourceBroke("the test stream broke on purpose")
        count = min(len(target), self.remaining, self._piece)
        data = self._random.randbytes(count)
        target[:count] = data
        self.remaining -= count
        self.produced += count
        self.digest.update(data)
        return count

    def readall(self) -> bytes:
        raise AssertionError("the store asked for the whole stream at once")

    def as_binary(self) -> BinaryIO:
        """This stream, typed as the binary file the store APIs take."""
        return cast("BinaryIO", self)


def pseudo_random(size: int, seed: int = 1) -> bytes:
    """Incompressible test bytes, reproducible from ``seed``."""
    return random.Random(seed).randbytes(size)
