"""The patient's reply to a request for more information: the case goes back to the asker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casebox.accounts.models import User
from casebox.assessments.models import Assessment, Management
from casebox.audit import trail
from casebox.cases.models import Case, CaseReply, CaseStatus
from casebox.cases.operations import find_case, send_for_review
from casebox.database import db, new_public_id
from casebox.errors import Conflict


def reply_to_request(
    patient: User, case_id: str, *, message: str, accept_quality_warnings: bool = False
) -> CaseReply:
    """Record the answer and resubmit the case; routing gives it back to the specialist.

    The photos added since the request follow the submit rules (all checked, warnings
    accepted explicitly); nothing is written when they are not ready.
    """
    case = find_case(patient, case_id, for_update=True)
    if case.status != CaseStatus.MORE_INFO_REQUESTED:
        raise Conflict(f"The case is {case.status}; nobody is waiting for an answer.")
    request = _open_request(case)
    send_for_review(patient, case, accept_quality_warnings=accept_quality_warnings)
    reply = CaseReply(
        public_id=new_public_id(),
        case_id=case.id,
        assessment_id=request.id if request else None,
        message=message.strip(),
    )
    db.session.add(reply)
    if request is not None:
        case.preferred_specialist_id = request.specialist_id
    trail.record("case.reply", object_type="case", object_id=case.public_id,
                 details={"reply": reply.public_id})  # fmt: skip
    return reply


def _open_request(case: Case) -> Assessment | None:
    return db.session.scalar(
        select(Assessment)
        .where(Assessment.case_id == case.id, Assessment.management == Management.MORE_INFORMATION)
        .order_by(Assessment.id.desc())
        .limit(1)
    )


def replies_of(case: Case) -> list[dict[str, Any]]:
    """The patient's replies, oldest first, each with the request it answers."""
    rows = db.session.execute(
        select(CaseReply, Assessment.information_request, Assessment.created_at)
        .outerjoin(Assessment, Assessment.id == CaseReply.assessment_id)
        .where(CaseReply.case_id == case.id)
        .order_by(CaseReply.id)
    ).all()
    return [
        {
            "id": reply.public_id,
            "message": reply.message,
            "created_at": reply.created_at.isoformat(),
            "information_request": request,
            "requested_at": asked.isoformat() if asked else None,
        }
        for reply, request, asked in rows
    ]
