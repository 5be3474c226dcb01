"""Accessors for the per-application services that ``create_app`` wires in."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app

if TYPE_CHECKING:
    from redis import Redis

    from casebox.accounts.login_throttle import LoginThrottle
    from casebox.accounts.passwords import Passwords
    from casebox.settings import Settings
    from storage import EncryptedStore


def settings() -> Settings:
    """The application's settings."""
    return cast("Settings", current_app.extensions["casebox.settings"])


def passwords() -> Passwords:
    """The password hasher."""
    return cast("Passwords", current_app.extensions["casebox.passwords"])


def login_throttle() -> LoginThrottle:
    """The failed-login rate limiter."""
    return cast("LoginThrottle", current_app.extensions["casebox.login_throttle"])


def object_store() -> EncryptedStore:
    """The encrypted object store for photos and documents."""
    return cast("EncryptedStore", current_app.extensions["casebox.store"])


def redis_connection() -> Redis:
    """The Redis connection for queues."""
    return cast("Redis", current_app.extensions["casebox.redis"])
