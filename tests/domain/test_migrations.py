"""Migrations build the schema from nothing, come down again and go back up."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from casebox.app import create_app
from casebox.database import db
from tests.conftest import _worker_number, fresh_postgres_database, test_settings

CORE_TABLES = {"users", "patient_profiles", "consent_records", "api_tokens", "cases", "photos",
               "audit_events", "audit_head", "outbox_events", "idempotency_records"}  # fmt: skip


def test_upgrade_downgrade_upgrade(database_backend: str, redis_url: str, tmp_path: Path) -> None:
    if database_backend == "postgresql":
        url = fresh_postgres_database(f"migrations_{_worker_number()}")
    else:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    app = create_app(test_settings(tmp_path, url, redis_url))
    with app.app_context():
        upgrade()
        assert set(inspect(db.engine).get_table_names()) >= CORE_TABLES
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) >= CORE_TABLES
        db.engine.dispose()


def test_models_and_migrations_agree(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == [], "a model changed without a migration"
