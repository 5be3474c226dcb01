"""LocalStore specifics: confinement to the root, atomic writes, private permissions."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from casebox.errors import ObjectNotFound, StorageError
from storage import LocalStore
from tests.storage.support import GeneratedStream, SourceBroke


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if not path.is_dir())


def test_objects_are_files_under_the_root(local_store: LocalStore) -> None:
    local_store.put("cases/c1/original", b"bytes")
    assert (local_store.root / "cases" / "c1" / "original").read_bytes() == b"bytes"


def test_files_are_0600_and_directories_0700(local_store: LocalStore) -> None:
    local_store.put("a/b/c", b"secret")
    assert _mode(local_store.root / "a" / "b" / "c") == 0o600
    for directory in (local_store.root, local_store.root / "a", local_store.root / "a" / "b"):
        assert _mode(directory) == 0o700


def test_overwriting_a_loosened_file_makes_it_private_again(local_store: LocalStore) -> None:
    local_store.put("k", b"one")
    (local_store.root / "k").chmod(0o644)
    local_store.put("k", b"two")
    assert _mode(local_store.root / "k") == 0o600


def test_a_symlinked_directory_cannot_lead_out_of_the_root(
    local_store: LocalStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not yours")
    local_store.root.mkdir()
    (local_store.root / "link").symlink_to(outside, target_is_directory=True)

    with pytest.raises(StorageError, match="outside the store root"):
        local_store.put("link/planted", b"x")
    with pytest.raises(StorageError, match="outside the store root"):
        local_store.get("link/secret")
    with pytest.raises(StorageError, match="outside the store root"):
        local_store.open("link/secret")
    with pytest.raises(StorageError, match="outside the store root"):
        local_store.delete("link/secret")
    assert sorted(path.name for path in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"not yours"


def test_a_symlinked_file_cannot_lead_out_of_the_root(
    local_store: LocalStore, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not yours")
    local_store.root.mkdir()
    (local_store.root / "photo").symlink_to(target)

    with pytest.raises(StorageError) as caught:
        local_store.get("photo")
    assert "not yours" not in str(caught.value)
    with pytest.raises(StorageError):
        local_store.exists("photo")


def test_a_failed_write_leaves_no_temporary_file_and_the_old_object(
    local_store: LocalStore,
) -> None:
    local_store.put("cases/c1/original", b"the good version")
    broken = GeneratedStream(5 * 1024 * 1024, fail_after=3 * 1024 * 1024)

    with pytest.raises(SourceBroke):
        local_store.put("cases/c1/original", broken.as_binary())

    assert broken.produced >= 3 * 1024 * 1024  # it really failed part-way through
    assert _files_under(local_store.root) == ["cases/c1/original"]
    assert local_store.get("cases/c1/original") == b"the good version"


def test_a_failed_first_write_leaves_nothing(local_store: LocalStore) -> None:
    with pytest.raises(SourceBroke):
        local_store.put("new", GeneratedStream(10, fail_after=0).as_binary())
    assert not local_store.exists("new")
    assert _files_under(local_store.root) == []


def test_temporary_names_cannot_collide_with_keys(local_store: LocalStore) -> None:
    # Keys may start with a dot; temporary files carry a '~', which keys may not.
    local_store.put("d/.partial", b"a key that looks like a temporary file")
    assert local_store.get("d/.partial") == b"a key that looks like a temporary file"
    assert _files_under(local_store.root) == ["d/.partial"]


def test_a_directory_is_not_an_object(local_store: LocalStore) -> None:
    local_store.put("a/b", b"x")
    assert not local_store.exists("a")
    with pytest.raises(ObjectNotFound):
        local_store.get("a")
    local_store.delete("a")  # nothing to delete, and not an error
    assert local_store.get("a/b") == b"x"


def test_a_key_below_an_existing_object_is_a_storage_error(local_store: LocalStore) -> None:
    # A filesystem cannot hold both "a" and "a/b"; S3 can. Callers use distinct prefixes.
    local_store.put("a", b"x")
    with pytest.raises(StorageError):
        local_store.put("a/b", b"y")
    assert not local_store.exists("a/b")
    with pytest.raises(ObjectNotFound):
        local_store.get("a/b")


def test_the_root_is_created_on_first_write_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "later" / "objects")
    assert not store.exists("k")
    assert not (tmp_path / "later").exists()
    store.put("k", b"v")
    assert store.get("k") == b"v"
