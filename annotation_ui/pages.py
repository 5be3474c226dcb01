"""Page routes of the specialist workspace; the data comes from the API."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from casebox.accounts.models import Role
from casebox.cases.body_sites import BODY_SITES
from casebox.followups.operations import list_follow_ups

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


@bp.get("/follow-ups")
def follow_ups() -> str | Response:
    """Overdue follow-ups: due, and the patient has not sent the follow-up case (audited)."""
    refused = _staff_only()
    if refused:
        return refused
    rows = list_follow_ups(current_user._get_current_object(), "overdue")
    sites = {code: site.label for code, site in BODY_SITES.items()}
    return render_template("review/follow_ups.html", rows=rows, sites=sites)
