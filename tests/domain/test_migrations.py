"""Migrations build the schema from nothing, come down again and go back up."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from casebox.app import create_app
from casebox.database import db
from tests.conftest import test_settings


def test_upgrade_downgrade_upgrade(database_url: str, redis_url: str, tmp_path: Path) -> None:
    # A fresh database of its own so the session's shared one is not disturbed.
    url = (
        f"sqlite:///{tmp_path / 'migrations.db'}"
        if database_url.startswith("sqlite")
        else database_url.rsplit("/", 1)[0] + "/" + database_url.rsplit("/", 1)[1] + "_migr"
    )
    if not url.startswith("sqlite"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(make_url(database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = make_url(url).database
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    app = create_app(test_settings(tmp_path, url, redis_url))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "cases", "photos", "audit_events", "outbox_events"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {"users", "cases", "photos"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
