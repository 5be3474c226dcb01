"""A worker killed mid-job delays a case but never loses or duplicates it.

These tests run real `casebox worker` processes against a real Redis server (a
private redis-server per test), SIGKILL the worker and its children while a job
runs, and start a fresh worker. RQ only declares a job abandoned once its
heartbeat expires (the monitoring interval plus RQ's fixed 60 s), so each test
takes about 70-90 s.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq.job import Job
from sqlalchemy import select

from casebox import services
from casebox.analysis.models import PhotoAnalysis
from casebox.app import create_app
from casebox.cases.models import Case, Photo
from casebox.database import db
from casebox.demo import synthetic_lesion_photo
from casebox.embedded_redis import EmbeddedRedis
from tests.conftest import test_settings
from tests.support import ApiClient
from workers.queues import default_queue
from workers.relay import relay_pending


@pytest.fixture
def crash_app(tmp_path: Path) -> Iterator[Flask]:
    """An app with its own database and its own Redis server, so that no worker process
    this test starts (or fails to kill) can ever take jobs from another test."""
    from flask_migrate import upgrade

    with EmbeddedRedis(tmp_path / "redis") as redis_server:
        url = f"sqlite:///{tmp_path / 'crash.db'}"
        app = create_app(test_settings(tmp_path, url, redis_server.url))
        with app.app_context():
            upgrade()
        try:
            yield app
        finally:
            _kill_processes_using(tmp_path)
            with app.app_context():
                db.engine.dispose()


def _kill_processes_using(data_dir: Path) -> None:
    """SIGKILL every process started with this test's data directory in its environment."""
    marker = f"CASEBOX_DATA_DIR={data_dir}".encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if marker in environ.read_bytes().split(b"\0"):
                os.kill(int(environ.parent.name), signal.SIGKILL)


def _worker(app: Flask) -> subprocess.Popen[bytes]:
    settings = app.extensions["casebox.settings"]
    env = {
        **os.environ,
        "CASEBOX_DATA_DIR": str(settings.data_dir),
        "CASEBOX_DATABASE_URL": settings.database_url,
        "CASEBOX_REDIS_URL": settings.redis_url,
        "CASEBOX_STORAGE_URL": settings.storage_url,
        "CASEBOX_SECRET_KEY": settings.secret_key,
        "CASEBOX_DATA_KEY": base64.urlsafe_b64encode(settings.data_key).decode(),
        "CASEBOX_WORKER_MONITORING_INTERVAL": "1",
        "CASEBOX_WORKER_MAINTENANCE_INTERVAL": "2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "casebox", "worker"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _kill_with_children(process: subprocess.Popen[bytes]) -> None:
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in children:
        with contextlib.suppress(ProcessLookupError):  # it may have just exited
            os.kill(int(pid), signal.SIGKILL)
    process.kill()
    process.wait()


def _large_photo() -> bytes:
    """A 24-megapixel phone-sized JPEG, so normalizing it takes long enough to interrupt."""
    return synthetic_lesion_photo(5, size=(6000, 4000))


def _get(api: ApiClient, token: str, url: str) -> dict[str, Any]:
    return dict(api.client.get(url, headers=api.auth(token)).get_json())


def _wait_until(condition: Callable[[], bool], seconds: float = 240, interval: float = 0.5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the pipeline did not recover in time"
        time.sleep(interval)


def test_killed_worker_mid_normalize_still_completes_exactly_once(crash_app: Flask) -> None:
    api = ApiClient(crash_app.test_client())
    token = api.patient()
    case = api.create_case(token)
    uploaded = api.upload(token, case["id"], _large_photo())
    assert uploaded.status_code == 201, uploaded.get_json()
    photo = uploaded.get_json()
    with crash_app.app_context():
        queue = default_queue(services.redis_connection())
        assert relay_pending(queue) == 1
        connection: Redis = queue.connection
    job_id = f"normalize-photo-{photo['id']}"
    first = _worker(crash_app)
    try:
        deadline = time.monotonic() + 120
        while Job.fetch(job_id, connection=connection).get_status() != "started":
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.01)
    finally:
        _kill_with_children(first)
    assert Job.fetch(job_id, connection=connection).get_status() == "started"  # interrupted
    case_url = f"/api/v1/cases/{case['id']}"
    second = _worker(crash_app)
    try:
        # RQ notices the abandoned job once its heartbeat expires and runs it again.
        _wait_until(
            lambda: _get(api, token, f"{case_url}/photos/{photo['id']}")["status"] == "ready"
        )
        assert Job.fetch(job_id, connection=connection).get_status() == "finished"
        assert api.client.post(f"{case_url}/submit", headers=api.auth(token)).status_code == 202
        with crash_app.app_context():
            relay_pending(queue)
        _wait_until(lambda: _get(api, token, case_url)["status"] == "awaiting_review")
    finally:
        _kill_with_children(second)
    objects = crash_app.extensions["casebox.settings"].data_dir / "objects"
    stored = sorted(path.name for path in objects.rglob("*") if path.is_file())
    assert stored == ["original", "review", "thumb"]
    with crash_app.app_context():
        assert db.session.scalar(select(Photo.status)) == "ready"
        assert db.session.scalar(select(Case.status)) == "awaiting_review"


def test_killed_worker_mid_analyze_still_completes_with_one_analysis(crash_app: Flask) -> None:
    api = ApiClient(crash_app.test_client())
    token = api.patient()
    case = api.create_case(token)
    # Six analysed photos keep the model busy for a second or more, so the kill below
    # lands while it runs even on a loaded machine.
    views = ("close_up", "dermoscopic") * 3
    for seed, view in enumerate(views):
        photo = synthetic_lesion_photo(seed, size=(4032, 3024))
        assert api.upload(token, case["id"], photo, view=view).status_code == 201
    case_url = f"/api/v1/cases/{case['id']}"
    with crash_app.app_context():
        queue = default_queue(services.redis_connection())
        connection: Redis = queue.connection
    worker = _worker(crash_app)
    try:
        with crash_app.app_context():
            relay_pending(queue)
        _wait_until(
            lambda: all(p["status"] == "ready" for p in _get(api, token, case_url)["photos"])
        )
    finally:
        _kill_with_children(worker)
    assert api.client.post(f"{case_url}/submit", headers=api.auth(token)).status_code == 202
    with crash_app.app_context():
        relay_pending(queue)
    job_id = f"process-case-{case['id']}"
    first = _worker(crash_app)
    try:
        # Kill the case job once "processing" is committed, while the model runs (the
        # worker loaded the model at start).
        _wait_until(lambda: Job.fetch(job_id, connection=connection).get_status() == "started", 120)
        _wait_until(lambda: _get(api, token, case_url)["status"] == "processing", 30, 0.02)
    finally:
        _kill_with_children(first)
    assert _get(api, token, case_url)["status"] == "processing"  # interrupted mid-way
    second = _worker(crash_app)
    try:
        _wait_until(lambda: _get(api, token, case_url)["status"] == "awaiting_review")
    finally:
        _kill_with_children(second)
    with crash_app.app_context():
        analyses = db.session.scalars(select(PhotoAnalysis.photo_id)).all()
    assert sorted(analyses) == list(range(1, len(views) + 1))  # one per photo, none twice
