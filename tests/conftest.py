"""Shared fixtures: one application per database backend, real Redis, clean state per test.

The suite runs on SQLite always and, when ``CASEBOX_TEST_DATABASE_URL`` is set
(CI sets it), on PostgreSQL as well: every test that uses ``app`` runs once per
backend. Redis is the embedded server unless ``CASEBOX_TEST_REDIS_URL`` names a
real one. ``CASEBOX_REQUIRE_SERVICES=1`` turns a missing PostgreSQL, Redis or
S3 setting into a failure instead of a quieter run.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from casebox.app import create_app
from casebox.database import db
from casebox.embedded_redis import EmbeddedRedis
from casebox.settings import Settings, new_data_key
from tests.support import ApiClient

REQUIRED = os.environ.get("CASEBOX_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("CASEBOX_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CASEBOX_TEST_REDIS_URL")


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRED and not (PG_URL and REDIS_URL):
        raise pytest.UsageError(
            "CASEBOX_REQUIRE_SERVICES=1 needs CASEBOX_TEST_DATABASE_URL and CASEBOX_TEST_REDIS_URL"
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_backend" in metafunc.fixturenames:
        backends = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
        metafunc.parametrize("database_backend", backends, scope="session")


def _worker_number() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server: the configured one (one database per xdist worker) or embedded."""
    if REDIS_URL:
        base = REDIS_URL.rstrip("/").rsplit("/", 1)[0] if REDIS_URL.count("/") > 2 else REDIS_URL
        yield f"{base.rstrip('/')}/{1 + _worker_number() % 15}"
        return
    directory = tmp_path_factory.mktemp("redis")
    with EmbeddedRedis(directory) as server:
        yield server.url


def fresh_postgres_database(suffix: str) -> str:
    """Drop and create a PostgreSQL database next to the configured one; return its URL."""
    assert PG_URL
    base = make_url(PG_URL)
    name = f"{base.database}_casebox_{suffix}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def test_settings(data_dir: Path, database_url: str, redis_url: str, **changes: Any) -> Settings:
    """Settings for a test application: cheap password hashing, everything in ``data_dir``."""
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        storage_url=f"file://{data_dir / 'objects'}",
        s3_endpoint_url=None,
        secret_key="test-secret-key-" + "x" * 32,
        data_key=base64.urlsafe_b64decode(new_data_key()),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        job_retry_intervals=(0, 0),
    )
    return settings.replace(**changes)


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test despite the name


@pytest.fixture(scope="session")
def database_url(database_backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database of the requested backend, private to this xdist worker."""
    if database_backend == "postgresql":
        url = fresh_postgres_database(str(_worker_number()))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'casebox.db'}"
    return url


@pytest.fixture(scope="session")
def app(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One application per backend for the session, with migrations applied."""
    from flask_migrate import upgrade

    data_dir = tmp_path_factory.mktemp("data")
    application = create_app(test_settings(data_dir, database_url, redis_url))
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty the database, the object store and Redis around every test that uses the app."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    _reset(application)
    yield
    _reset(application)


def _reset(application: Flask) -> None:
    with application.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name != "audit_head"]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608  # our table names
            connection.execute(
                text("UPDATE audit_head SET last_seq = 0, last_hash = :genesis WHERE id = 1"),
                {"genesis": "0" * 64},
            )
    settings: Settings = application.extensions["casebox.settings"]
    shutil.rmtree(settings.data_dir / "objects", ignore_errors=True)
    redis: Redis = application.extensions["casebox.redis"]
    redis.flushdb()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the session's application."""
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient) -> ApiClient:
    """The API client with factories for patients, cases and photos."""
    return ApiClient(client)
