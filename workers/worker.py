"""The RQ worker that runs casebox's pipeline jobs inside an application context.

Jobs run in the worker process itself rather than in a forked work horse, so
the lesion model's inference session is created once per worker process and
reused by every job (a horse per job would re-verify and reload it each time).
Crash safety does not depend on the horse: a killed worker's job is found
abandoned by its expired heartbeat and retried. Jobs are given a timeout below
the heartbeat TTL (see ``workers.queues``) so a slow job is never mistaken for
an abandoned one.
"""

from __future__ import annotations

from typing import Any

import cv2
from flask import Flask
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job

from casebox.database import db


class PipelineWorker(SimpleWorker):
    """Runs jobs and registry maintenance in the app context, on casebox's intervals."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        settings = app.extensions["casebox.settings"]
        kwargs.setdefault("job_monitoring_interval", settings.worker_monitoring_interval)
        kwargs.setdefault("maintenance_interval", settings.worker_maintenance_interval)
        # RQ runs maintenance only between dequeues, and an idle worker blocks for
        # worker_ttl - 15 s; keep that wait within one maintenance interval.
        kwargs.setdefault("worker_ttl", settings.worker_maintenance_interval + 15)
        super().__init__(*args, **kwargs)
        self.app = app
        # One thread per worker for OpenCV, as for ONNX Runtime (casebox.analysis.lesion_model):
        # scale out with worker processes, so N workers never oversubscribe N cores.
        cv2.setNumThreads(1)

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        with self.app.app_context():
            try:
                return bool(super().perform_job(job, queue, execution))
            finally:
                db.session.remove()

    def run_maintenance_tasks(self) -> None:
        # Abandoned-job cleanup runs failure callbacks, which need the database.
        with self.app.app_context():
            try:
                super().run_maintenance_tasks()
            finally:
                db.session.remove()
