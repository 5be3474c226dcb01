"""Build an object store from the storage URL in the settings."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from storage.base import ObjectStore
from storage.local import LocalStore
from storage.s3 import S3Store

# S3's bucket naming rules, simplified: lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def open_store(url: str, *, s3_endpoint_url: str | None = None) -> ObjectStore:
    """Return the store for ``file://`` (absolute or relative path) or ``s3://bucket/prefix``."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError("storage URL must not have a query or a fragment")
    if parts.scheme == "file":
        return LocalStore(_local_root(parts.netloc, unquote(parts.path)))
    if parts.scheme == "s3":
        if not _BUCKET.fullmatch(parts.netloc):
            raise ValueError("s3:// storage URL must name a valid bucket")
        return S3Store(parts.netloc, unquote(parts.path), endpoint_url=s3_endpoint_url)
    raise ValueError(f"unsupported storage URL scheme {parts.scheme!r} (use file:// or s3://)")


def _local_root(netloc: str, path: str) -> Path:
    # file:///srv/objects has an empty authority and an absolute path. The settings also
    # produce file://data/objects for a relative data directory: there the "authority"
    # is really the first path segment, and the whole is relative to the working directory.
    root = Path(netloc + path)
    if root == Path():
        raise ValueError("file:// storage URL must name a directory")
    return root if root.is_absolute() else Path.cwd() / root
