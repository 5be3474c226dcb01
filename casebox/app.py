"""The application factory: it wires subsystems together and has no other side effects."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response
from flask_migrate import Migrate
from redis import Redis

from casebox import objects  # noqa: F401  # registers the transaction hooks for stored objects
from casebox.accounts.auth import login_manager
from casebox.accounts.login_throttle import LoginThrottle
from casebox.accounts.passwords import Passwords
from casebox.database import db
from casebox.settings import Settings
from storage import EncryptedStore, open_store

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

migrate = Migrate()


def create_app(settings: Settings | None = None) -> Flask:
    """Build a casebox application for the given (or environment) settings."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 64 * 1024,
        # Text fields only (files stream to disk); Werkzeug buffers up to two read chunks.
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_NAME="casebox_session",
        JSON_SORT_KEYS=False,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
    )
    app.extensions["casebox.settings"] = settings
    app.extensions["casebox.passwords"] = Passwords(settings)
    app.extensions["casebox.redis"] = Redis.from_url(settings.effective_redis_url)
    app.extensions["casebox.login_throttle"] = LoginThrottle.from_redis_url(
        settings.effective_redis_url,
        settings.login_limit_per_account,
        settings.login_limit_per_address,
    )
    app.extensions["casebox.store"] = EncryptedStore(
        open_store(settings.storage_url, s3_endpoint_url=settings.s3_endpoint_url),
        settings.data_key,
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    login_manager.init_app(app)

    import annotation_ui
    from casebox import api, i18n, patient, web
    from prescriptions import pharmacy_ui

    i18n.init_app(app)
    api.init_app(app)
    web.init_app(app)
    patient.init_app(app)
    annotation_ui.init_app(app)
    pharmacy_ui.init_app(app)
    app.after_request(_commit_or_roll_back)
    app.after_request(_security_headers)
    logging.getLogger("casebox").setLevel(logging.INFO)
    return app


def _engine_options(database_url: str) -> dict[str, object]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}


def _commit_or_roll_back(response: Response) -> Response:
    """The request commits once, and only when it succeeded."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
