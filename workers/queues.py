"""Queue names and the mapping from outbox topics to jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from casebox import services
from casebox.outbox.events import (
    CASE_SUBMITTED,
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
    """Which function a topic runs, and its deterministic job id."""

    function: str
    job_id: Callable[[dict[str, Any]], str]


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
}


def default_queue(connection: Redis) -> Queue:
    """The queue every pipeline job goes to."""
    return Queue(DEFAULT_QUEUE, connection=connection)


LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def enqueue_job(queue: Queue, spec: JobSpec, payload: dict[str, Any]) -> Job:
    """Enqueue a pipeline job with its deterministic id, retries and failure callback."""
    intervals = list(services.settings().job_retry_intervals)
    return queue.enqueue(
        spec.function,
        job_id=spec.job_id(payload),
        job_timeout=JOB_TIMEOUT_SECONDS,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        on_failure=Callback("workers.jobs.on_final_failure"),
        **payload,
    )


def job_is_live(queue: Queue, job_id: str) -> bool:
    """Whether RQ still holds this job as waiting, running or scheduled."""
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return False
    return job.get_status() in LIVE_STATUSES
