"""Envelope encryption at rest over any object store, with SHA-256 checks of the plaintext.

See :mod:`storage.envelope` for the stored format. Objects are encrypted and
decrypted segment by segment, so neither direction holds a whole object in memory.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, BinaryIO

from cryptography.exceptions import InvalidTag

from casebox.errors import IntegrityViolation, StorageError
from storage.base import ObjectStore, read_fully, validate_key
from storage.envelope import HEADER_SIZE, KeyEncryptionKey, SegmentCipher

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class EncryptedStore:
    """Encrypts every object with its own AES-256-GCM key, wrapped by ``data_key``."""

    def __init__(self, inner: ObjectStore, data_key: bytes) -> None:
        self.inner = inner
        self._kek = KeyEncryptionKey(data_key)

    def put(self, key: str, data: bytes | BinaryIO) -> str:
        """Encrypt and store the object; return the hex SHA-256 of its plaintext."""
        validate_key(key)
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        header, cipher = self._kek.new_object(key)
        encryption = _Encryption(header, cipher, source)
        self.inner.put(key, io.BufferedReader(_IteratorReader(encryption.chunks())))
        if encryption.sha256 is None:
            # Every backend reads to the end of the stream; anything else is a bug there,
            # and the object it stored is incomplete.
            raise StorageError(f"the backend stopped reading object {key!r} before its end")
        return encryption.sha256

    def get(self, key: str, *, sha256: str) -> bytes:
        """Return the decrypted object after checking its plaintext SHA-256."""
        return b"".join(self.open(key, sha256=sha256))

    def open(self, key: str, *, sha256: str) -> Iterator[bytes]:
        """Stream the decrypted object; the SHA-256 is checked before the final chunk.

        Every chunk is authenticated before it is yielded, but the whole-object
        checksum can only be known at the end: IntegrityViolation is raised instead of
        the final chunk. A caller that streams to a client has by then sent the
        earlier chunks, so it must buffer, or accept a response cut short. A missing
        object, a wrong data key or a foreign header fail at the call itself.
        """
        validate_key(key)
        expected = _checked_sha256(sha256)
        stored = _ExactReader(self.inner.open(key))
        # Read the header now, so a wrong data key fails before the caller commits to a response.
        try:
            cipher = self._kek.open_object(stored.read(HEADER_SIZE), key)
        except BaseException:
            stored.close()
            raise
        return _verified(key, expected, _decrypted_segments(key, cipher, stored), stored)

    def delete(self, key: str) -> None:
        """Delete the stored object; a missing key is not an error."""
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under ``key``."""
        return self.inner.exists(key)


class _Encryption:
    """Turns a plaintext stream into the stored byte stream, hashing the plaintext on the way."""

    def __init__(self, header: bytes, cipher: SegmentCipher, source: BinaryIO) -> None:
        self._header = header
        self._cipher = cipher
        self._source = source
        self.sha256: str | None = None  # set once the whole plaintext has been encrypted

    def chunks(self) -> Iterator[bytes]:
        """Yield the header, then each sealed segment."""
        yield self._header
        digest = hashlib.sha256()
        size = self._cipher.segment_size
        index = 0
        segment = read_fully(self._source, size)
        while True:
            # Only a full segment can have a successor; read it now to know whether
            # this one is the last, which its seal must say.
            following = read_fully(self._source, size) if len(segment) == size else b""
            last = not following
            digest.update(segment)
            yield self._cipher.seal(index, segment, last=last)
            if last:
                break
            segment, index = following, index + 1
        self.sha256 = digest.hexdigest()


class _IteratorReader(io.RawIOBase):
    """A read-only binary file over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        """Report that this stream can be read."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Copy the next available bytes into ``buffer``; 0 means end of stream."""
        while not self._current:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._current = memoryview(chunk)
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._current))
        target[:count] = self._current[:count]
        self._current = self._current[count:]
        return count


class _ExactReader:
    """Reads exact byte counts from an iterator of arbitrarily sized chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        """Return ``size`` bytes, or fewer only at the end of the stream."""
        while len(self._buffer) < size and self._fill():
            pass
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def at_end(self) -> bool:
        """Tell whether the stream has no more bytes."""
        return not self._buffer and not self._fill()

    def close(self) -> None:
        """Release the underlying stream (a backend's open file or HTTP response)."""
        if isinstance(self._chunks, Generator):
            self._chunks.close()

    def _fill(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            return False
        self._buffer += chunk
        return True


def _decrypted_segments(key: str, cipher: SegmentCipher, stored: _ExactReader) -> Iterator[bytes]:
    index = 0
    while True:
        sealed = stored.read(cipher.sealed_segment_size)
        # A segment is the last one exactly when nothing follows it; a truncated
        # object therefore ends on a segment that was not sealed as the last.
        last = stored.at_end()
        try:
            yield cipher.open(index, sealed, last=last)
        except InvalidTag:
            raise IntegrityViolation(
                f"object {key!r} failed authentication at segment {index}: "
                "it was altered, truncated or reordered"
            ) from None
        if last:
            return
        index += 1


def _verified(
    key: str, expected: str, segments: Iterator[bytes], stored: _ExactReader
) -> Iterator[bytes]:
    """Pass segments through, holding the last back until the plaintext SHA-256 matches."""
    digest = hashlib.sha256()
    held = b""
    try:
        for segment in segments:
            if held:
                yield held
            digest.update(segment)
            held = segment
        if digest.hexdigest() != expected:
            raise IntegrityViolation(f"object {key!r} does not match its recorded SHA-256")
        if held:
            yield held
    finally:
        stored.close()


def _checked_sha256(sha256: str) -> str:
    normalized = sha256.lower()
    if not _SHA256_HEX.fullmatch(normalized):
        raise ValueError("sha256 must be 64 hexadecimal digits")
    return normalized
