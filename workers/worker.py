"""An RQ worker that runs each job inside a casebox application context."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.executions import Execution
from rq.job import Job

from casebox.database import db


class _AppContextMixin:
    """Run jobs in the app context; give forked work horses their own DB connections."""

    app: Flask
    _parent_pid: int

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        if os.getpid() != self._parent_pid:  # a forked horse must not share pooled sockets
            with self.app.app_context():
                db.engine.dispose(close=False)
        with self.app.app_context():
            try:
                return bool(super().perform_job(job, queue, execution))  # type: ignore[misc]
            finally:
                db.session.remove()

    def run_maintenance_tasks(self) -> None:
        # Abandoned-job cleanup runs failure callbacks, which need the database.
        with self.app.app_context():
            try:
                super().run_maintenance_tasks()  # type: ignore[misc]
            finally:
                db.session.remove()


class AppWorker(_AppContextMixin, Worker):
    """Forking worker for production: each job runs in a fresh work horse."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        settings = app.extensions["casebox.settings"]
        kwargs.setdefault("job_monitoring_interval", settings.worker_monitoring_interval)
        kwargs.setdefault("maintenance_interval", settings.worker_maintenance_interval)
        # RQ runs maintenance only between dequeues, and an idle worker blocks for
        # worker_ttl - 15 s; keep that wait within one maintenance interval.
        kwargs.setdefault("worker_ttl", settings.worker_maintenance_interval + 15)
        super().__init__(*args, **kwargs)
        self.app = app
        self._parent_pid = os.getpid()


class InProcessWorker(_AppContextMixin, SimpleWorker):
    """Same-process worker for tests and burst runs."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app
        self._parent_pid = os.getpid()
