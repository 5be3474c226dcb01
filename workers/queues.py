"""Queue names and the mapping from outbox topics to jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from casebox import clock, services
from casebox.database import utcnow
from casebox.outbox.events import (
    CASE_SUBMITTED,
    FOLLOW_UP_SET,
    NOTIFICATION_CREATED,
    PHOTO_UPLOADED,
    PRESCRIPTION_ISSUED,
)

DEFAULT_QUEUE = "casebox"
# Well below the worker heartbeat TTL (monitoring interval + 60 s): a running job
# must never look abandoned. Normalizing a 64-megapixel photo takes a few seconds.
JOB_TIMEOUT_SECONDS = 55


@dataclass(frozen=True)
class JobSpec:
    """Which function a topic runs, its deterministic job id and, for reminders, when."""

    function: str
    job_id: Callable[[dict[str, Any]], str]
    # When the job should run, by casebox's clock (None: now); later ones go to RQ's scheduler.
    run_at: Callable[[dict[str, Any]], datetime | None] = lambda payload: None


def follow_up_job_id(follow_up_id: str) -> str:
    """The deterministic id of a follow-up's reminder job."""
    return f"follow-up-due-{follow_up_id}"


TOPIC_JOBS: dict[str, JobSpec] = {
    PHOTO_UPLOADED: JobSpec(
        "workers.jobs.normalize_photo", lambda payload: f"normalize-photo-{payload['photo_id']}"
    ),
    CASE_SUBMITTED: JobSpec(
        "workers.jobs.process_case", lambda payload: f"process-case-{payload['case_id']}"
    ),
    PRESCRIPTION_ISSUED: JobSpec(
        "workers.jobs.render_prescription_pdf",
        lambda payload: f"prescription-pdf-{payload['prescription_id']}",
    ),
    NOTIFICATION_CREATED: JobSpec(
        "workers.jobs.send_notification",
        lambda payload: f"notification-{payload['notification_id']}",
    ),
    FOLLOW_UP_SET: JobSpec(
        "workers.jobs.follow_up_due",
        lambda payload: follow_up_job_id(payload["follow_up_id"]),
        run_at=lambda payload: datetime.fromisoformat(payload["due_at"]),
    ),
}


def default_queue(connection: Redis) -> Queue:
    """The queue every pipeline job goes to."""
    return Queue(DEFAULT_QUEUE, connection=connection)


LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def enqueue_job(queue: Queue, spec: JobSpec, payload: dict[str, Any]) -> Job:
    """Enqueue a pipeline job with its deterministic id, retries and failure callback.

    A job whose time (``spec.run_at``, by casebox's clock) is still to come goes to RQ's
    scheduler for that moment in real time; the worker's scheduler enqueues it then.
    """
    intervals = list(services.settings().job_retry_intervals)
    options: dict[str, Any] = {
        "job_id": spec.job_id(payload),
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "retry": Retry(max=len(intervals), interval=intervals) if intervals else None,
        "on_failure": Callback("workers.jobs.on_final_failure"),
    }
    when = spec.run_at(payload)
    now = clock.now()
    if when is not None and when > now:
        real_time = when - (now - utcnow())  # casebox's clock may run ahead (tests)
        return queue.enqueue_at(real_time, spec.function, **options, **payload)
    if when is not None:  # due now: it must not also wait in the scheduler
        ScheduledJobRegistry(queue=queue).remove(options["job_id"])
    return queue.enqueue(spec.function, **options, **payload)


def waits_past_its_time(queue: Queue, spec: JobSpec, payload: dict[str, Any]) -> bool:
    """Whether a timed job still sits in RQ's scheduler although casebox's clock says it is due.

    Happens when the clock is moved ahead (tests, drills); the sweeper then runs it now.
    """
    when = spec.run_at(payload)
    if when is None or when > clock.now():
        return False
    registry = ScheduledJobRegistry(queue=queue)
    return queue.connection.zscore(registry.key, spec.job_id(payload)) is not None


def job_is_live(queue: Queue, job_id: str) -> bool:
    """Whether RQ still holds this job as waiting, running or scheduled."""
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return False
    return job.get_status() in LIVE_STATUSES
