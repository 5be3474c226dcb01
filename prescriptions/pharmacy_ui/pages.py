"""Page routes of the pharmacy: its inbox (pharmacists only) and public verification."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from casebox.accounts.models import Role
from casebox.errors import Forbidden, NotFound
from prescriptions import operations
from prescriptions.models import Pharmacy, PrescriptionStatus
from prescriptions.schemas import (
    PharmacistVerificationSchema,
    VerificationSchema,
    VerifyArgsSchema,
)

bp = Blueprint(
    "pharmacy",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/pharmacy/static",
)

DISPENSABLE = (PrescriptionStatus.ISSUED, PrescriptionStatus.ACCEPTED)


@bp.get("/pharmacy/")
def inbox() -> str | Response:
    """The pharmacy's inbox: prescriptions addressed to it, one opened with its actions."""
    if not current_user.is_authenticated:
        return redirect(url_for("web.login", next=request.path))
    if current_user.role != Role.PHARMACIST:
        abort(403)
    try:
        pharmacy: Pharmacy | None = operations.pharmacy_of(current_user)
    except Forbidden:
        pharmacy = None  # the page says so; the API refuses the inbox with the same words
    return render_template("pharmacy/inbox.html", pharmacy=pharmacy)


@bp.get("/verify")
@bp.get("/verify/<string:number_in_path>")
def verify(number_in_path: str | None = None) -> tuple[str, int, dict[str, str]]:
    """Check a prescription from the number and access code its QR code carries.

    The QR code opens ``/verify/<number>?code=...``; the form on the page sends both as
    query parameters (``/verify?number=...&code=...``).
    """
    number = (number_in_path or request.args.get("number", "")).strip()
    code = request.args.get("code", "").strip()
    result: dict[str, Any] | None = None
    status = 200
    if number or code:
        result = _verification(number, code)
        status = 200 if result else 404
    page = render_template(
        "pharmacy/verify.html", number=number, code=code, asked=bool(number or code),
        result=result,
    )  # fmt: skip
    # The address holds the access code: keep the answer out of every cache.
    return page, status, {"Cache-Control": "no-store"}


def _verification(number: str, code: str) -> dict[str, Any] | None:
    """What the public may learn about the prescription, or None when nothing matches."""
    if not number or not code or VerifyArgsSchema().validate({"number": number, "code": code}):
        return None
    try:
        found = operations.verify_prescription(number, code)
    except NotFound:
        return None
    pharmacist = current_user.is_authenticated and current_user.role == Role.PHARMACIST
    schema = PharmacistVerificationSchema() if pharmacist else VerificationSchema()
    shown: dict[str, Any] = schema.dump(found)  # with signature_valid
    shown["dispensable"] = shown["signature_valid"] and found.prescription.status in DISPENSABLE
    shown["issued_on"] = _day(found.prescription.issued_at)
    shown["valid_until_on"] = _day(found.prescription.valid_until)
    return shown


def _day(value: date | None) -> str:
    """A date as pharmacists read it, e.g. "3 Mar 2025"."""
    return f"{value.day} {value:%b %Y}" if value else "—"
