"""The encrypted object format: a header with a wrapped per-object key, then sealed segments.

Layout (all integers big-endian)::

    header   magic "CBXE" | version (1) | KEK id (8) | segment size (4)
             | nonce prefix (8) | wrap nonce (12) | wrapped DEK (32 + 16 tag)
    segments AES-256-GCM(DEK, nonce = nonce prefix | segment index (4),
                         aad = last-segment flag (1)) of each plaintext segment

The DEK is wrapped with AES-256-GCM under the KEK; the wrap's associated data is the
header up to the wrap nonce followed by the object key. So the header fields and the
key the object was stored under are authenticated before any segment is opened, and
since each object has its own DEK, a segment only opens inside its own object, at
its own index. The flag marks the final segment, so dropping trailing segments fails
too. An empty plaintext is one empty final segment, so there is always at least one.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casebox.errors import IntegrityViolation

MAGIC = b"CBXE"
VERSION = 1
SEGMENT_SIZE = 64 * 1024
TAG_SIZE = 16
KEY_SIZE = 32
KEY_ID_SIZE = 8

_NONCE_PREFIX_SIZE = 8
_NONCE_SIZE = 12
_MAX_SEGMENTS = 2**32  # the index has 4 bytes in the nonce
_MAX_SEGMENT_SIZE = 16 * 1024 * 1024  # refuse headers that would make us buffer absurd amounts

# Everything before the wrap nonce; it goes into the wrap's associated data.
_AUTHENTICATED_HEADER = struct.Struct(">4sB8sI8s")
_HEADER = struct.Struct(_AUTHENTICATED_HEADER.format + "12s48s")
HEADER_SIZE = _HEADER.size

_LAST = b"\x01"
_NOT_LAST = b"\x00"


def key_id(kek: bytes) -> bytes:
    """A short, non-secret fingerprint of a key-encryption key, stored in every header."""
    # Domain-separated so the id is never the same digest as some other use of the key.
    return hashlib.sha256(b"casebox object-store KEK id\x00" + kek).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True)
class SegmentCipher:
    """Seals and opens the segments of one object under its DEK."""

    aead: AESGCM
    nonce_prefix: bytes
    segment_size: int

    @property
    def sealed_segment_size(self) -> int:
        """The stored size of every segment except possibly the last."""
        return self.segment_size + TAG_SIZE

    def seal(self, index: int, plaintext: bytes, *, last: bool) -> bytes:
        """Encrypt and authenticate segment ``index``."""
        return self.aead.encrypt(self._nonce(index), plaintext, _LAST if last else _NOT_LAST)

    def open(self, index: int, sealed: bytes, *, last: bool) -> bytes:
        """Decrypt segment ``index``; raise InvalidTag if it is not that segment, intact."""
        return self.aead.decrypt(self._nonce(index), sealed, _LAST if last else _NOT_LAST)

    def _nonce(self, index: int) -> bytes:
        if not 0 <= index < _MAX_SEGMENTS:
            raise ValueError("object has too many segments for this format")
        return self.nonce_prefix + index.to_bytes(4, "big")


class KeyEncryptionKey:
    """The long-lived key that wraps every object's DEK."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEY_SIZE:
            raise ValueError(f"the data key must be exactly {KEY_SIZE} bytes (AES-256)")
        self.id = key_id(kek)
        self._aead = AESGCM(kek)

    def new_object(self, object_key: str) -> tuple[bytes, SegmentCipher]:
        """Create a fresh DEK for ``object_key``; return the header to store and its cipher."""
        dek = AESGCM.generate_key(bit_length=256)
        nonce_prefix = os.urandom(_NONCE_PREFIX_SIZE)
        authenticated = struct.pack(
            ">4sB8sI8s", MAGIC, VERSION, self.id, SEGMENT_SIZE, nonce_prefix
        )
        wrap_nonce = os.urandom(_NONCE_SIZE)
        wrapped = self._aead.encrypt(wrap_nonce, dek, authenticated + object_key.encode())
        header = authenticated + wrap_nonce + wrapped
        return header, SegmentCipher(AESGCM(dek), nonce_prefix, SEGMENT_SIZE)

    def open_object(self, header: bytes, object_key: str) -> SegmentCipher:
        """Check a stored header and unwrap its DEK; raise IntegrityViolation if it fails."""
        if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
            raise IntegrityViolation(
                f"object {object_key!r} is truncated or not in the encrypted format"
            )
        _, version, stored_id, segment_size, nonce_prefix, wrap_nonce, wrapped = _HEADER.unpack(
            header
        )
        if version != VERSION:
            raise IntegrityViolation(
                f"object {object_key!r} uses unsupported encryption format version {version}"
            )
        if stored_id != self.id:
            raise IntegrityViolation(
                f"object {object_key!r} was encrypted under data key id {stored_id.hex()}, "
                f"not the configured data key id {self.id.hex()}"
            )
        authenticated = header[: _AUTHENTICATED_HEADER.size] + object_key.encode()
        try:
            dek = self._aead.decrypt(wrap_nonce, wrapped, authenticated)
        except InvalidTag:
            raise IntegrityViolation(
                f"object {object_key!r} failed authentication: its header was altered "
                "or it was stored under another key"
            ) from None
        if not 0 < segment_size <= _MAX_SEGMENT_SIZE:  # authenticated, so only a bug gets here
            raise IntegrityViolation(f"object {object_key!r} declares an invalid segment size")
        return SegmentCipher(AESGCM(dek), nonce_prefix, segment_size)
