"""Reading the review queues: counts, SLA clocks and cases in working order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from casebox import services
from casebox.accounts.models import User
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.database import db, utcnow
from casebox.errors import NotFound
from casebox.queues.routing import age_in_years
from casebox.queues.rules import PRIORITY_RANK, QueueRule
from casebox.review.access import queues_of
from casebox.review.claims import Claim, claim_of

DUE_SOON = timedelta(hours=24)


@dataclass(frozen=True)
class QueueSummary:
    """One queue with its workload and SLA clocks."""

    rule: QueueRule
    waiting: int
    in_review: int
    due_soon: int
    breached: int

    @property
    def name(self) -> str:
        """The queue's name."""
        return self.rule.name


def _claimed_now(now: datetime) -> ColumnElement[bool]:
    return and_(Case.status == CaseStatus.IN_REVIEW, Case.claim_expires_at > now)


def _reviewable() -> ColumnElement[bool]:
    return Case.status.in_((CaseStatus.AWAITING_REVIEW, CaseStatus.IN_REVIEW))


def summarize_queues(user: User, now: datetime | None = None) -> list[QueueSummary]:
    """The user's queues with counts of waiting, in-review, due-soon and breached cases."""
    now = now or utcnow()
    claimed = _claimed_now(now)
    rows = db.session.execute(
        select(
            Case.queue,
            func.count(),
            func.sum(sql_case((claimed, 1), else_=0)),
            func.sum(sql_case((Case.sla_due_at < now, 1), else_=0)),
            func.sum(
                sql_case(
                    ((Case.sla_due_at >= now) & (Case.sla_due_at < now + DUE_SOON), 1), else_=0
                )
            ),
        )
        .where(_reviewable())
        .group_by(Case.queue)
    ).all()
    counts = {row[0]: tuple(int(value or 0) for value in row[1:]) for row in rows}
    mine = queues_of(user)
    summaries = []
    for rule in services.settings().routing.queues:
        if rule.name not in mine:
            continue
        total, in_review, breached, soon = counts.get(rule.name, (0, 0, 0, 0))
        summaries.append(QueueSummary(rule, total - in_review, in_review, soon, breached))
    return summaries


@dataclass(frozen=True)
class QueueItem:
    """A case as the queue lists it: triage, SLA state, claim and the patient's age and sex."""

    case: Case
    sla_state: str
    claim: Claim | None
    mine: bool
    patient_age: int | None
    patient_sex: str | None

    def __getattr__(self, name: str) -> Any:
        # The schema reads case fields (id, priority, ...) straight through.
        return getattr(self.case, name)


@dataclass(frozen=True)
class QueuePage:
    """One page of a queue's cases, most pressing first."""

    queue: str
    items: list[QueueItem]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class QueueFilters:
    """Optional narrowing of a queue listing."""

    priority: str | None = None
    sla: str | None = None  # breached, due_soon, ok
    claim: str | None = None  # unclaimed, mine, others
    body_site: str | None = None


def list_queue_cases(
    user: User, name: str, *, page: int, per_page: int, filters: QueueFilters | None = None
) -> QueuePage:
    """Cases to review in a queue, by priority and then by SLA due time (audited)."""
    if name not in queues_of(user):
        raise NotFound("No such queue.")
    now = utcnow()
    where = [Case.queue == name, _reviewable(), *_filter_clauses(user, filters, now)]
    rank = sql_case(PRIORITY_RANK, value=Case.priority, else_=len(PRIORITY_RANK))
    order = (rank, Case.sla_due_at, Case.id)
    total = db.session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    # Sort and page the queue's narrow index entries (an index-only scan of
    # ix_cases_queue_status_due on PostgreSQL), then read only the page's rows:
    # sorting whole rows would read every waiting case of the queue from the table.
    page_ids = (
        select(Case.id)
        .where(*where)
        .order_by(*order)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .subquery()
    )
    cases = db.session.scalars(
        select(Case)
        .join(page_ids, page_ids.c.id == Case.id)
        .options(
            selectinload(Case.claimed_by),
            selectinload(Case.patient).selectinload(User.patient),
        )
        .order_by(*order)
    ).all()
    items = [_item(user, case, now) for case in cases]
    trail.record("queue.view", object_type="queue", object_id=name,
                 details={"page": page, "count": len(items)})  # fmt: skip
    return QueuePage(name, items, page, per_page, total)


def _filter_clauses(
    user: User, filters: QueueFilters | None, now: datetime
) -> list[ColumnElement[bool]]:
    if filters is None:
        return []
    clauses: list[ColumnElement[bool]] = []
    if filters.priority:
        clauses.append(Case.priority == filters.priority)
    if filters.body_site:
        clauses.append(Case.body_site == filters.body_site)
    if filters.sla == "breached":
        clauses.append(Case.sla_due_at < now)
    elif filters.sla == "due_soon":
        clauses.append(and_(Case.sla_due_at >= now, Case.sla_due_at < now + DUE_SOON))
    elif filters.sla == "ok":
        clauses.append(or_(Case.sla_due_at.is_(None), Case.sla_due_at >= now + DUE_SOON))
    claimed = _claimed_now(now)
    if filters.claim == "unclaimed":
        clauses.append(~claimed)
    elif filters.claim == "mine":
        clauses.append(and_(claimed, Case.claimed_by_id == user.id))
    elif filters.claim == "others":
        clauses.append(and_(claimed, Case.claimed_by_id != user.id))
    return clauses


def sla_state(due: datetime | None, now: datetime) -> str:
    """breached, due_soon (within 24 h) or ok."""
    if due is None or due >= now + DUE_SOON:
        return "ok"
    return "breached" if due < now else "due_soon"


def _item(user: User, case: Case, now: datetime) -> QueueItem:
    claim = claim_of(case)
    profile = case.patient.patient
    submitted = (case.submitted_at or case.created_at).date()
    return QueueItem(
        case=case,
        sla_state=sla_state(case.sla_due_at, now),
        claim=claim,
        mine=claim is not None and claim.specialist.id == user.id,
        patient_age=age_in_years(profile.date_of_birth, submitted) if profile else None,
        patient_sex=str(profile.sex) if profile else None,
    )
