"""Object storage in an S3 bucket (AWS or any S3-compatible server) through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from casebox.errors import ObjectNotFound, StorageError
from storage.base import READ_CHUNK_SIZE, read_fully, validate_key

DEFAULT_REGION = "us-east-1"

# S3 reports a missing object as NoSuchKey on GET and as a bare 404 on HEAD (no body).
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})

_PART_SIZE = 8 * 1024 * 1024  # S3's minimum part is 5 MiB; 8 MiB is boto3's default.


def _transfer_config() -> TransferConfig:
    config = TransferConfig(
        multipart_threshold=_PART_SIZE,
        multipart_chunksize=_PART_SIZE,
        max_concurrency=4,
        # The same code path whether or not the optional awscrt package is installed.
        preferred_transfer_client="classic",
    )
    # A stream that cannot seek is buffered part by part; cap how many parts may wait in
    # memory at once (s3transfer's default of 10 would allow 80 MiB per upload).
    config.max_in_memory_upload_chunks = 4
    return config


_TRANSFER = _transfer_config()


def make_client(endpoint_url: str | None = None) -> Any:
    """Create an S3 client from the standard AWS environment, defaulting to us-east-1."""
    session = boto3.session.Session()
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 3},
        "connect_timeout": 10,
        "read_timeout": 60,
    }
    if endpoint_url:
        # S3-compatible servers (MinIO, Ceph, moto) commonly serve path-style URLs only.
        options["s3"] = {"addressing_style": "path"}
    return session.client(
        "s3",
        region_name=session.region_name or DEFAULT_REGION,
        endpoint_url=endpoint_url,
        config=Config(**options),
    )


class S3Store:
    """Objects in ``bucket``, each stored under ``prefix/key``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3 bucket name must not be empty")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            validate_key(self.prefix)
        # boto3 ships no type information; the client is typed as Any on purpose.
        self._client: Any = client if client is not None else make_client(endpoint_url)

    def put(self, key: str, data: bytes | BinaryIO) -> None:
        """Upload the object; file objects go up in parts and are never read whole."""
        name = self._object_name(key)
        with _as_storage_errors("write", key):
            if isinstance(data, bytes):
                self._client.put_object(Bucket=self.bucket, Key=name, Body=data)
            else:
                self._client.upload_fileobj(_FullReads(data), self.bucket, name, Config=_TRANSFER)

    def get(self, key: str) -> bytes:
        """Download the whole object."""
        body = self._get_body(key)
        try:
            with _as_storage_errors("read", key):
                data: bytes = body.read()
                return data
        finally:
            body.close()

    def open(self, key: str) -> Iterator[bytes]:
        """Stream the object in chunks; close the iterator if you stop early."""
        # The request is made here, not in the generator, so a missing key fails at the call.
        return _stream(key, self._get_body(key))

    def delete(self, key: str) -> None:
        """Delete the object; S3 treats deleting a missing key as success."""
        name = self._object_name(key)
        with _as_storage_errors("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=name)

    def exists(self, key: str) -> bool:
        """Tell whether the object exists (a HEAD request)."""
        name = self._object_name(key)
        try:
            with _as_storage_errors("inspect", key):
                self._client.head_object(Bucket=self.bucket, Key=name)
        except ObjectNotFound:
            return False
        return True

    def _object_name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _get_body(self, key: str) -> Any:
        name = self._object_name(key)
        with _as_storage_errors("read", key):
            return self._client.get_object(Bucket=self.bucket, Key=name)["Body"]


class _FullReads:
    """Make every read return the full size asked for until the end of the stream.

    s3transfer cuts parts with a single ``read(part_size)``; a stream that returns
    short reads (sockets, request bodies, decrypting wrappers) would otherwise yield
    parts below S3's 5 MiB minimum.
    """

    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    def read(self, size: int = -1) -> bytes:
        """Read ``size`` bytes (everything when negative), fewer only at end of stream."""
        if size < 0:
            return self._source.read()
        return read_fully(self._source, size)


def _stream(key: str, body: Any) -> Iterator[bytes]:
    try:
        with _as_storage_errors("read", key):
            yield from body.iter_chunks(READ_CHUNK_SIZE)
    finally:
        body.close()


@contextmanager
def _as_storage_errors(action: str, key: str) -> Iterator[None]:
    """Translate boto failures into casebox errors that name the key and the S3 error code."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "unknown"))
        if code in _NOT_FOUND_CODES:
            raise ObjectNotFound(f"no object stored under key {key!r}") from exc
        raise StorageError(f"S3 could not {action} object {key!r} ({code})") from exc
    except (BotoCoreError, S3UploadFailedError) as exc:
        # The class name (EndpointConnectionError, ReadTimeoutError, ...) says enough;
        # the exception text can carry request details we do not want in API responses.
        raise StorageError(f"S3 could not {action} object {key!r} ({type(exc).__name__})") from exc
