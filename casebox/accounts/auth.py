"""Who is calling: bearer tokens for the API, Flask-Login sessions for pages.

Every API view is wrapped by :func:`requires`, which authenticates the request,
checks the role (function-level access) and stores the user in ``g.user``.
Object-level checks live in each domain's lookup functions.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import g, request, session
from flask_login import LoginManager, current_user

from casebox.accounts.models import Role, User
from casebox.accounts.tokens import find_live_token
from casebox.database import db
from casebox.errors import Forbidden, Unauthenticated
from casebox.i18n import gettext

P = ParamSpec("P")
R = TypeVar("R")

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.session_protection = "strong"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_SESSION_KEY = "csrf_token"


@login_manager.user_loader
def _load_session_user(public_id: str) -> User | None:
    user = db.session.scalar(db.select(User).where(User.public_id == public_id))
    return user if user is not None and user.active else None


def authenticate_api_request() -> User | None:
    """The user behind a bearer token, or a browser session with a valid CSRF header."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials:
            raise Unauthenticated(gettext("Use 'Authorization: Bearer <token>'."))
        token = find_live_token(credentials.strip())
        if token is None or not token.user.active:
            raise Unauthenticated(gettext("The token is invalid, expired or revoked."))
        g.api_token = token
        return token.user
    if current_user.is_authenticated:
        if request.method not in SAFE_METHODS and not _csrf_header_valid():
            raise Forbidden(gettext("Missing or wrong X-CSRF-Token header for a browser session."))
        return current_user._get_current_object()
    return None


def _csrf_header_valid() -> bool:
    expected = str(session.get(CSRF_SESSION_KEY, ""))
    presented = request.headers.get("X-CSRF-Token", "")
    return bool(expected) and hmac.compare_digest(expected, presented)


def requires(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Require an authenticated user, with one of ``roles`` when any are given."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            user = authenticate_api_request()
            if user is None:
                raise Unauthenticated(gettext("Log in or send a bearer token."))
            g.user = user
            if roles and user.role not in roles:
                raise Forbidden(gettext("Your role does not allow this."))
            return view(*args, **kwargs)

        wrapper.casebox_access = roles or "authenticated"  # type: ignore[attr-defined]
        # flask-smorest reads _apidoc (shared with the wrapped view) to build OpenAPI.
        apidoc = wrapper.__dict__.setdefault("_apidoc", {})
        apidoc.setdefault("manual_doc", {})["security"] = [{"bearerAuth": []}]
        return wrapper

    return decorate


def public(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view as deliberately open to anonymous callers."""
    view.casebox_access = "public"  # type: ignore[attr-defined]
    return view


def current_api_user() -> User:
    """The user that :func:`requires` authenticated for this request."""
    user: User = g.user
    return user
