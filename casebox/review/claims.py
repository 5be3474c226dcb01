"""Claiming a case for review under a lease, returning it and reassigning it.

A claim is taken by one conditional UPDATE: it succeeds only if the case is waiting,
or is already this specialist's, or its lease has lapsed. The database applies it
atomically (PostgreSQL re-checks the condition after waiting for a concurrent
writer's row lock; SQLite writes one transaction at a time), so two specialists can
never both hold a case, whatever the timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from casebox import services
from casebox.accounts.models import Role, User
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.database import db, utcnow
from casebox.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casebox.review.access import claimed_by_someone_else, queues_of, staff_may_read

REVIEWABLE = (CaseStatus.AWAITING_REVIEW, CaseStatus.IN_REVIEW)


@dataclass(frozen=True)
class Claim:
    """Who reviews a case, since when and until when unless renewed."""

    case_id: str
    specialist: User
    claimed_at: datetime
    expires_at: datetime


def claim_of(case: Case) -> Claim | None:
    """The live claim on a case, if any."""
    if (
        case.status != CaseStatus.IN_REVIEW
        or case.claimed_by is None
        or case.claimed_at is None
        or case.claim_expires_at is None
        or case.claim_expires_at <= utcnow()
    ):
        return None
    return Claim(case.public_id, case.claimed_by, case.claimed_at, case.claim_expires_at)


def _case_for_review(user: User, case_id: str) -> Case:
    case = db.session.scalar(select(Case).where(Case.public_id == case_id))
    if case is None or not staff_may_read(user, case):
        raise NotFound("No such case.")
    return case


def claim_case(specialist: User, case_id: str) -> Claim:
    """Claim a case for review, or renew this specialist's claim on it."""
    if specialist.role != Role.SPECIALIST:
        raise Forbidden("Only specialists review cases.")
    case = _case_for_review(specialist, case_id)
    if case.status not in REVIEWABLE:
        raise Conflict(f"The case is {case.status}, not awaiting review.")
    now = utcnow()
    renewing = case.status == CaseStatus.IN_REVIEW and case.claimed_by_id == specialist.id
    taken = db.session.execute(
        update(Case)
        .where(
            Case.id == case.id,
            or_(
                Case.status == CaseStatus.AWAITING_REVIEW,
                and_(
                    Case.status == CaseStatus.IN_REVIEW,
                    or_(Case.claimed_by_id == specialist.id, Case.claim_expires_at <= now),
                ),
            ),
        )
        .values(
            status=CaseStatus.IN_REVIEW,
            claimed_by_id=specialist.id,
            claimed_at=case.claimed_at if renewing else now,
            claim_expires_at=now + _lease(),
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        db.session.refresh(case)
        raise Conflict(_held_message(case))
    db.session.refresh(case)
    trail.record("case.renew_claim" if renewing else "case.claim", object_type="case",
                 object_id=case.public_id)  # fmt: skip
    claim = claim_of(case)
    if claim is None:  # just written in this transaction
        raise RuntimeError("claim vanished inside its own transaction")
    return claim


def release_case(user: User, case_id: str) -> None:
    """Return a claimed case to its queue (the specialist holding it, or an admin)."""
    case = _case_for_review(user, case_id)
    if case.status != CaseStatus.IN_REVIEW:
        raise Conflict("The case is not being reviewed.")
    if user.role != Role.ADMIN and case.claimed_by_id != user.id:
        raise Conflict(_held_message(case))
    end_claim(case, CaseStatus.AWAITING_REVIEW)
    trail.record("case.release", object_type="case", object_id=case.public_id)


def reassign_case(admin: User, case_id: str, specialist_id: str) -> Claim:
    """Give a case to another specialist with a fresh lease (admins)."""
    case = _case_for_review(admin, case_id)
    if case.status not in REVIEWABLE:
        raise Conflict(f"The case is {case.status}, not awaiting review.")
    target = db.session.scalar(select(User).where(User.public_id == specialist_id))
    if target is None or target.role != Role.SPECIALIST or not target.active:
        raise ValidationFailed(
            "Choose an active specialist.", errors={"specialist_id": ["not an active specialist"]}
        )
    if case.queue not in queues_of(target):
        raise ValidationFailed(
            "That specialist does not work this case's queue.",
            errors={"specialist_id": ["not a member of the case's queue"]},
        )
    now = utcnow()
    case.status = CaseStatus.IN_REVIEW
    case.claimed_by_id = target.id
    case.claimed_at = now
    case.claim_expires_at = now + _lease()
    db.session.flush()
    db.session.refresh(case)
    trail.record("case.reassign", object_type="case", object_id=case.public_id,
                 details={"to": target.public_id})  # fmt: skip
    claim = claim_of(case)
    if claim is None:
        raise RuntimeError("claim vanished inside its own transaction")
    return claim


def reserve_for_return(case: Case) -> Claim | None:
    """Hold a case coming back (follow-up, reply) for the specialist who should see it.

    Only when that specialist is active and works the case's queue, and the case is
    waiting unclaimed; the lease is ``return_reservation_hours``, never past the SLA due
    time. One conditional UPDATE, like a claim; otherwise the case waits in its queue.
    """
    specialist = db.session.get(User, case.preferred_specialist_id or 0)
    if (
        specialist is None
        or specialist.role != Role.SPECIALIST
        or not specialist.active
        or case.queue not in queues_of(specialist)
    ):
        return None
    now = utcnow()
    until = now + timedelta(hours=services.settings().return_reservation_hours)
    if case.sla_due_at is not None:
        until = min(until, case.sla_due_at)
    if until <= now:
        return None
    db.session.flush()  # the routing decision is in the row the UPDATE checks
    taken = db.session.execute(
        update(Case)
        .where(
            Case.id == case.id,
            Case.status == CaseStatus.AWAITING_REVIEW,
            Case.claimed_by_id.is_(None),
        )
        .values(
            status=CaseStatus.IN_REVIEW,
            claimed_by_id=specialist.id,
            claimed_at=now,
            claim_expires_at=until,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(case)
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        return None
    trail.record("case.reserve", object_type="case", object_id=case.public_id,
                 details={"for": specialist.public_id})  # fmt: skip
    return claim_of(case)


def require_claim(user: User, case: Case) -> None:
    """Raise unless the user holds the case's claim (a lapsed one nobody took still counts)."""
    if case.status == CaseStatus.IN_REVIEW and case.claimed_by_id == user.id:
        return
    if claimed_by_someone_else(user, case):
        raise Conflict(_held_message(case))
    raise Conflict("Open the case for review first: it is not claimed by you.")


def end_claim(case: Case, status: CaseStatus) -> None:
    """Clear the claim as the case leaves review (returned, assessed, reassigned)."""
    case.status = status
    case.claimed_by_id = None
    case.claimed_at = None
    case.claim_expires_at = None
    db.session.flush()


def _held_message(case: Case) -> str:
    holder = case.claimed_by
    until = case.claim_expires_at
    if case.status == CaseStatus.IN_REVIEW and holder is not None and until is not None:
        return (
            f"{holder.name} is reviewing this case (claim until {until:%H:%M} UTC). "
            "It opens again when they return it or the claim lapses."
        )
    return f"The case is {case.status}, not awaiting review."


def _lease() -> timedelta:
    return timedelta(minutes=services.settings().claim_lease_minutes)
