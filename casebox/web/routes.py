"""Browser sessions (Flask-Login) and the public landing page."""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from casebox import services
from casebox.accounts import operations
from casebox.accounts.auth import CSRF_SESSION_KEY
from casebox.accounts.models import Role
from casebox.database import db
from casebox.errors import RateLimited
from casebox.i18n import select_locale

bp = Blueprint("web", __name__, template_folder="templates")


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    if CSRF_SESSION_KEY not in session:
        session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return str(session[CSRF_SESSION_KEY])


@bp.app_context_processor
def _template_globals() -> dict[str, object]:
    return {"csrf_token": csrf_token, "current_language": select_locale}


def check_form_csrf() -> None:
    """Refuse a form post without the session's CSRF token."""
    expected = session.get(CSRF_SESSION_KEY, "")
    if not expected or not hmac.compare_digest(expected, request.form.get("csrf_token", "")):
        abort(400, "The form expired; reload the page and try again.")


@bp.get("/")
def index() -> str:
    """Landing page with links to the API and the sign-in form."""
    return render_template("index.html")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """Sign in with email and password into a browser session."""
    error = None
    if request.method == "POST":
        check_form_csrf()
        try:
            user = operations.authenticate(
                request.form.get("email", ""), request.form.get("password", ""), request.remote_addr
            )
        except RateLimited as exc:
            user, error = None, exc.detail
        db.session.commit()  # success and failure are both audited
        if user is not None:
            session.clear()
            login_user(user)
            csrf_token()
            return redirect(_landing_page(user.role, request.args.get("next", "")))
        error = error or gettext("The email or password is wrong.")
    return render_template("login.html", error=error)


def safe_next_path(wanted: str, default: str) -> str:
    """``wanted`` if it is a path on this site, else ``default``: never an open redirect."""
    if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return default


def _landing_page(role: Role, wanted: str) -> str:
    if role == Role.PHARMACIST:
        home = url_for("pharmacy.inbox")
    elif role in (Role.SPECIALIST, Role.ADMIN):
        home = url_for("review.queue")
    else:
        home = url_for("patient.home")
    return safe_next_path(wanted, home)


@bp.post("/logout")
def logout() -> Response:
    """End the browser session."""
    check_form_csrf()
    logout_user()
    session.clear()
    return redirect(url_for("web.index"))


@bp.get("/healthz")
def health() -> tuple[dict[str, str], int]:
    """Liveness of the database and Redis, for load balancers and `make run` checks."""
    status = {"database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # a health check reports, it does not raise
        status["database"] = "unavailable"
    try:
        services.redis_connection().ping()
    except Exception:  # a health check reports, it does not raise
        status["redis"] = "unavailable"
    healthy = all(value == "ok" for value in status.values())
    return status, 200 if healthy else 503


__all__ = ["bp", "check_form_csrf", "csrf_token", "current_user", "safe_next_path"]
