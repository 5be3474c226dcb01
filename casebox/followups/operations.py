"""The verbs of follow-ups: set one from an assessment, cancel it, remind on the due date.

The database is the source of truth. Setting a follow-up writes an outbox event; the
relay hands it to RQ's scheduler at the due time under a deterministic job id, and the
sweeper puts back any reminder Redis lost. The reminder (:func:`remind`) moves a
follow-up from scheduled to due with one conditional UPDATE, so however often it runs,
the patient gets one pre-created follow-up case and one notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.orm import joinedload

from casebox import clock
from casebox.accounts.models import PatientProfile, Role, User
from casebox.assessments.models import Assessment
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.database import db, new_public_id
from casebox.errors import Conflict, NotFound
from casebox.followups.models import FollowUp, FollowUpStatus
from casebox.notifications.models import NotificationKind
from casebox.notifications.operations import notify
from casebox.outbox.events import FOLLOW_UP_SET, emit
from casebox.queues.routing import age_in_years
from casebox.review.access import queues_of

# A follow-up set for a date is due at this time of day (UTC) on that date.
DUE_TIME_OF_DAY = time(8, 0, tzinfo=UTC)
OPEN = (FollowUpStatus.SCHEDULED, FollowUpStatus.DUE)


def due_time(data: dict[str, Any]) -> datetime:
    """When a follow-up asked for as ``interval_days`` or ``due_on`` falls due."""
    if data.get("interval_days"):
        return clock.now() + timedelta(days=int(data["interval_days"]))
    due_on: date = data["due_on"]
    return datetime.combine(due_on, DUE_TIME_OF_DAY)


def set_follow_up(
    specialist: User, case: Case, assessment: Assessment, data: dict[str, Any]
) -> FollowUp:
    """Record a follow-up in the assessment's transaction; its reminder is queued on commit."""
    follow_up = FollowUp(
        public_id=new_public_id(),
        baseline_case_id=case.id,
        patient_id=case.patient_id,
        specialist_id=specialist.id,
        assessment=assessment,
        due_at=due_time(data),
        instructions=data["instructions"],
        status=FollowUpStatus.SCHEDULED,
    )
    db.session.add(follow_up)
    emit(FOLLOW_UP_SET, follow_up_id=follow_up.public_id, due_at=follow_up.due_at.isoformat())
    details = {"case_id": case.public_id, "due_at": follow_up.due_at.isoformat()}
    trail.record("follow_up.set", object_type="follow_up", object_id=follow_up.public_id,
                 details=details)  # fmt: skip
    return follow_up


def follow_up_of_case(case: Case) -> FollowUp | None:
    """The latest follow-up set on a case (its baseline), if any."""
    return db.session.scalar(
        select(FollowUp)
        .where(FollowUp.baseline_case_id == case.id)
        .order_by(FollowUp.id.desc())
        .limit(1)
    )


def follow_up_answered_by(case: Case) -> FollowUp | None:
    """The follow-up whose pre-created case this is, if it is one."""
    if case.follow_up_of_id is None:
        return None
    return db.session.scalar(select(FollowUp).where(FollowUp.follow_up_case_id == case.id))


def _may_manage(user: User, follow_up: FollowUp) -> bool:
    """Admins, the specialist who set it, and specialists who hold or held its case."""
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.SPECIALIST:
        return False
    if follow_up.specialist_id == user.id or follow_up.baseline_case.claimed_by_id == user.id:
        return True
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Assessment.case_id == follow_up.baseline_case_id,
                    Assessment.specialist_id == user.id,
                )
            )
        )
    )


def find_follow_up(user: User, public_id: str, *, for_update: bool = False) -> FollowUp:
    """A follow-up the user may manage; NotFound otherwise, as for a missing id."""
    query = select(FollowUp).where(FollowUp.public_id == public_id)
    if for_update:
        query = query.with_for_update()
    follow_up = db.session.scalar(query)
    if follow_up is None or not _may_manage(user, follow_up):
        raise NotFound("No such follow-up.")
    return follow_up


def cancel_follow_up(user: User, public_id: str) -> FollowUp:
    """Cancel a follow-up that is not yet answered; its reminder then does nothing."""
    follow_up = find_follow_up(user, public_id, for_update=True)
    if follow_up.status not in OPEN:
        raise Conflict(f"The follow-up is {follow_up.status}; it can no longer be cancelled.")
    follow_up.status = FollowUpStatus.CANCELLED
    follow_up.cancelled_at = clock.now()
    trail.record("follow_up.cancel", object_type="follow_up", object_id=follow_up.public_id,
                 details={"case_id": follow_up.baseline_case.public_id})  # fmt: skip
    return follow_up


