"""The behaviour every object store promises, checked on each backend, plain and encrypted."""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from casebox.errors import ObjectNotFound
from storage import EncryptedStore, ObjectStore
from tests.storage.support import GeneratedStream, pseudo_random

BAD_KEYS = ["../x", "/abs", "a//b", "a/./b", "a/../b", "", "a/", ".", "..", "a b", "a\\b", "é"]


class ChecksummedStore:
    """Presents an EncryptedStore through the plain contract.

    It remembers the SHA-256 each put returned and hands it back on reads, as the
    application does with the checksum it keeps in the database.
    """

    _UNKNOWN = "0" * 64  # for keys never written here; the read fails before it matters

    def __init__(self, store: EncryptedStore) -> None:
        self._store = store
        self._sha256: dict[str, str] = {}

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        self._sha256[key] = self._store.put(key, data)

    def get(self, key: str) -> bytes:
        return self._store.get(key, sha256=self._sha256.get(key, self._UNKNOWN))

    def open(self, key: str) -> Iterator[bytes]:
        return self._store.open(key, sha256=self._sha256.get(key, self._UNKNOWN))

    def delete(self, key: str) -> None:
        self._store.delete(key)

    def exists(self, key: str) -> bool:
        return self._store.exists(key)


@pytest.fixture(params=["plain", "encrypted"])
def store(request: pytest.FixtureRequest, backend: ObjectStore) -> ObjectStore:
    """Each backend as it is, then wrapped in envelope encryption."""
    if request.param == "plain":
        return backend
    return ChecksummedStore(EncryptedStore(backend, secrets.token_bytes(32)))


def test_store_satisfies_the_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)


def test_bytes_round_trip(store: ObjectStore) -> None:
    data = pseudo_random(3000)
    store.put("cases/01HX/photos/p1/original", data)
    assert store.get("cases/01HX/photos/p1/original") == data
    assert b"".join(store.open("cases/01HX/photos/p1/original")) == data


def test_file_object_round_trip(store: ObjectStore) -> None:
    data = pseudo_random(200_000)
    store.put("doc.pdf", io.BytesIO(data))
    assert store.get("doc.pdf") == data


def test_empty_object_round_trip(store: ObjectStore) -> None:
    store.put("empty", b"")
    assert store.exists("empty")
    assert store.get("empty") == b""
    assert b"".join(store.open("empty")) == b""


def test_every_allowed_character_is_usable(store: ObjectStore) -> None:
    key = "A-Z_a-z.0-9/...hidden/v1.2_final-version"
    store.put(key, b"x")
    assert store.get(key) == b"x"


def test_twenty_megabytes_stream_in_and_out(store: ObjectStore) -> None:
    size = 20 * 1024 * 1024
    source = GeneratedStream(size, seed=20)
    store.put("large/scan.tiff", source.as_binary())

    assert source.remaining == 0
    # The store pulled the input in bounded reads (S3 parts are 8 MiB), never all at once.
    assert source.largest_request <= 8 * 1024 * 1024
    digest = hashlib.sha256()
    received = 0
    chunks = 0
    for chunk in store.open("large/scan.tiff"):
        assert len(chunk) <= 1024 * 1024
        digest.update(chunk)
        received += len(chunk)
        chunks += 1
    assert received == size
    assert chunks > 1
    assert digest.hexdigest() == source.digest.hexdigest()


def test_overwrite_replaces_the_whole_object(store: ObjectStore) -> None:
    store.put("note", pseudo_random(100_000, seed=1))
    store.put("note", b"short")
    assert store.get("note") == b"short"


def test_exists_and_delete(store: ObjectStore) -> None:
    assert not store.exists("a/b")
    store.put("a/b", b"data")
    assert store.exists("a/b")
    store.delete("a/b")
    assert not store.exists("a/b")
    with pytest.raises(ObjectNotFound):
        store.get("a/b")


def test_delete_of_a_missing_key_is_fine(store: ObjectStore) -> None:
    store.delete("never/written")
    assert not store.exists("never/written")


def test_missing_key_raises_object_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.get("missing")
    with pytest.raises(ObjectNotFound):
        store.open("missing")  # at the call, before any iteration


def test_deleting_one_key_leaves_its_neighbours(store: ObjectStore) -> None:
    store.put("dir/one", b"1")
    store.put("dir/two", b"2")
    store.delete("dir/one")
    assert store.get("dir/two") == b"2"


def test_bad_keys_are_rejected_by_every_operation(store: ObjectStore) -> None:
    # One store for all keys: test_keys.py covers the rules, this that every call applies them.
    operations = {
        "put": lambda key: store.put(key, b"x"),
        "get": store.get,
        "open": store.open,
        "delete": store.delete,
        "exists": store.exists,
    }
    for key in BAD_KEYS:
        for name, operation in operations.items():
            with pytest.raises(ValueError):
                operation(key)
                pytest.fail(f"{name}({key!r}) was accepted")
