"""Queue names and the mapping from outbox topics to jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Queue

from casebox.outbox.events import CASE_SUBMITTED, PHOTO_UPLOADED

DEFAULT_QUEUE = "casebox"


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
        "workers.jobs.route_case", lambda payload: f"route-case-{payload['case_id']}"
    ),
}


def default_queue(connection: Redis) -> Queue:
    """The queue every pipeline job goes to."""
    return Queue(DEFAULT_QUEUE, connection=connection)
