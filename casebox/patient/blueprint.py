"""The patient pages' blueprint, its access rule and how it shows errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from casebox.accounts.models import Role, User
from casebox.api.problems import from_casebox_error
from casebox.cases.body_sites import BODY_SITES
from casebox.errors import CaseboxError, Forbidden

P = ParamSpec("P")
R = TypeVar("R")

bp = Blueprint(
    "patient",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/my/static",
)


def patient_page(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Only a signed-in patient; anyone else signs in first or is refused."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not current_user.is_authenticated:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        if current_user.role != Role.PATIENT:
            raise Forbidden(gettext("These pages are for patients."))
        return view(*args, **kwargs)

    return wrapper


def signed_in_patient() -> User:
    """The patient of this request (after :func:`patient_page`)."""
    user: User = current_user._get_current_object()
    return user


def wants_html() -> bool:
    """Whether the caller is a browser reading pages rather than a program."""
    best = request.accept_mimetypes.best_match(["text/html", "application/problem+json"])
    return best == "text/html"


@bp.app_template_filter("datetimefromiso")
def _datetime_from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@bp.app_template_filter("datefromiso")
def _date_from_iso(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@bp.context_processor
def _patient_globals() -> dict[str, object]:
    from casebox.notifications.texts import title_of
    from casebox.patient.case_pages import status_label

    return {
        "notice_title": title_of,
        "site_label": lambda code: str(BODY_SITES[code].label) if code in BODY_SITES else code,
        "status_label": status_label,
    }


@bp.errorhandler(CaseboxError)
def _error_page(error: CaseboxError) -> Response | tuple[str, int]:
    """A readable page for browsers; problem+json for anything else."""
    if not wants_html() or error.status >= 500:
        return from_casebox_error(error)
    return render_template("patient/error.html", error=error), error.status
