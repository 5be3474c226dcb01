"""Which cases a member of staff may open: their queues, their claims, their patients."""

from __future__ import annotations

from sqlalchemy import exists, select

from casebox import services
from casebox.accounts.models import Role, User
from casebox.assessments.models import Assessment
from casebox.cases.models import Case, CaseStatus
from casebox.database import db, utcnow
from casebox.review.models import QueueMembership


def queues_of(user: User) -> set[str]:
    """The queue names a specialist works (an admin oversees every queue)."""
    if user.role == Role.ADMIN:
        return {rule.name for rule in services.settings().routing.queues}
    if user.role != Role.SPECIALIST:
        return set()
    return set(
        db.session.scalars(select(QueueMembership.queue).where(QueueMembership.user_id == user.id))
    )


def holds_live_claim(user: User, case: Case) -> bool:
    """Whether the user is reviewing this case now."""
    return (
        case.status == CaseStatus.IN_REVIEW
        and case.claimed_by_id == user.id
        and case.claim_expires_at is not None
        and case.claim_expires_at > utcnow()
    )


def claimed_by_someone_else(user: User, case: Case) -> bool:
    """Whether another specialist holds a live claim on the case."""
    return (
        case.status == CaseStatus.IN_REVIEW
        and case.claimed_by_id not in (None, user.id)
        and case.claim_expires_at is not None
        and case.claim_expires_at > utcnow()
    )


def staff_may_read(user: User, case: Case) -> bool:
    """Admins read any submitted case; specialists those of their queues and patients.

    A withdrawn case (its patient asked for erasure) is kept only as the record the law
    requires until the purge: no specialist works on it any more, only admins may read it.
    """
    if case.status == CaseStatus.DRAFT:
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.SPECIALIST or case.status == CaseStatus.WITHDRAWN:
        return False
    if case.queue in queues_of(user) or case.claimed_by_id == user.id:
        return True
    return _reviewing_patient(user, case.patient_id) or _assessed(user, case)


def _reviewing_patient(user: User, patient_id: int) -> bool:
    # While reviewing one of a patient's cases, the specialist may open the others.
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Case.patient_id == patient_id,
                    Case.status == CaseStatus.IN_REVIEW,
                    Case.claimed_by_id == user.id,
                    Case.claim_expires_at > utcnow(),
                )
            )
        )
    )


def _assessed(user: User, case: Case) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(Assessment.case_id == case.id, Assessment.specialist_id == user.id)
            )
        )
    )
