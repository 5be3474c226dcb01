"""A case as staff see it (triage, analysis, patient context, claim, assessments) and
as the patient sees it (their answers, photos and the specialist's response)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casebox.accounts.models import User
from casebox.analysis.operations import analyses_of
from casebox.analysis.schemas import PhotoAnalysisSchema
from casebox.assessments.operations import assessments_of, latest_assessment
from casebox.assessments.schemas import AssessmentSchema, PatientResponseSchema
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.cases.operations import find_case
from casebox.cases.schemas import CaseSchema, PhotoSchema, StaffCaseSchema
from casebox.database import db
from casebox.followups.operations import follow_up_answered_by, follow_up_of_case
from casebox.followups.replies import replies_of
from casebox.followups.schemas import FollowUpSchema, StaffFollowUpSchema
from casebox.queues.routing import age_in_years
from casebox.review.claims import claim_of
from casebox.review.schemas import ClaimSchema
from prescriptions.operations import signed_prescriptions_of
from prescriptions.schemas import PrescriptionSchema

RESPONDED = (CaseStatus.COMPLETED, CaseStatus.MORE_INFO_REQUESTED)


def staff_view(case: Case) -> dict[str, Any]:
    """Everything a specialist needs to decide, as one JSON object."""
    body: dict[str, Any] = StaffCaseSchema().dump(case)
    body["analysis"] = PhotoAnalysisSchema(many=True).dump(analyses_of(case))
    body["patient"] = _patient_context(case)
    claim = claim_of(case)
    body["claim"] = ClaimSchema().dump(claim) if claim else None
    body["assessments"] = AssessmentSchema(many=True).dump(assessments_of(case))
    follow_up = follow_up_of_case(case)
    body["follow_up"] = StaffFollowUpSchema().dump(follow_up) if follow_up else None
    body["follow_up_of"] = _baseline(case)
    body["replies"] = replies_of(case)
    return body


def patient_view(case: Case) -> dict[str, Any]:
    """The patient's own case with the specialist's response once there is one."""
    body: dict[str, Any] = CaseSchema().dump(case)
    latest = latest_assessment(case) if case.status in RESPONDED else None
    body["response"] = PatientResponseSchema().dump(latest) if latest else None
    if body["response"] is not None:
        body["response"]["prescriptions"] = PrescriptionSchema(many=True).dump(
            signed_prescriptions_of(case)
        )
    follow_up = follow_up_of_case(case)
    body["follow_up"] = FollowUpSchema().dump(follow_up) if follow_up else None
    body["follow_up_of"] = _baseline(case)
    body["replies"] = replies_of(case)
    return body


def _baseline(case: Case) -> dict[str, Any] | None:
    """For a follow-up case: its baseline case, that case's photos and the instructions."""
    if case.follow_up_of_id is None:
        return None
    baseline = db.session.get(Case, case.follow_up_of_id)
    if baseline is None:
        return None
    answered = follow_up_answered_by(case)
    return {
        "case_id": baseline.public_id,
        "body_site": baseline.body_site,
        "submitted_at": baseline.submitted_at.isoformat() if baseline.submitted_at else None,
        "follow_up_id": answered.public_id if answered else None,
        "instructions": answered.instructions if answered else None,
        "photos": PhotoSchema(many=True).dump(baseline.photos),
    }


def _patient_context(case: Case) -> dict[str, Any]:
    profile = case.patient.patient
    on = (case.submitted_at or case.created_at).date()
    return {
        "age": age_in_years(profile.date_of_birth, on) if profile else None,
        "sex": str(profile.sex) if profile else None,
        "fitzpatrick": case.questionnaire.get("fitzpatrick"),
    }


def patient_history(user: User, case_id: str) -> list[dict[str, Any]]:
    """The same patient's other submitted cases, newest first, with photos (audited)."""
    case = find_case(user, case_id)
    others = db.session.scalars(
        select(Case)
        .where(
            Case.patient_id == case.patient_id,
            Case.id != case.id,
            Case.status != CaseStatus.DRAFT,
        )
        .options(selectinload(Case.photos))
        .order_by(Case.submitted_at.desc(), Case.id.desc())
    ).all()
    trail.record("case.history", object_type="case", object_id=case.public_id,
                 details={"count": len(others)})  # fmt: skip
    items = []
    for other in others:
        latest = latest_assessment(other)
        items.append(
            {
                "id": other.public_id,
                "status": str(other.status),
                "body_site": other.body_site,
                "submitted_at": other.submitted_at.isoformat() if other.submitted_at else None,
                "assessment": None
                if latest is None
                else {
                    "diagnosis": latest.diagnosis_display or latest.diagnosis_text,
                    "management": str(latest.management),
                    "created_at": latest.created_at.isoformat(),
                },
                "photos": PhotoSchema(many=True).dump(other.photos),
            }
        )
    return items
