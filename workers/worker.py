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

import logging
from typing import Any

import cv2
from flask import Flask
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job

from casebox.analysis.lesion_model import lesion_model
from casebox.database import db

log = logging.getLogger(__name__)


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
        self._load_model()

    def _load_model(self) -> None:
        """Open the lesion model now, so the first case does not wait for it.

        Best effort: a model that does not load is logged here, and every job that needs
        it then fails and is retried as usual (ending in processing_failed), so a broken
        model file is reported on the cases rather than stopping the worker.
        """
        settings = self.app.extensions["casebox.settings"]
        try:
            lesion_model(settings.models_dir, settings.lesion_model)
        except Exception:
            log.exception("the lesion model did not load; jobs that need it will fail")

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
