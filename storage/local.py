"""Object storage in a local directory: atomic, private, and confined to its root."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from casebox.errors import ObjectNotFound, StorageError
from storage.base import READ_CHUNK_SIZE, validate_key

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700

# '~' is not allowed in keys, so a temporary file can never be mistaken for (or
# collide with) a stored object, even one whose name starts with a dot.
_TEMP_PREFIX = "."
_TEMP_SUFFIX = ".partial~"

_WRITE_CHUNK_SIZE = 1024 * 1024


class LocalStore:
    """Objects as files under ``root``; each key maps to the same relative path."""

    def __init__(self, root: Path) -> None:
        # Resolve once so the containment check compares canonical paths; a root that
        # is itself reached through a symlink (e.g. /var -> /private/var) is fine.
        self.root = Path(root).resolve()

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        """Write the object atomically: readers see the old or the new bytes, never a mix."""
        path = self._path(key)
        try:
            self._make_directories(path.parent)
            _write_atomically(path, data)
        except OSError as exc:
            raise StorageError(f"could not write object {key!r} ({exc.strerror})") from exc

    def get(self, key: str) -> bytes:
        """Return the whole object."""
        with self._open_file(key) as file:
            try:
                return file.read()
            except OSError as exc:
                raise StorageError(f"could not read object {key!r} ({exc.strerror})") from exc

    def open(self, key: str) -> Iterator[bytes]:
        """Stream the object in chunks; close the iterator if you stop early."""
        # Opened here, not inside the generator, so a missing key fails at the call.
        return _chunks(key, self._open_file(key))

    def delete(self, key: str) -> None:
        """Remove the object if it exists."""
        path = self._path(key)
        # Empty directories are left behind on purpose: removing them would race with
        # a concurrent put that has just created the directory for a new object.
        try:
            path.unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return  # a directory or a path through a file: no object under this key
        except OSError as exc:
            raise StorageError(f"could not delete object {key!r} ({exc.strerror})") from exc

    def exists(self, key: str) -> bool:
        """Tell whether a regular file is stored under ``key``."""
        path = self._path(key)
        try:
            return stat.S_ISREG(path.lstat().st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise StorageError(f"could not inspect object {key!r} ({exc.strerror})") from exc

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # Key validation rules out '..', but a symlink inside the root could still lead
        # out of it; resolving follows every link, so the result must stay under root.
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on 3.11
            raise StorageError(f"could not resolve the path of object {key!r}") from exc
        if not resolved.is_relative_to(self.root):
            raise StorageError(f"object key {key!r} resolves outside the store root")
        return path

    def _make_directories(self, directory: Path) -> None:
        # Path.mkdir(parents=True) ignores `mode` for the parents it creates, so walk
        # down from the root and create each level with the private mode ourselves.
        self.root.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
        current = self.root
        for part in directory.relative_to(self.root).parts:
            current = current / part
            with contextlib.suppress(FileExistsError):
                current.mkdir(mode=DIRECTORY_MODE)

    def _open_file(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            # O_NOFOLLOW: the final component must not be swapped for a symlink after
            # the containment check.
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFound(f"no object stored under key {key!r}") from exc
        except OSError as exc:
            raise StorageError(f"could not open object {key!r} ({exc.strerror})") from exc
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # e.g. the directory of other keys
            os.close(descriptor)
            raise ObjectNotFound(f"no object stored under key {key!r}")
        return os.fdopen(descriptor, "rb")


def _write_atomically(path: Path, data: bytes | BinaryIO) -> None:
    """Write to a private temporary file beside ``path``, make it durable, then rename it."""
    # mkstemp creates the file with mode 0o600, so the bytes are never readable by others.
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX
    )
    try:
        with os.fdopen(descriptor, "wb") as temp:
            if isinstance(data, bytes):
                temp.write(data)
            else:
                while chunk := data.read(_WRITE_CHUNK_SIZE):
                    temp.write(chunk)
            temp.flush()
            os.fsync(temp.fileno())
        Path(temp_name).replace(path)
    except BaseException:
        # Whatever failed (the disk, or the caller's stream), leave no partial file behind.
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable, not only the file contents."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _chunks(key: str, file: BinaryIO) -> Iterator[bytes]:
    with file:
        try:
            while chunk := file.read(READ_CHUNK_SIZE):
                yield chunk
        except OSError as exc:
            raise StorageError(f"could not read object {key!r} ({exc.strerror})") from exc
