"""The outbox relay: hands committed outbox events to RQ, at least once.

Job ids are deterministic, so an event relayed twice (after a crash between
enqueueing and marking it dispatched) runs a job that is idempotent anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rq import Queue
from sqlalchemy import select

from casebox.database import db, utcnow
from casebox.outbox.models import OutboxEvent
from workers.queues import TOPIC_JOBS, enqueue_job
from workers.sweeper import sweep_stuck_work

log = logging.getLogger(__name__)


def relay_pending(queue: Queue, *, batch_size: int = 100) -> int:
    """Enqueue up to ``batch_size`` undispatched events and mark them; returns the count."""
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(batch_size)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # several relays may run
    events = db.session.scalars(query).all()
    for event in events:
        spec = TOPIC_JOBS.get(event.topic)
        if spec is None:
            log.error("outbox event %s has unknown topic %s; left pending", event.id, event.topic)
            continue
        enqueue_job(queue, spec, event.payload)
        event.dispatched_at = utcnow()
    db.session.commit()
    return len(events)


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
            relayed = relay_pending(queue)
        except Exception:  # keep relaying after a transient database or Redis error
            db.session.rollback()
            log.exception("outbox relay pass failed; retrying")
            relayed = 0
        if relayed == 0:
            time.sleep(interval)
