"""open_store: storage URLs to backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storage import LocalStore, S3Store, open_store


def test_an_absolute_file_url_is_a_local_store(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path / 'objects'}")
    assert isinstance(store, LocalStore)
    store.put("k", b"v")
    assert (tmp_path / "objects" / "k").read_bytes() == b"v"


def test_a_relative_file_url_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file://data/objects")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path.resolve() / "data" / "objects"
    monkeypatch.chdir("/")  # the store keeps its root when the working directory changes
    store.put("k", b"v")
    assert (tmp_path / "data" / "objects" / "k").read_bytes() == b"v"


def test_a_percent_encoded_file_url_is_decoded(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/with%20space")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path.resolve() / "with space"


def test_an_s3_url_names_bucket_and_prefix(
    s3_bucket: str, s3_client: Any, moto_endpoint: str, aws_env: None
) -> None:
    store = open_store(f"s3://{s3_bucket}/tenant-1/objects/", s3_endpoint_url=moto_endpoint)
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == (s3_bucket, "tenant-1/objects")
    store.put("k", b"v")
    stored = s3_client.get_object(Bucket=s3_bucket, Key="tenant-1/objects/k")
    assert stored["Body"].read() == b"v"


def test_an_s3_url_without_a_prefix(aws_env: None) -> None:
    store = open_store("s3://casebox-photos")
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("casebox-photos", "")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/objects",
        "gs://bucket",
        "objects",
        "",
        "file://",
        "s3://",
        "s3:///prefix",
        "s3://Upper_Case",
        "s3://user:secret@bucket",
        "s3://bucket/../escape",
        "s3://bucket/a//b",
        "file:///srv/objects?mode=fast",
    ],
)
def test_unusable_urls_are_value_errors(url: str, aws_env: None) -> None:
    with pytest.raises(ValueError):
        open_store(url)
