"""Page routes of the specialist workspace; the data comes from the API."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from casebox.accounts.models import Role

bp = Blueprint(
    "review",
    __name__,
    url_prefix="/review",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

STAFF = (Role.SPECIALIST, Role.ADMIN)


def _staff_only() -> Response | None:
    if not current_user.is_authenticated:
        return redirect(url_for("web.login", next=request.path))
    if current_user.role not in STAFF:
        abort(403)
    return None


@bp.get("/")
def queue() -> str | Response:
    """The specialist's review queues."""
    return _staff_only() or render_template("review/queue.html")


@bp.get("/cases/<string:case_id>")
def case(case_id: str) -> str | Response:
    """One case: questionnaire, photos, annotation, comparison and the assessment."""
    return _staff_only() or render_template("review/case.html", case_id=case_id)
