"""Languages of the pages and notifications: English and French, via Flask-Babel.

The language is, in order: the one the visitor picked with the switcher (a cookie),
the one a signed-in user saved, the best match of the browser's Accept-Language,
English. Notifications use the recipient's saved language (``locale_of``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, force_locale
from flask_login import current_user

from casebox.accounts.models import User

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "casebox_lang"
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

babel = Babel()


def select_locale() -> str:
    """The language of the current request."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return str(current_user.locale)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def locale_of(user: User) -> str:
    """The language to write to a user in, outside any request (notifications)."""
    return user.locale if user.locale in LANGUAGES else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    """Install Flask-Babel with casebox's catalogs and language choice."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS_DIR),
        default_domain="messages",
    )


__all__ = ["LANGUAGES", "force_locale", "init_app", "locale_of", "select_locale"]
