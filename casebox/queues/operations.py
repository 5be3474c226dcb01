"""Reading the review queues: counts, SLA clocks and cases in working order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from casebox import services
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.database import db, utcnow
from casebox.errors import NotFound
from casebox.queues.rules import PRIORITY_RANK, QueueRule

DUE_SOON = timedelta(hours=24)


@dataclass(frozen=True)
class QueueSummary:
    """One queue with its workload and SLA clocks."""

    rule: QueueRule
    waiting: int
    due_soon: int
    breached: int

    @property
    def name(self) -> str:
        """The queue's name."""
        return self.rule.name


def summarize_queues(now: datetime | None = None) -> list[QueueSummary]:
    """Every configured queue with counts of waiting, due-soon and breached cases."""
    now = now or utcnow()
    waiting = Case.status == CaseStatus.AWAITING_REVIEW
    rows = db.session.execute(
        select(
            Case.queue,
            func.count(),
            func.sum(sql_case((Case.sla_due_at < now, 1), else_=0)),
            func.sum(
                sql_case(
                    ((Case.sla_due_at >= now) & (Case.sla_due_at < now + DUE_SOON), 1), else_=0
                )
            ),
        )
        .where(waiting)
        .group_by(Case.queue)
    ).all()
    counts = {queue: (total, breached or 0, soon or 0) for queue, total, breached, soon in rows}
    summaries = []
    for rule in services.settings().routing.queues:
        total, breached, soon = counts.get(rule.name, (0, 0, 0))
        summaries.append(QueueSummary(rule, total, soon, breached))
    return summaries


@dataclass(frozen=True)
class QueuePage:
    """One page of a queue's cases, most pressing first."""

    queue: str
    items: list[Case]
    page: int
    per_page: int
    total: int


def list_queue_cases(name: str, *, page: int, per_page: int) -> QueuePage:
    """Cases awaiting review in a queue, by priority and then by SLA due time (audited)."""
    try:
        services.settings().routing.queue(name)
    except KeyError:
        raise NotFound("No such queue.") from None
    in_queue = (Case.queue == name) & (Case.status == CaseStatus.AWAITING_REVIEW)
    rank = sql_case(PRIORITY_RANK, value=Case.priority, else_=len(PRIORITY_RANK))
    total = db.session.scalar(select(func.count()).where(in_queue)) or 0
    items = db.session.scalars(
        select(Case)
        .where(in_queue)
        .order_by(rank, Case.sla_due_at, Case.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    trail.record("queue.view", object_type="queue", object_id=name,
                 details={"page": page, "count": len(items)})  # fmt: skip
    return QueuePage(name, list(items), page, per_page, total)
