"""A case's history as its patient reads it, from the audit trail's record of each step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from casebox.audit.models import AuditEvent
from casebox.cases.models import Case
from casebox.database import db

# The steps a patient is told about; every other audited action (reads, renewals) is not.
_STEPS: dict[str, LazyString] = {
    "case.create": _l("You started the case"),
    "case.submit": _l("You sent it to the dermatology service"),
    "case.route": _l("Your photos were checked; waiting for a dermatologist"),
    "case.processing_failed": _l("A problem occurred while checking your photos"),
    "case.claim": _l("A dermatologist started reviewing your case"),
    "case.reply": _l("You answered the dermatologist"),
    "case.withdraw": _l("The case was withdrawn"),
}
_ASSESSED = {
    "more_information": _l("The dermatologist asked you for more information"),
}
_RESPONDED = _l("The dermatologist responded")


@dataclass(frozen=True)
class Step:
    """One line of the timeline."""

    at: datetime
    text: str


def timeline_of(case: Case) -> list[Step]:
    """The case's steps, oldest first; a repeated claim (a renewal) is shown once per review."""
    events = db.session.execute(
        select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.details)
        .where(
            AuditEvent.object_type == "case",
            AuditEvent.object_id == case.public_id,
            AuditEvent.action.in_([*_STEPS, "case.assess"]),
            AuditEvent.outcome == "success",
        )
        .order_by(AuditEvent.seq)
    ).all()
    steps: list[Step] = []
    claimed = False
    for occurred_at, action, details in events:
        if action == "case.claim":
            if claimed:
                continue
            claimed = True
        if action == "case.assess":
            claimed = False
            text = _ASSESSED.get((details or {}).get("management", ""), _RESPONDED)
        else:
            text = _STEPS[action]
        steps.append(Step(occurred_at, str(text)))
    return steps
