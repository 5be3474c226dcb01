"""Where a notice's link takes a patient in the pages."""

from __future__ import annotations

import re

from sqlalchemy import select

from casebox.accounts.models import User
from casebox.cases.models import Case
from casebox.database import db
from prescriptions.models import Prescription

_ID = r"(?P<id>[0-9a-f-]{36})"
_CASE_API = re.compile(rf"^/api/v1/cases/{_ID}(?:/.*)?$")
_PRESCRIPTION_API = re.compile(rf"^/api/v1/prescriptions/{_ID}(?:/.*)?$")
HOME = "/my/"


def page_link(link: str, patient: User | None = None) -> str:
    """The patient page for a notice's link: a case's page for a case or its prescription."""
    if match := _CASE_API.match(link):
        return f"/my/cases/{match['id']}"
    if (match := _PRESCRIPTION_API.match(link)) and patient is not None:
        case_id = db.session.scalar(
            select(Case.public_id)
            .join(Prescription, Prescription.case_id == Case.id)
            .where(Prescription.public_id == match["id"], Prescription.patient_id == patient.id)
        )
        return f"/my/cases/{case_id}" if case_id else HOME
    if link.startswith("/my/"):
        return link
    return HOME
