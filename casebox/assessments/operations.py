"""Recording a specialist's assessment, and how often specialists agree with the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from casebox.accounts.models import User
from casebox.analysis.operations import analyses_of
from casebox.assessments.diagnoses import find_diagnosis
from casebox.assessments.models import AiAgreement, Assessment, Certainty, Management
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.cases.operations import find_case
from casebox.database import db
from casebox.errors import ValidationFailed
from casebox.followups.operations import set_follow_up
from casebox.notifications.models import NotificationKind as Kind
from casebox.notifications.operations import notify
from casebox.review.claims import end_claim, require_claim


def submit_assessment(specialist: User, case_id: str, data: dict[str, Any]) -> Assessment:
    """Record the assessment; the case completes or goes back to the patient for more."""
    case = find_case(specialist, case_id, for_update=True)
    require_claim(specialist, case)
    management = Management(data["management"])
    code, display, text = _diagnosis(data["diagnosis"])
    analyses = analyses_of(case)
    agreement = AiAgreement(data["ai_agreement"])
    if not analyses and agreement != AiAgreement.NOT_APPLICABLE:
        raise ValidationFailed(
            "There is no model output on this case to agree or disagree with.",
            errors={"ai_agreement": ["must be not_applicable: the case has no analysis"]},
        )
    if analyses and agreement == AiAgreement.NOT_APPLICABLE:
        raise ValidationFailed(
            "Say whether you agree with the model's pre-analysis.",
            errors={"ai_agreement": ["agree or disagree: the case has an analysis"]},
        )
    latest = analyses[-1] if analyses else None
    assessment = Assessment(
        case_id=case.id,
        specialist_id=specialist.id,
        diagnosis_code=code,
        diagnosis_display=display,
        diagnosis_text=text,
        certainty=Certainty(data["certainty"]),
        management=management,
        information_request=data.get("information_request") or None,
        patient_message=data["patient_message"],
        internal_note=data.get("internal_note") or None,
        ai_agreement=agreement,
        model_name=latest.model_name if latest else None,
        model_version=latest.model_version if latest else None,
    )
    db.session.add(assessment)
    more = management == Management.MORE_INFORMATION
    end_claim(case, CaseStatus.MORE_INFO_REQUESTED if more else CaseStatus.COMPLETED)
    details = {"management": str(management), "assessment": assessment.public_id}
    trail.record("case.assess", object_type="case", object_id=case.public_id, details=details)
    if data.get("follow_up") and not more:
        set_follow_up(specialist, case, assessment, data["follow_up"])
    notify(
        case.patient,
        Kind.CASE_MORE_INFO if more else Kind.CASE_RESPONSE,
        f"/api/v1/cases/{case.public_id}",
    )
    return assessment


def _diagnosis(value: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    code, text = value.get("code"), value.get("text")
    if code:
        diagnosis = find_diagnosis(code)
        if diagnosis is None:
            raise ValidationFailed(
                "That diagnosis code is not in the coded list; use free text instead.",
                errors={"diagnosis.code": ["not in the coded list"]},
            )
        return diagnosis.code, diagnosis.display, text or None
    return None, None, text


def assessments_of(case: Case) -> list[Assessment]:
    """Every assessment of a case, oldest first."""
    return list(
        db.session.scalars(
            select(Assessment).where(Assessment.case_id == case.id).order_by(Assessment.id)
        )
    )


def latest_assessment(case: Case) -> Assessment | None:
    """The most recent assessment of a case."""
    found = assessments_of(case)
    return found[-1] if found else None


@dataclass(frozen=True)
class ModelAgreement:
    """How often specialists agreed with one model version."""

    model_name: str
    model_version: str
    assessed: int
    agreed: int
    disagreed: int

    @property
    def agreement_rate(self) -> float | None:
        """Agreed over agreed plus disagreed; None before any judgement."""
        judged = self.agreed + self.disagreed
        return self.agreed / judged if judged else None


def model_agreement() -> list[ModelAgreement]:
    """Agreement per model name and version, over every assessment that judged the model."""
    rows = db.session.execute(
        select(
            Assessment.model_name,
            Assessment.model_version,
            func.count(),
            func.sum(case((Assessment.ai_agreement == AiAgreement.AGREE, 1), else_=0)),
            func.sum(case((Assessment.ai_agreement == AiAgreement.DISAGREE, 1), else_=0)),
        )
        .where(Assessment.model_name.is_not(None))
        .group_by(Assessment.model_name, Assessment.model_version)
        .order_by(Assessment.model_name, Assessment.model_version)
    ).all()
    trail.record("report.model_agreement", object_type="report", object_id="model-agreement")
    return [
        ModelAgreement(str(name), str(version), int(total), int(yes or 0), int(no or 0))
        for name, version, total, yes, no in rows
    ]
