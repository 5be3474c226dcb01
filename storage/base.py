"""The object-store contract shared by every backend, and the key rules they all enforce."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Protocol, runtime_checkable

MAX_KEY_LENGTH = 512

# Streaming reads hand out pieces of this size: large enough to keep per-chunk overhead
# low, small enough that a 20 MB photo never sits in memory whole.
READ_CHUNK_SIZE = 1024 * 1024

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


@runtime_checkable
class ObjectStore(Protocol):
    """A flat namespace of immutable-per-write byte objects addressed by validated keys."""

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        """Store ``data`` under ``key``, replacing any previous object; file objects stream."""
        ...

    def get(self, key: str) -> bytes:
        """Return the whole object; raise ObjectNotFound if it does not exist."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """Return the object as chunks; raise ObjectNotFound at the call if it is missing.

        The iterator holds a file or connection open until it is exhausted; a caller
        that stops early should call its ``close()`` (it is a generator).
        """
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under ``key``."""
        ...


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe relative object key, else raise ValueError."""
    if not isinstance(key, str):
        raise ValueError("object key must be a string")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"object key must be 1 to {MAX_KEY_LENGTH} characters long")
    for segment in key.split("/"):
        # An empty segment also catches a leading '/', a trailing '/' and '//'.
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise ValueError(
                "object key must be '/'-separated segments of [A-Za-z0-9._-], "
                "without empty, '.' or '..' segments"
            )
    return key


def read_fully(source: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, looping over short reads; return fewer only at end of stream."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
