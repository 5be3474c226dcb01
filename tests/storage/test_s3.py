"""S3Store specifics, over HTTP to the moto server: layout in the bucket, parts, failures."""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config

from casebox.errors import ObjectNotFound, StorageError
from storage import S3Store
from storage.s3 import make_client
from tests.storage.conftest import S3_PREFIX
from tests.storage.support import GeneratedStream


def _stored_names(s3_client: Any, bucket: str) -> list[str]:
    listing = s3_client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_objects_are_stored_under_the_prefix(
    s3_store: S3Store, s3_client: Any, s3_bucket: str
) -> None:
    s3_store.put("cases/c1/original", b"bytes")
    assert _stored_names(s3_client, s3_bucket) == [f"{S3_PREFIX}/cases/c1/original"]
    stored = s3_client.get_object(Bucket=s3_bucket, Key=f"{S3_PREFIX}/cases/c1/original")
    assert stored["Body"].read() == b"bytes"


def test_without_a_prefix_keys_are_object_names(
    s3_bucket: str, s3_client: Any, moto_endpoint: str, aws_env: None
) -> None:
    store = S3Store(s3_bucket, "", endpoint_url=moto_endpoint)
    store.put("k", b"v")
    assert _stored_names(s3_client, s3_bucket) == ["k"]


def test_a_short_reading_stream_is_uploaded_in_full_sized_parts(
    s3_store: S3Store, s3_client: Any, s3_bucket: str
) -> None:
    # 64 KiB per read, like a socket; S3 refuses parts under 5 MiB except the last.
    source = GeneratedStream(11 * 1024 * 1024, seed=3, piece=64 * 1024)
    s3_store.put("big", source.as_binary())

    head = s3_client.head_object(Bucket=s3_bucket, Key=f"{S3_PREFIX}/big")
    assert head["ContentLength"] == 11 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts


def test_the_region_defaults_to_us_east_1(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_client().meta.region_name == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert make_client().meta.region_name == "eu-central-1"


def test_credentials_come_from_the_environment(
    s3_bucket: str, moto_endpoint: str, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3Store(s3_bucket, endpoint_url=moto_endpoint)
    with pytest.raises(StorageError, match="NoCredentialsError"):
        store.put("k", b"v")


def test_a_missing_bucket_is_a_storage_error_not_a_missing_object(
    moto_endpoint: str, aws_env: None
) -> None:
    store = S3Store("casebox-no-such-bucket", "p", endpoint_url=moto_endpoint)
    with pytest.raises(StorageError) as caught:
        store.get("k")
    assert not isinstance(caught.value, ObjectNotFound)
    assert "NoSuchBucket" in str(caught.value)
    with pytest.raises(StorageError, match="NoSuchBucket"):
        store.put("k", b"patient photo bytes")


def test_an_unreachable_endpoint_is_a_storage_error_without_the_content(aws_env: None) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{_unused_port()}",
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    store = S3Store("bucket", "p", client=client)

    with pytest.raises(StorageError) as caught:
        store.put("cases/c1/original", b"PATIENT-SECRET-CONTENT")
    assert "cases/c1/original" in str(caught.value)
    assert "PATIENT-SECRET-CONTENT" not in str(caught.value)
    with pytest.raises(StorageError):
        store.exists("k")
    with pytest.raises(StorageError):
        store.open("k")


def test_a_prefix_must_follow_the_key_rules(aws_env: None) -> None:
    with pytest.raises(ValueError):
        S3Store("bucket", "a/../b")


def test_missing_and_present_after_direct_writes(
    s3_store: S3Store, s3_client: Any, s3_bucket: str
) -> None:
    # An object written by another tool under the prefix is visible through the store.
    s3_client.put_object(Bucket=s3_bucket, Key=f"{S3_PREFIX}/external", Body=b"e")
    assert s3_store.exists("external")
    assert s3_store.get("external") == b"e"
    with pytest.raises(ObjectNotFound):
        s3_store.get("external-missing")
