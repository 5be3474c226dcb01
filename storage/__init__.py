"""Object storage for photos and documents: local directory or S3, encrypted at rest."""

from storage.base import MAX_KEY_LENGTH, ObjectStore, validate_key
from storage.encrypted import EncryptedStore
from storage.factory import open_store
from storage.local import LocalStore
from storage.s3 import S3Store

__all__ = [
    "MAX_KEY_LENGTH",
    "EncryptedStore",
    "LocalStore",
    "ObjectStore",
    "S3Store",
    "open_store",
    "validate_key",
]