def remind(public_id: str) -> str | None:
    """The due-date step (the reminder job): pre-create the follow-up case, notify the patient.

    Idempotent: a conditional UPDATE moves the follow-up from scheduled to due exactly
    once, and only once it is due by casebox's clock. Returns the follow-up case's id
    when this run created it. A follow-up whose patient is gone or whose baseline case
    was withdrawn is cancelled instead (so the sweeper stops bringing it back).
    """
    now = clock.now()
    moved = db.session.execute(
        update(FollowUp)
        .where(
            FollowUp.public_id == public_id,
            FollowUp.status == FollowUpStatus.SCHEDULED,
            FollowUp.due_at <= now,
        )
        .values(status=FollowUpStatus.DUE, reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        return None  # not due yet, already reminded, cancelled or unknown
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.public_id == public_id))
    if follow_up is None:  # just updated in this transaction
        raise RuntimeError("follow-up vanished inside its own transaction")
    db.session.refresh(follow_up)
    baseline, patient = follow_up.baseline_case, follow_up.patient
    if not patient.active or baseline.status == CaseStatus.WITHDRAWN:
        follow_up.status = FollowUpStatus.CANCELLED
        follow_up.cancelled_at = now
        trail.record("follow_up.cancel", object_type="follow_up", object_id=public_id,
                     details={"reason": "patient_gone"})  # fmt: skip
        return None
    case = Case(
        public_id=new_public_id(),
        patient_id=patient.id,
        body_site=baseline.body_site,
        questionnaire=dict(baseline.questionnaire),
        status=CaseStatus.DRAFT,
        follow_up_of_id=baseline.id,
        preferred_specialist_id=follow_up.specialist_id,
    )
    db.session.add(case)
    db.session.flush()
    follow_up.follow_up_case_id = case.id
    notify(patient, NotificationKind.FOLLOW_UP_DUE, f"/my/cases/{case.public_id}")
    details = {"case_id": case.public_id, "baseline_case_id": baseline.public_id}
    trail.record("follow_up.due", object_type="follow_up", object_id=public_id, details=details)
    return case.public_id


def reminders_to_schedule() -> list[tuple[str, datetime]]:
    """Every follow-up still waiting for its reminder, with its due time (for the sweeper)."""
    rows = db.session.execute(
        select(FollowUp.public_id, FollowUp.due_at)
        .where(FollowUp.status == FollowUpStatus.SCHEDULED)
        .order_by(FollowUp.due_at)
    ).all()
    return [(str(public_id), due_at) for public_id, due_at in rows]


# ---- the staff listing ---------------------------------------------------------------

STATES = ("overdue", "due", "scheduled")


@dataclass(frozen=True)
class FollowUpRow:
    """One line of the staff listing."""

    follow_up: FollowUp
    patient_name: str
    age: int | None
    days_overdue: int


def _listing(user: User, state: str, now: datetime) -> Select[FollowUp]:
    query = select(FollowUp).join(Case, Case.id == FollowUp.baseline_case_id)
    if state == "overdue":  # due and the patient has not sent the follow-up case yet
        query = query.where(FollowUp.status.in_(OPEN), FollowUp.due_at <= now)
    elif state == "due":  # reminded: the follow-up case waits for the patient
        query = query.where(FollowUp.status == FollowUpStatus.DUE)
    else:
        query = query.where(FollowUp.status == FollowUpStatus.SCHEDULED, FollowUp.due_at > now)
    if user.role != Role.ADMIN:
        query = query.where(
            or_(FollowUp.specialist_id == user.id, Case.queue.in_(sorted(queues_of(user))))
        )
    return query.order_by(FollowUp.due_at, FollowUp.id)


def list_follow_ups(user: User, state: str, *, limit: int = 200) -> list[FollowUpRow]:
    """Follow-ups by state for a specialist (theirs, or of their queues) or an admin (audited)."""
    now = clock.now()
    follow_ups = db.session.scalars(
        _listing(user, state, now)
        .options(
            joinedload(FollowUp.baseline_case),
            joinedload(FollowUp.follow_up_case),
            joinedload(FollowUp.patient).joinedload(User.patient),
        )
        .limit(limit)
    ).all()
    trail.record("follow_up.list", object_type="user", object_id=user.public_id,
                 details={"state": state, "count": len(follow_ups)})  # fmt: skip
    rows = []
    for follow_up in follow_ups:
        profile: PatientProfile | None = follow_up.patient.patient
        rows.append(
            FollowUpRow(
                follow_up=follow_up,
                patient_name=follow_up.patient.name,
                age=age_in_years(profile.date_of_birth, now.date()) if profile else None,
                days_overdue=max(0, (now - follow_up.due_at).days),
            )
        )
    return rows
