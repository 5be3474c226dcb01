"""The outbox relay: hands committed outbox events to RQ, at least once.

Job ids are deterministic, so an event relayed twice (after a crash between
enqueueing and marking it dispatched) runs a job that is idempotent anyway.

The relay never talks to Redis while it holds SQLite's one write lock: there it reads
the pending events in a read-only (deferred, lock-free) transaction, enqueues them, and
only then marks them dispatched in a short write transaction. On PostgreSQL it locks the
events it relays (``FOR UPDATE SKIP LOCKED``) until they are marked, so several relays
share the work without enqueueing an event twice; those row locks hold up nobody else.
An idle relay only polls, in a read-only transaction, so it takes no lock at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rq import Queue
from sqlalchemy import Select, select, update

from casebox.database import db, read_only_transaction, utcnow
from casebox.outbox.models import OutboxEvent
from workers.queues import TOPIC_JOBS, enqueue_job
from workers.sweeper import sweep_stuck_work

log = logging.getLogger(__name__)


def relay_pending(queue: Queue, *, batch_size: int = 100) -> int:
    """Enqueue up to ``batch_size`` undispatched events and mark them; returns how many.

    An event of an unknown topic is logged and left pending (not counted). Starts and
    commits transactions of its own: call it outside a transaction.
    """
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(batch_size)
    )
    if db.session.get_bind().dialect.name != "postgresql":
        return _relay_then_mark(queue, query)
    # Several relays may run: each takes the events no other relay has locked.
    relayed = 0
    for event in db.session.scalars(query.with_for_update(skip_locked=True)).all():
        if _enqueue(queue, event.id, event.topic, event.payload):
            event.dispatched_at = utcnow()
            relayed += 1
    db.session.commit()
    return relayed


def _relay_then_mark(queue: Queue, query: Select[OutboxEvent]) -> int:
    """Read the events without a lock, enqueue them, then mark them in a short write."""
    with read_only_transaction():
        events = [(e.id, e.topic, dict(e.payload)) for e in db.session.scalars(query)]
    relayed = [
        number for number, topic, payload in events if _enqueue(queue, number, topic, payload)
    ]
    if relayed:
        db.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(relayed), OutboxEvent.dispatched_at.is_(None))
            .values(dispatched_at=utcnow())
        )
        db.session.commit()
    return len(relayed)


def _enqueue(queue: Queue, number: int, topic: str, payload: dict[str, Any]) -> bool:
    spec = TOPIC_JOBS.get(topic)
    if spec is None:
        log.error("outbox event %s has unknown topic %s; left pending", number, topic)
        return False
    enqueue_job(queue, spec, payload)
    return True


def _anything_pending() -> bool:
    """Whether any event waits, read without taking a lock."""
    with read_only_transaction():
        return (
            db.session.scalar(
                select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)).limit(1)
            )
            is not None
        )


def run_relay(
    queue: Queue,
    *,
    interval: float = 0.2,
    sweep_every: float = 30.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Relay forever (until ``should_stop``), polling when idle and sweeping now and then."""
    next_sweep = time.monotonic() + sweep_every
    while not should_stop():
        try:
            if time.monotonic() >= next_sweep:
                sweep_stuck_work(queue)
                next_sweep = time.monotonic() + sweep_every
            relayed = relay_pending(queue) if _anything_pending() else 0
        except Exception:  # keep relaying after a transient database or Redis error
            db.session.rollback()
            log.exception("outbox relay pass failed; retrying")
            relayed = 0
        if relayed == 0:
            time.sleep(interval)
