"""Storage fixtures: a moto S3 server reached over real HTTP, and one store per backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from storage import LocalStore, ObjectStore, S3Store
from storage.s3 import make_client

# The prefix every S3 test store writes under, so tests can find their objects at rest.
S3_PREFIX = "casebox/objects"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port, for the whole session (per xdist worker)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _fake_aws_environment(patch: pytest.MonkeyPatch, scratch: Path) -> None:
    """Fake credentials in the standard variables; nothing from the developer's AWS setup."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    patch.setenv("AWS_CONFIG_FILE", str(scratch / "absent-aws-config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(scratch / "absent-aws-credentials"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The fake AWS environment, for this test only."""
    _fake_aws_environment(monkeypatch, tmp_path)


@pytest.fixture(scope="session")
def store_client(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The client S3 test stores share, built by make_client from the fake environment.

    Building a client costs about 0.2 s, so stores share this one; the variables are
    set only while it is built (it keeps the credentials it resolved then).
    """
    with pytest.MonkeyPatch.context() as patch:
        _fake_aws_environment(patch, tmp_path_factory.mktemp("aws"))
        return make_client(moto_endpoint)


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    """A plain boto3 client for setting up buckets and looking at what is stored.

    Its fake credentials are passed explicitly, so it neither needs nor touches the
    environment that the stores under test read theirs from.
    """
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=moto_endpoint)


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A fresh, empty bucket for this test."""
    name = f"casebox-test-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    """A local store under a directory that does not exist yet."""
    return LocalStore(tmp_path / "objects")


@pytest.fixture
def s3_store(s3_bucket: str, store_client: Any) -> S3Store:
    """An S3 store in a fresh bucket on the moto server."""
    return S3Store(s3_bucket, S3_PREFIX, client=store_client)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> ObjectStore:
    """Each plain backend in turn; moto only starts when an S3 case runs."""
    store: ObjectStore = request.getfixturevalue(f"{request.param}_store")
    return store
