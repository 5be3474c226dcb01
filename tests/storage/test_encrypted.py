"""Envelope encryption: what is at rest, and that every kind of tampering is caught."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

import pytest

from casebox.errors import IntegrityViolation, ObjectNotFound
from storage import EncryptedStore, LocalStore, ObjectStore
from storage.envelope import HEADER_SIZE, SEGMENT_SIZE, TAG_SIZE
from tests.storage.support import pseudo_random

SEALED_SEGMENT = SEGMENT_SIZE + TAG_SIZE
KEY = "cases/01HX/photos/p1/original"
# Recognisable text, several segments long, so a leak at rest would be easy to spot.
PLAINTEXT = b"Patient Jane Example, 54, pigmented lesion on the left forearm. " * 3000


@pytest.fixture
def data_key() -> bytes:
    """A fresh key-encryption key."""
    return secrets.token_bytes(32)


@pytest.fixture
def encrypted(backend: ObjectStore, data_key: bytes) -> EncryptedStore:
    """Envelope encryption over each plain backend."""
    return EncryptedStore(backend, data_key)


@pytest.fixture
def encrypted_local(local_store: LocalStore, data_key: bytes) -> EncryptedStore:
    """Envelope encryption over a local directory, for the long tampering matrices.

    The format does not depend on the backend, and the contract suite already runs
    encryption over S3, so these cases do not need a bucket each.
    """
    return EncryptedStore(local_store, data_key)


def _store_raw(store: EncryptedStore, key: str, raw: bytes) -> None:
    """Replace what is at rest, as someone with access to the disk or bucket could."""
    store.inner.put(key, raw)


def _stored_size(plaintext_size: int) -> int:
    """Header, plaintext, and one tag per segment; an empty object still has one segment."""
    segments = max(1, -(-plaintext_size // SEGMENT_SIZE))
    return HEADER_SIZE + plaintext_size + segments * TAG_SIZE


def _flip(raw: bytes, position: int) -> bytes:
    return raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]


def test_put_returns_the_plaintext_sha256(encrypted: EncryptedStore) -> None:
    assert encrypted.put(KEY, PLAINTEXT) == hashlib.sha256(PLAINTEXT).hexdigest()


def test_ciphertext_at_rest_does_not_contain_the_plaintext(encrypted: EncryptedStore) -> None:
    encrypted.put(KEY, PLAINTEXT)
    raw = encrypted.inner.get(KEY)

    assert b"Jane Example" not in raw
    assert b"forearm" not in raw
    assert len(raw) == _stored_size(len(PLAINTEXT))


def test_the_same_plaintext_encrypts_differently_each_time(encrypted: EncryptedStore) -> None:
    encrypted.put("one", PLAINTEXT)
    encrypted.put("two", PLAINTEXT)
    first, second = encrypted.inner.get("one"), encrypted.inner.get("two")
    assert first[HEADER_SIZE:] != second[HEADER_SIZE:]


@pytest.mark.parametrize(
    "size",
    [1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 2 * SEGMENT_SIZE],
    ids=["one-byte", "just-under-a-segment", "one-segment", "one-byte-over", "two-segments"],
)
def test_round_trip_at_segment_boundaries(encrypted_local: EncryptedStore, size: int) -> None:
    data = pseudo_random(size)
    sha256 = encrypted_local.put(KEY, data)
    assert encrypted_local.get(KEY, sha256=sha256) == data
    assert len(encrypted_local.inner.get(KEY)) == _stored_size(size)


def test_empty_object_round_trip(encrypted: EncryptedStore) -> None:
    sha256 = encrypted.put(KEY, b"")
    assert sha256 == hashlib.sha256(b"").hexdigest()
    assert encrypted.get(KEY, sha256=sha256) == b""
    assert list(encrypted.open(KEY, sha256=sha256)) == []
    # Even an empty object has one sealed (empty, final) segment, so it cannot be cut off.
    assert len(encrypted.inner.get(KEY)) == _stored_size(0) == HEADER_SIZE + TAG_SIZE


@pytest.mark.parametrize(
    "position",
    [0, 5, 13, 17, 30, 40, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + SEALED_SEGMENT + 7, -1],
    ids=[
        "magic",
        "key-id",
        "segment-size",
        "nonce-prefix",
        "wrap-nonce",
        "wrapped-key",
        "wrapped-key-tag",
        "first-segment",
        "second-segment",
        "last-byte",
    ],
)
def test_one_flipped_byte_is_detected(encrypted_local: EncryptedStore, position: int) -> None:
    sha256 = encrypted_local.put(KEY, PLAINTEXT)
    raw = encrypted_local.inner.get(KEY)
    _store_raw(encrypted_local, KEY, _flip(raw, position % len(raw)))

    with pytest.raises(IntegrityViolation) as caught:
        encrypted_local.get(KEY, sha256=sha256)
    assert KEY in str(caught.value)
    assert b"Patient" not in str(caught.value).encode()


@pytest.mark.parametrize(
    "keep",
    [
        lambda raw: raw[:-1],
        lambda raw: raw[: HEADER_SIZE + 2 * SEALED_SEGMENT],  # whole trailing segments dropped
        lambda raw: raw[: HEADER_SIZE + SEALED_SEGMENT // 2],
        lambda raw: raw[:HEADER_SIZE],
        lambda raw: raw[: HEADER_SIZE - 1],
        lambda raw: b"",
        lambda raw: raw + b"\x00",
        lambda raw: raw + raw[-SEALED_SEGMENT:],
    ],
    ids=[
        "last-byte",
        "at-a-segment-boundary",
        "mid-segment",
        "header-only",
        "inside-the-header",
        "everything",
        "extended-by-a-byte",
        "last-segment-repeated",
    ],
)
def test_truncated_or_extended_objects_are_detected(
    encrypted_local: EncryptedStore, keep: Callable[[bytes], bytes]
) -> None:
    sha256 = encrypted_local.put(KEY, PLAINTEXT)
    raw = encrypted_local.inner.get(KEY)
    _store_raw(encrypted_local, KEY, keep(raw))

    with pytest.raises(IntegrityViolation):
        encrypted_local.get(KEY, sha256=sha256)


def test_reordered_segments_are_detected(encrypted: EncryptedStore) -> None:
    sha256 = encrypted.put(KEY, PLAINTEXT)
    raw = encrypted.inner.get(KEY)
    first = raw[HEADER_SIZE : HEADER_SIZE + SEALED_SEGMENT]
    second = raw[HEADER_SIZE + SEALED_SEGMENT : HEADER_SIZE + 2 * SEALED_SEGMENT]
    rest = raw[HEADER_SIZE + 2 * SEALED_SEGMENT :]
    _store_raw(encrypted, KEY, raw[:HEADER_SIZE] + second + first + rest)

    with pytest.raises(IntegrityViolation):
        encrypted.get(KEY, sha256=sha256)


def test_an_object_copied_under_another_key_is_detected(encrypted: EncryptedStore) -> None:
    sha256_a = encrypted.put("cases/a/original", PLAINTEXT)
    encrypted.put("cases/b/original", b"the other patient's photo")
    _store_raw(encrypted, "cases/b/original", encrypted.inner.get("cases/a/original"))

    # Even with the checksum that matches the copied plaintext, the key binding fails.
    with pytest.raises(IntegrityViolation, match="cases/b/original"):
        encrypted.get("cases/b/original", sha256=sha256_a)


def test_a_different_data_key_is_reported_clearly(
    backend: ObjectStore, encrypted: EncryptedStore
) -> None:
    sha256 = encrypted.put(KEY, PLAINTEXT)
    other = EncryptedStore(backend, secrets.token_bytes(32))

    with pytest.raises(IntegrityViolation, match="data key id"):
        other.get(KEY, sha256=sha256)
    with pytest.raises(IntegrityViolation, match="data key id"):
        other.open(KEY, sha256=sha256)  # at the call, before any plaintext


def test_a_wrong_sha256_is_detected(encrypted: EncryptedStore) -> None:
    encrypted.put(KEY, PLAINTEXT)
    wrong = hashlib.sha256(b"something else").hexdigest()

    with pytest.raises(IntegrityViolation, match="SHA-256"):
        encrypted.get(KEY, sha256=wrong)


def test_streaming_with_a_wrong_sha256_withholds_the_final_chunk(
    encrypted: EncryptedStore,
) -> None:
    encrypted.put(KEY, PLAINTEXT)
    received = bytearray()

    with pytest.raises(IntegrityViolation):
        for chunk in encrypted.open(KEY, sha256="f" * 64):
            received += chunk

    # The earlier, individually authenticated chunks did arrive; the end did not.
    assert 0 < len(received) < len(PLAINTEXT)
    assert PLAINTEXT.startswith(received)


def test_sha256_is_accepted_in_upper_case(encrypted: EncryptedStore) -> None:
    sha256 = encrypted.put(KEY, b"data")
    assert encrypted.get(KEY, sha256=sha256.upper()) == b"data"


@pytest.mark.parametrize("sha256", ["", "abc", "g" * 64, "0" * 63])
def test_a_malformed_sha256_is_a_value_error(encrypted_local: EncryptedStore, sha256: str) -> None:
    encrypted_local.put(KEY, b"data")
    with pytest.raises(ValueError):
        encrypted_local.get(KEY, sha256=sha256)


def test_a_missing_object_is_not_found_not_an_integrity_failure(
    encrypted: EncryptedStore,
) -> None:
    with pytest.raises(ObjectNotFound):
        encrypted.get(KEY, sha256="0" * 64)


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_the_data_key_must_be_32_bytes(local_store: LocalStore, length: int) -> None:
    with pytest.raises(ValueError):
        EncryptedStore(local_store, b"k" * length)
