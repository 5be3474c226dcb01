"""The daily purge of erased patients' records, run by RQ's scheduler.

The sweeper (run by the relay every 30 s) calls :func:`schedule_daily_purge`, which makes
sure the next run, at 02:00 UTC, sits in RQ's scheduler under a job id naming its day
(``purge-erased-2026-12-02``): scheduling it again is a no-op while it waits, and if Redis
loses it the next sweep puts it back. The workers run with RQ's scheduler
(``with_scheduler=True``), which enqueues the job when its time comes. Whether a patient
is due is decided by casebox's clock (casebox.clock) inside the job, not by this time.

A run stops starting new patients after ``RUN_BUDGET_SECONDS`` (well within the job
timeout) and, when some are left, queues another run at once. Admins can also purge by
hand with ``casebox purge-erased``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, time, timedelta
from typing import Final

from rq import Queue
from rq.job import Job

from casebox import services
from casebox.database import utcnow
from casebox.erasure.purge import purge_due
from workers.queues import JOB_TIMEOUT_SECONDS, default_queue, job_is_live

log = logging.getLogger(__name__)

PURGE_FUNCTION: Final = "workers.purge.purge_erased_patients"
PURGE_TIME: Final = time(2, 0)  # UTC, a quiet hour
RUN_BUDGET_SECONDS: Final = 30.0


def purge_erased_patients() -> int:
    """Job: purge every erased patient whose retention has passed; returns how many."""
    run = purge_due(budget_seconds=RUN_BUDGET_SECONDS)
    if run.remaining:
        queue = default_queue(services.redis_connection())
        _enqueue(queue, f"purge-erased-more-{uuid.uuid4().hex}")
        log.info("purge: %d done, more left; queued another run", len(run.purged))
    return len(run.purged)


def next_run_at(now: datetime) -> datetime:
    """The first 02:00 UTC after ``now``."""
    today = datetime.combine(now.date(), PURGE_TIME, tzinfo=now.tzinfo)
    return today if today > now else today + timedelta(days=1)


def purge_job_id(run_at: datetime) -> str:
    """The deterministic id of the scheduled run on ``run_at``'s day."""
    return f"purge-erased-{run_at:%Y-%m-%d}"


def schedule_daily_purge(queue: Queue) -> Job | None:
    """Put the next daily run in RQ's scheduler unless it is there; returns it if added."""
    run_at = next_run_at(utcnow())  # real time: RQ's scheduler knows no other clock
    job_id = purge_job_id(run_at)
    if job_is_live(queue, job_id):
        return None
    return queue.enqueue_at(run_at, PURGE_FUNCTION, job_id=job_id, job_timeout=JOB_TIMEOUT_SECONDS)


def _enqueue(queue: Queue, job_id: str) -> Job:
    return queue.enqueue(PURGE_FUNCTION, job_id=job_id, job_timeout=JOB_TIMEOUT_SECONDS)
