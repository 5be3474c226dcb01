"""Languages of the pages and notifications: English and French, via Flask-Babel.

The language is, in order: the one the visitor picked with the switcher (a cookie),
the one a signed-in user saved (browser session or API token), the best match of the
browser's Accept-Language, English. Notifications use the recipient's saved language
(``locale_of``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, force_locale, gettext, lazy_gettext
from flask_login import current_user

if TYPE_CHECKING:
    from casebox.accounts.models import User

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "casebox_lang"
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

babel = Babel()


def N_(message: str) -> str:  # noqa: N802  # gettext's name for "mark, translate later"
    """Mark an English message for the catalogue and return it unchanged.

    For messages stored or defined before the reader's language is known (error titles,
    photo-quality reasons saved by a job): ``gettext(message)`` translates them when shown.
    """
    return message


def select_locale() -> str:
    """The language of the current request (English in jobs, which have none)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    # The API's bearer-token user (set once authenticated), else the browser session's.
    user = g.get("user") or (current_user if current_user.is_authenticated else None)
    if user is not None and user.locale in LANGUAGES:
        return str(user.locale)
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


__all__ = [
    "LANGUAGES",
    "N_",
    "force_locale",
    "gettext",
    "init_app",
    "lazy_gettext",
    "locale_of",
    "select_locale",
]
