"""Photo pipeline throughput and submit latency with 12-megapixel phone photos, real workers.

Every case has three 4032x3024 phone-sized JPEGs (``synthetic_lesion_photo``: skin
grain and a lesion, about 6.6 MB each), views regional, close_up and dermoscopic. The
script starts the embedded Redis and two real ``casebox worker`` processes (forking RQ
workers, as ``casebox serve`` runs them) on a fresh SQLite database in a temp dir (or,
with ``--database-url``, on a PostgreSQL database that it drops and creates afresh, and
drops again at the end), runs the outbox relay in-process (``run_relay``, as ``casebox
relay`` does), and drives the API through the Flask test client. Loopback and Unix
sockets only. It measures:

1. Throughput: N cases are created and their photos uploaded while the relay is off,
   so nothing is queued yet. The clock starts when the relay starts, the photos are
   normalized, each case is submitted as soon as its own photos are ready (as a patient
   would, so normalize and analyze jobs interleave), and the clock stops at the last
   case's ``awaiting_review`` (its ``updated_at``). Photos/s counts 3 per case; upload
   time is outside the clock (and reported on its own).
2. Latency: M more cases with photos already ready are submitted at a fixed rate
   (default 1 per second, open loop: each submit request runs in its own thread and
   test client, so one that waits for a lock does not delay the next). Latency runs
   from the start of the submit request to the case's ``updated_at`` as it became
   ``awaiting_review``; the server-only figure (from ``submitted_at``) and a breakdown
   from RQ's job timestamps (relay delay, queue wait, job run) and the audit trail
   (model runs) are shown too.
3. The floor, after the workers have stopped: one process, one loaded ``LesionModel``;
   per photo only a JPEG decode with the pipeline's draft (half scale here) and one model
   run; then the same loop in as many processes at once as there are workers. The
   headline is the pipeline as a fraction of that parallel floor: two processes on two
   cores contend for caches and memory, so the single-process floor x 2 (also shown)
   is a rate no two-process pipeline can reach.
4. The naive pipeline, same process: per photo a full decode (no draft), review and
   thumbnail derivatives, the quality check and a new ONNX session (``load_model``)
   before one model run; the pipeline's speed-up over it.

CPU figures come from /proc (Linux): the workers' own CPU time, including their reaped
work horses, and the whole machine's, which includes any other load on it.
Prints figures only; it asserts nothing. About 2.5 minutes with the defaults on 2 cores.

    .venv/bin/python benchmarks/pipeline_throughput.py [--cases 20] [--latency-cases 20]
        [--rate 1] [--workers 2] [--floor-photos 15] [--naive-photos 9] [--keep-data]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/casebox_bench_pipeline]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import onnxruntime
import PIL
from flask import Flask
from PIL import Image, ImageOps
from redis import Redis
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casebox import services  # noqa: E402
from casebox.analysis.lesion_model import MODELS_ROOT  # noqa: E402
from casebox.app import create_app  # noqa: E402
from casebox.audit.models import AuditEvent  # noqa: E402
from casebox.cases.models import Case  # noqa: E402
from casebox.database import db  # noqa: E402
from casebox.demo import synthetic_lesion_photo  # noqa: E402
from casebox.embedded_redis import EmbeddedRedis  # noqa: E402
from casebox.photos.derivatives import (  # noqa: E402
    REVIEW_LONG_EDGE,
    REVIEW_MIN_LONG_EDGE,
    REVIEW_QUALITY,
    THUMB_LONG_EDGE,
    THUMB_QUALITY,
    fit_within,
    to_srgb,
)
from casebox.photos.quality import QualityThresholds, assess_quality  # noqa: E402
from casebox.serving import stop_processes  # noqa: E402
from casebox.settings import Settings, new_data_key  # noqa: E402
from models import LesionMetadata, LesionModel, ModelManifest, discover_models, load_model  # noqa: E402
from tests.support import ApiClient  # noqa: E402
from workers.queues import default_queue  # noqa: E402
from workers.relay import run_relay  # noqa: E402

PHONE_SIZE = (4032, 3024)  # 12 MP, as most phones shoot
VIEWS = ("regional", "close_up", "dermoscopic")  # the model runs on the last two only
METADATA = LesionMetadata(sex="female", location="arm", age_years=45.0)
POLL_SECONDS = 0.1


# --- timing helpers -------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (inclusive method, so it works for small samples)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def epoch(moment: datetime) -> float:
    """Seconds since the epoch of a datetime that is UTC whether or not it says so."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores from /proc/stat; None where there is none."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its reaped children (its work horses)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat.rsplit(")", 1)[1].split()  # after the name: state is field 3
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # fields 14-17


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def cpu_busy_fraction(start: tuple[int, int] | None, end: tuple[int, int] | None) -> float:
    if start is None or end is None or end[1] == start[1]:
        return float("nan")
    return (end[0] - start[0]) / (end[1] - start[1])


def wait_until(
    what: str,
    condition: Callable[[], bool],
    timeout: float,
    workers: Iterable[subprocess.Popen[bytes]] = (),
) -> None:
    """Poll until the condition holds; RuntimeError after ``timeout`` s or if a worker died."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        if any(worker.poll() is not None for worker in workers):
            raise RuntimeError(f"a worker exited while waiting for {what}; see worker-*.log")
        time.sleep(POLL_SECONDS)


# --- the server side: workers, relay, status reads ------------------------------------


def start_workers(env: dict[str, str], count: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    """``casebox worker`` processes, each in its own session so its work horses stop too."""
    command = [sys.executable, "-m", "casebox", "worker"]
    workers = []
    for number in range(count):
        with (log_dir / f"worker-{number}.log").open("wb") as log:
            worker = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            workers.append(worker)
    return workers


class RelayThread:
    """The outbox relay of ``casebox relay``, in a thread of this process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)

    def _run(self) -> None:
        with self.app.app_context():
            try:
                queue = default_queue(services.redis_connection())
                run_relay(queue, should_stop=self._stop.is_set)
            finally:
                db.session.remove()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class StatusReader:
    """Status counts read in autocommit mode, outside the application's sessions.

    Polling this often must not take locks or add transactions of the application's
    own: each read is one statement on a connection of its own, in autocommit mode.
    """

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: Connection | None = None
        if url.get_backend_name() == "sqlite":
            if not url.database:
                raise ValueError("a file-backed SQLite database is needed")
            self._sqlite = sqlite3.connect(url.database, isolation_level=None, timeout=15)
        else:
            engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
            self._postgres = engine.connect()

    def _statuses(self, sql: str, case_ids: list[str]) -> Counter[str]:
        if self._sqlite is not None:
            marks = ", ".join("?" * len(case_ids))
            rows = self._sqlite.execute(sql.format(marks=marks), case_ids).fetchall()
        else:
            assert self._postgres is not None
            names = [f"id{number}" for number in range(len(case_ids))]
            marks = ", ".join(f":{name}" for name in names)
            query = text(sql.format(marks=marks))
            rows = self._postgres.execute(query, dict(zip(names, case_ids, strict=True))).all()
        return Counter(str(value).lower() for (value,) in rows)

    def photos(self, case_ids: list[str]) -> Counter[str]:
        return self._statuses(
            "SELECT p.status FROM photos p JOIN cases c ON c.id = p.case_id "
            "WHERE c.public_id IN ({marks})",
            case_ids,
        )

    def cases_with_photos_ready(self, case_ids: list[str]) -> set[str]:
        """Cases none of whose photos is still waiting (the patient would submit them now)."""
        pending = self._statuses(
            "SELECT c.public_id FROM cases c JOIN photos p ON c.id = p.case_id "
            "WHERE c.public_id IN ({marks}) AND lower(p.status) = 'processing'",
            case_ids,
        )
        return set(case_ids) - set(pending)

    def cases(self, case_ids: list[str]) -> Counter[str]:
        return self._statuses("SELECT status FROM cases WHERE public_id IN ({marks})", case_ids)

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            self._postgres.close()
            self._postgres.engine.dispose()


# --- the benchmark's own PostgreSQL database ---------------------------------------------


def own_database_name(url: str) -> str:
    """The database's name, if it is one this benchmark may drop and create; else exit."""
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a PostgreSQL URL (postgresql+psycopg://...)")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in (
        "test", "postgres", "template0", "template1",
    ):  # fmt: skip
        raise SystemExit(f"refusing to drop and recreate the database {name!r}: name another one")
    return name


def recreate_database(url: str, *, create: bool = True) -> None:
    """Drop the benchmark's own PostgreSQL database and (unless told not to) create it."""
    name = own_database_name(url)
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def photos_ready(reader: StatusReader, case_ids: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        statuses = reader.photos(case_ids)
        if statuses["rejected"]:
            raise RuntimeError(f"{statuses['rejected']} photos were rejected: {dict(statuses)}")
        return statuses["ready"] == len(case_ids) * len(VIEWS)

    return check


def cases_routed(reader: StatusReader, case_ids: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        statuses = reader.cases(case_ids)
        if statuses["processing_failed"]:
            raise RuntimeError(f"processing failed: {dict(statuses)}; see worker-*.log")
        return statuses["awaiting_review"] == len(case_ids)

    return check


# --- the patient side: cases, uploads, submissions -----------------------------------


def create_cases(
    api: ApiClient, token: str, count: int, photos: list[bytes], first: int
) -> tuple[list[str], float]:
    """Draft cases with one photo of each view; returns their ids and the upload time."""
    case_ids, uploading = [], 0.0
    for index in range(first, first + count):
        case_id = api.create_case(token)["id"]
        for offset, view in enumerate(VIEWS):
            data = photos[(index * len(VIEWS) + offset) % len(photos)]
            start = time.perf_counter()
            response = api.upload(token, case_id, data, view=view)
            uploading += time.perf_counter() - start
            if response.status_code != 201:
                raise RuntimeError(f"upload failed: {response.status_code} {response.get_json()}")
        case_ids.append(case_id)
    return case_ids, uploading


def submit(api: ApiClient, token: str, case_id: str) -> None:
    response = api.client.post(
        f"/api/v1/cases/{case_id}/submit",
        json={"accept_quality_warnings": True},
        headers=api.auth(token),
    )
    if response.status_code != 202:
        raise RuntimeError(f"submit failed: {response.status_code} {response.get_json()}")


# --- what the server recorded -----------------------------------------------------------


@dataclass
class CaseRecord:
    """Server-side timestamps (epoch seconds) of one case and its jobs."""

    case_id: str
    photo_ids: list[str]
    submitted: float
    routed: float  # updated_at once awaiting_review: the routing commit
    normalized: list[float] = field(default_factory=list)  # photo.normalize audit events
    analyzed: list[float] = field(default_factory=list)  # photo.analyze audit events
    normalize_jobs: list[tuple[float, float, float]] = field(default_factory=list)
    case_job: tuple[float, float, float] | None = None  # enqueued, started, ended


def job_times(connection: Redis, job_id: str) -> tuple[float, float, float] | None:
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return None
    if not (job.enqueued_at and job.started_at and job.ended_at):
        return None
    return epoch(job.enqueued_at), epoch(job.started_at), epoch(job.ended_at)


def records(app: Flask, connection: Redis, case_ids: list[str]) -> list[CaseRecord]:
    """Read back what the database, the audit trail and RQ recorded for these cases."""
    with app.app_context():
        try:
            found = {}
            for case in db.session.scalars(select(Case).where(Case.public_id.in_(case_ids))):
                if case.submitted_at is None:
                    raise RuntimeError(f"case {case.public_id} was never submitted")
                found[case.public_id] = CaseRecord(
                    case_id=case.public_id,
                    photo_ids=[photo.public_id for photo in case.photos],
                    submitted=epoch(case.submitted_at),
                    routed=epoch(case.updated_at),
                )
            owner = {p: r for r in found.values() for p in r.photo_ids}
            events = db.session.execute(
                select(AuditEvent.action, AuditEvent.object_id, AuditEvent.occurred_at).where(
                    AuditEvent.action.in_(["photo.normalize", "photo.analyze"]),
                    AuditEvent.object_id.in_(list(owner)),
                )
            )
            for action, photo_id, occurred_at in events:
                record = owner[str(photo_id)]
                target = record.normalized if action == "photo.normalize" else record.analyzed
                target.append(epoch(occurred_at))
        finally:
            db.session.remove()
    for record in found.values():
        record.analyzed.sort()
        for photo_id in record.photo_ids:
            if times := job_times(connection, f"normalize-photo-{photo_id}"):
                record.normalize_jobs.append(times)
        record.case_job = job_times(connection, f"process-case-{record.case_id}")
    return [found[case_id] for case_id in case_ids]


# --- the pipeline phases ---------------------------------------------------------------


@dataclass
class Throughput:
    """Phase 1: the whole pipeline on N cases, uploads excluded."""

    cases: int
    upload_seconds: float
    normalize_seconds: float  # relay start to the last photo normalized
    analyze_seconds: float  # first submit to the last case routed
    total_seconds: float  # relay start to the last case routed
    cpu_busy: float  # the whole machine, other load included
    worker_cpu: float  # core-seconds of the worker processes and their work horses
    own_cpu: float  # core-seconds of this process: relay thread, polling, submissions
    load_before: str  # /proc/loadavg when the clock started
    records: list[CaseRecord]

    @property
    def photos(self) -> int:
        return self.cases * len(VIEWS)

    @property
    def photos_per_second(self) -> float:
        return self.photos / self.total_seconds


@dataclass
class Latency:
    """Phase 2: submit to awaiting_review at a fixed arrival rate."""

    rate: float
    lateness: float  # the worst delay of a submit request behind its schedule
    requests: dict[str, tuple[float, float]]  # case id: submit request start and end
    records: list[CaseRecord]

    @property
    def seconds(self) -> list[float]:
        """From the start of the patient's submit request to awaiting_review."""
        return [r.routed - self.requests[r.case_id][0] for r in self.records]

    @property
    def server_seconds(self) -> list[float]:
        """From the server's submitted_at (stamped once the request has the lock)."""
        return [r.routed - r.submitted for r in self.records]

    @property
    def request_seconds(self) -> list[float]:
        return [end - start for start, end in self.requests.values()]


def measure_throughput(
    app: Flask,
    api: ApiClient,
    token: str,
    reader: StatusReader,
    relay: RelayThread,
    connection: Redis,
    workers: list[subprocess.Popen[bytes]],
    photos: list[bytes],
    count: int,
    timeout: float,
) -> Throughput:
    case_ids, uploading = create_cases(api, token, count, photos, first=0)
    print(f"  uploaded {count * len(VIEWS)} photos in {uploading:.1f} s (relay off)")

    def worker_cpu() -> float:
        return sum(process_cpu_seconds(worker.pid) for worker in workers)

    cpu_start, worker_start, own_start = cpu_jiffies(), worker_cpu(), own_cpu_seconds()
    load_before, started = load_average(), time.time()
    relay.start()
    waiting, submitting = list(case_ids), 0.0

    def submit_ready_cases() -> bool:
        # As patients do: each case is submitted as soon as its photos are checked.
        nonlocal submitting
        ready = reader.cases_with_photos_ready(waiting)
        for case_id in [c for c in waiting if c in ready]:
            submitting = submitting or time.time()
            submit(api, token, case_id)
            waiting.remove(case_id)
        return not waiting

    wait_until("cases to be submitted", submit_ready_cases, timeout, workers)
    wait_until("photos to be normalized", photos_ready(reader, case_ids), timeout, workers)
    wait_until("cases to be routed", cases_routed(reader, case_ids), timeout, workers)
    cpu_end, worker_end, own_end = cpu_jiffies(), worker_cpu(), own_cpu_seconds()
    found = records(app, connection, case_ids)
    normalized = max(t for r in found for t in r.normalized)
    routed = max(r.routed for r in found)
    return Throughput(
        cases=count,
        upload_seconds=uploading,
        normalize_seconds=normalized - started,
        analyze_seconds=routed - submitting,
        total_seconds=routed - started,
        cpu_busy=cpu_busy_fraction(cpu_start, cpu_end),
        worker_cpu=worker_end - worker_start,
        own_cpu=own_end - own_start,
        load_before=load_before,
        records=found,
    )


def measure_latency(
    app: Flask,
    api: ApiClient,
    token: str,
    reader: StatusReader,
    connection: Redis,
    workers: list[subprocess.Popen[bytes]],
    photos: list[bytes],
    count: int,
    rate: float,
    first: int,
    timeout: float,
) -> Latency:
    case_ids, uploading = create_cases(api, token, count, photos, first=first)
    print(f"  uploaded {count * len(VIEWS)} photos in {uploading:.1f} s (relay on)")
    wait_until("photos to be normalized", photos_ready(reader, case_ids), timeout, workers)
    time.sleep(1.0)  # let the workers go idle before the first submission
    requests: dict[str, tuple[float, float]] = {}
    failures: list[Exception] = []
    lateness: list[float] = []

    def submit_when_due(case_id: str, due: float) -> None:
        # A client of its own: a submit that waits for a lock must not delay the next one.
        client = ApiClient(app.test_client())
        if (delay := due - time.monotonic()) > 0:
            time.sleep(delay)
        lateness.append(time.monotonic() - due)
        start = time.time()
        try:
            submit(client, token, case_id)
        except Exception as error:  # reported by the main thread
            failures.append(error)
        requests[case_id] = (start, time.time())

    first_due = time.monotonic() + 0.5
    threads = [
        threading.Thread(target=submit_when_due, args=(case_id, first_due + index / rate))
        for index, case_id in enumerate(case_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, first_due + count / rate + timeout - time.monotonic()))
    if failures or len(requests) < count:
        raise RuntimeError(f"submissions failed or hung: {failures[:3]}")
    wait_until("cases to be routed", cases_routed(reader, case_ids), timeout, workers)
    return Latency(
        rate=rate,
        lateness=max(lateness),
        requests=requests,
        records=records(app, connection, case_ids),
    )


# --- single-process references -------------------------------------------------------------


@dataclass
class Reference:
    """Per-photo step timings (seconds) of a single-process reference loop."""

    steps: dict[str, list[float]]
    wall: float
    photos: int
    note: str = ""
    cpu: float = float("nan")  # CPU seconds of the timed loop (this process)

    @property
    def photos_per_second(self) -> float:
        return self.photos / self.wall


def measure_floor(manifest: ModelManifest, photos: list[bytes], count: int) -> Reference:
    """Draft-decode plus one model run per photo, with one model loaded beforehand."""
    start = time.perf_counter()
    model = load_model(manifest)
    load = time.perf_counter() - start
    model.predict(Image.open(io.BytesIO(photos[0])), METADATA)  # warm-up, not timed
    steps: dict[str, list[float]] = {"decode (draft)": [], "model run": []}
    sizes = set()
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    for index in range(count):
        t0 = time.perf_counter()
        image = Image.open(io.BytesIO(photos[index % len(photos)]))
        image.draft("RGB", fit_within(image.size, REVIEW_MIN_LONG_EDGE))  # as the pipeline
        image.load()
        t1 = time.perf_counter()
        model.predict(image, METADATA)
        t2 = time.perf_counter()
        steps["decode (draft)"].append(t1 - t0)
        steps["model run"].append(t2 - t1)
        sizes.add(image.size)
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    decoded = ", ".join(f"{w}x{h}" for w, h in sorted(sizes))
    note = f"draft decoded to {decoded}; model load (sha256 + session) {load * 1000:.0f} ms"
    return Reference(steps=steps, wall=wall, photos=count, note=note, cpu=cpu)


def _floor_process(manifest: ModelManifest, photos: list[bytes], count: int) -> tuple[float, float]:
    floor = measure_floor(manifest, photos, count)
    return floor.wall, floor.cpu


def measure_parallel_floor(
    manifest: ModelManifest, photos: list[bytes], count: int, processes: int
) -> tuple[float, float]:
    """The floor loop run in ``processes`` processes at once, as the workers run.

    Each process loads its own model first (outside its timed loop) and does ``count``
    photos; the rate is all photos over the slowest process's loop time. Returns that
    rate (photos/s) and the CPU seconds per photo, over all processes.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        results = pool.starmap(_floor_process, [(manifest, photos, count)] * processes)
    walls, cpus = zip(*results, strict=True)
    return count * processes / max(walls), sum(cpus) / (count * processes)


def naive_derivatives(image: Image.Image) -> tuple[Image.Image, bytes, bytes]:
    """casebox's review and thumbnail, made from a full decode (no draft)."""
    upright = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    colour = to_srgb(upright, icc if isinstance(icc, bytes) else None)
    review = colour.resize(
        fit_within(colour.size, REVIEW_LONG_EDGE), Image.Resampling.LANCZOS, reducing_gap=3.0
    )
    thumb = review.resize(
        fit_within(colour.size, THUMB_LONG_EDGE), Image.Resampling.LANCZOS, reducing_gap=3.0
    )
    encoded = []
    for picture, quality, subsampling in ((review, REVIEW_QUALITY, 0), (thumb, THUMB_QUALITY, 2)):
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality, subsampling=subsampling, optimize=True)
        encoded.append(buffer.getvalue())
    return review, encoded[0], encoded[1]


def measure_naive(manifest: ModelManifest, photos: list[bytes], count: int) -> Reference:
    """Full decode, derivatives, quality, a new ONNX session and a model run per photo."""
    names = ("decode (full)", "derivatives", "quality", "new ONNX session", "model run")
    steps: dict[str, list[float]] = {name: [] for name in names}
    model: LesionModel | None = None
    wall_start = time.perf_counter()
    for index in range(count):
        marks = [time.perf_counter()]
        image = Image.open(io.BytesIO(photos[index % len(photos)]))
        image.load()
        marks.append(time.perf_counter())
        review, _, _ = naive_derivatives(image)
        marks.append(time.perf_counter())
        assess_quality(review, original_size=image.size, thresholds=QualityThresholds())
        marks.append(time.perf_counter())
        model = load_model(manifest)
        marks.append(time.perf_counter())
        model.predict(review, METADATA)
        marks.append(time.perf_counter())
        for name, begin, end in zip(names, marks[:-1], marks[1:], strict=True):
            steps[name].append(end - begin)
    wall = time.perf_counter() - wall_start
    return Reference(steps=steps, wall=wall, photos=count, note="model run on the review image")


# --- report ------------------------------------------------------------------------------


def ms(values: Iterable[float]) -> str:
    values = list(values)
    return f"{median(values) * 1000:6.0f} ms" if values else "     n/a"


def print_report(
    args: argparse.Namespace,
    photos: list[bytes],
    throughput: Throughput,
    latency: Latency,
    floor: Reference,
    parallel_floor: float,
    parallel_floor_cpu: float,
    naive: Reference,
) -> None:
    workers = args.workers
    print("\n=== setup ===")
    if args.database_url:
        server = make_url(args.database_url)
        database = f"PostgreSQL ({server.host}:{server.port or 5432}/{server.database}, fresh)"
    else:
        database = "SQLite (WAL; writes BEGIN IMMEDIATE, reads DEFERRED) in a temp dir"
    print(
        f"server: {workers} `casebox worker` processes (forking RQ workers, 1 ONNX thread "
        f"each), outbox relay in-process (run_relay, 0.2 s poll), {database}, embedded "
        f"Redis (Unix socket) in a temp dir; API via the Flask "
        f"test client in this process; {os.cpu_count()} cores "
        f"({platform.machine()}), Python {platform.python_version()}, Pillow "
        f"{PIL.__version__}, onnxruntime {onnxruntime.__version__}"
    )
    size = statistics.mean(len(p) for p in photos) / 1e6
    print(
        f"photos: {PHONE_SIZE[0]}x{PHONE_SIZE[1]} synthetic JPEGs (q90, {size:.1f} MB on "
        f"average, {len(photos)} distinct), views {', '.join(VIEWS)}; the model runs on "
        f"close_up and dermoscopic only"
    )

    t = throughput
    print(f"\n=== 1. throughput: {t.cases} cases x {len(VIEWS)} photos ===")
    print(
        f"  uploads (outside the clock): {t.photos} in {t.upload_seconds:.1f} s, "
        f"{t.upload_seconds / t.photos * 1000:.0f} ms each"
    )
    print(
        f"  normalize  relay start -> last photo ready   {t.normalize_seconds:6.1f} s  "
        f"{t.photos / t.normalize_seconds:5.2f} photos/s"
    )
    print(
        f"  analyze    first submit -> last routed      {t.analyze_seconds:6.1f} s  "
        f"{t.cases / t.analyze_seconds:5.2f} cases/s"
    )
    print(
        f"  whole run  relay start -> last routed       {t.total_seconds:6.1f} s  "
        f"{t.photos_per_second:5.2f} photos/s   <- pipeline throughput"
    )
    print(
        f"  CPU: workers + work horses {t.worker_cpu:.1f} core-s = "
        f"{t.worker_cpu / t.total_seconds:.2f} of {workers} cores busy on average, "
        f"{t.worker_cpu / t.photos * 1000:.0f} ms per photo; this process (relay, polling, "
        f"submits) {t.own_cpu:.1f} core-s"
    )
    others = t.cpu_busy * (os.cpu_count() or 1) * t.total_seconds - t.worker_cpu - t.own_cpu
    print(
        f"       whole machine {t.cpu_busy * 100:.0f} % busy (other load included: about "
        f"{max(0.0, others):.1f} core-s; loadavg before: {t.load_before})"
    )
    jobs = [j for r in t.records for j in r.normalize_jobs]
    case_jobs = [r.case_job for r in t.records if r.case_job]
    run_sum = sum(e - s for _, s, e in jobs) + sum(e - s for _, s, e in case_jobs)
    print(
        f"  normalize jobs: run p50 {ms(e - s for _, s, e in jobs)}; process_case jobs: run "
        f"p50 {ms(e - s for _, s, e in case_jobs)}; job-seconds / wall = "
        f"{run_sum / t.total_seconds:.2f} (of {workers} workers)"
    )

    seconds = latency.seconds
    print(
        f"\n=== 2. latency: {len(seconds)} cases submitted at {latency.rate:g}/s, photos ready ==="
    )
    server, request = latency.server_seconds, latency.request_seconds
    print(
        f"  submit request -> awaiting_review   p50 {pct(seconds, 50):5.2f} s   p95 "
        f"{pct(seconds, 95):5.2f} s   max {max(seconds):5.2f} s"
    )
    print(
        f"  submitted_at   -> awaiting_review   p50 {pct(server, 50):5.2f} s   p95 "
        f"{pct(server, 95):5.2f} s   max {max(server):5.2f} s   (server stamps only)"
    )
    print(
        f"  the submit request itself: p50 {median(request) * 1000:.0f} ms, max "
        f"{max(request) * 1000:.0f} ms; requests up to {latency.lateness * 1000:.0f} ms "
        f"behind schedule"
    )
    jobs2 = [(r, r.case_job) for r in latency.records if r.case_job]
    relayed = ms(job[0] - r.submitted for r, job in jobs2)
    waited = ms(job[1] - job[0] for r, job in jobs2)
    ran = ms(job[2] - job[1] for r, job in jobs2)
    print(f"  medians: relay (submitted -> enqueued) {relayed}, queue wait {waited}, job run {ran}")
    two = [(r, job) for r, job in jobs2 if len(r.analyzed) >= 2]
    first = ms(r.analyzed[0] - job[1] for r, job in two)
    second = ms(r.analyzed[1] - r.analyzed[0] for r, _ in two)
    routing = ms(r.routed - r.analyzed[-1] for r, _ in two)
    print(
        f"  inside the job (medians): start -> 1st analysis stored {first} (model load + 1 "
        f"photo), 1st -> 2nd {second}, 2nd -> routed {routing}"
    )

    def reference(title: str, ref: Reference) -> None:
        print(f"\n=== {title} ===")
        for name, values in ref.steps.items():
            print(f"  {name:<18} {ms(values)} p50")
        print(
            f"  {ref.photos} photos in {ref.wall:.1f} s: {ref.photos_per_second:5.2f} photos/s "
            f"(1 process); {ref.note}"
        )

    reference("3. floor: draft decode + one model run per photo, model loaded once", floor)
    reference("4. naive: full decode, derivatives, quality, new session, model run", naive)

    pipeline = t.photos_per_second
    ideal = floor.photos_per_second * workers
    fraction = pipeline / parallel_floor
    print(
        f"  the same floor loop in {workers} processes at once: {parallel_floor:.2f} photos/s, "
        f"{parallel_floor_cpu * 1000:.0f} ms CPU per photo"
    )
    print("\n=== summary ===")
    rows = [
        ("pipeline throughput (uploads excluded)", f"{pipeline:.2f} photos/s"),
        (f"floor, {workers} processes at once", f"{parallel_floor:.2f} photos/s"),
        (
            f"pipeline / floor ({workers} processes)  [headline]",
            f"{fraction:.2f}  (target >= 0.6: {'met' if fraction >= 0.6 else 'NOT met'})",
        ),
        (
            "CPU per photo: floor / pipeline workers",
            f"{parallel_floor_cpu / (t.worker_cpu / t.photos):.2f}  "
            f"({parallel_floor_cpu * 1000:.0f} / {t.worker_cpu / t.photos * 1000:.0f} ms; "
            f"leaves out waits and other load)",
        ),
        (f"floor (1 process) x {workers}", f"{ideal:.2f} photos/s"),
        (f"pipeline / (floor x {workers})", f"{pipeline / ideal:.2f}"),
        ("pipeline / floor (1 process)", f"{pipeline / floor.photos_per_second:.2f}"),
        ("naive (1 process)", f"{naive.photos_per_second:.2f} photos/s"),
        ("speed-up over naive", f"{pipeline / naive.photos_per_second:.2f}x"),
        (
            f"speed-up over naive x {workers}",
            f"{pipeline / (naive.photos_per_second * workers):.2f}x",
        ),
        (
            f"p95 submit -> awaiting_review @ {latency.rate:g}/s",
            f"{pct(seconds, 95):.2f} s  (target <= 3 s: "
            f"{'met' if pct(seconds, 95) <= 3 else 'NOT met'})",
        ),
    ]
    for name, value in rows:
        print(f"  {name:<42} {value}")


# --- main ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20, help="cases in the throughput run")
    parser.add_argument("--latency-cases", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1.0, help="submissions per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--floor-photos", type=int, default=15)
    parser.add_argument("--naive-photos", type=int, default=9)
    parser.add_argument("--distinct-photos", type=int, default=6, help="JPEGs generated")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per wait")
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the temp data dir (and the database)"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database of the benchmark's own, dropped and created afresh "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/casebox_bench_pipeline); "
        "default: SQLite in the temp dir",
    )
    args = parser.parse_args()
    if args.database_url:
        own_database_name(args.database_url)  # refuse a database that is not ours first

    start = time.perf_counter()
    photos = [synthetic_lesion_photo(seed, size=PHONE_SIZE) for seed in range(args.distinct_photos)]
    print(f"generated {len(photos)} {PHONE_SIZE[0]}x{PHONE_SIZE[1]} JPEGs")
    manifest = discover_models(MODELS_ROOT)[Settings.lesion_model]

    data_dir = Path(tempfile.mkdtemp(prefix="casebox-pipeline-"))
    redis_server = EmbeddedRedis(data_dir)
    workers: list[subprocess.Popen[bytes]] = []
    relay: RelayThread | None = None
    reader: StatusReader | None = None
    app: Flask | None = None
    try:
        if args.database_url:
            recreate_database(args.database_url)
        redis_server.start()
        env = {
            **os.environ,
            "CASEBOX_DATA_DIR": str(data_dir),
            "CASEBOX_DATABASE_URL": args.database_url or f"sqlite:///{data_dir / 'casebox.db'}",
            "CASEBOX_REDIS_URL": redis_server.url,
            "CASEBOX_STORAGE_URL": f"file://{data_dir / 'objects'}",
            "CASEBOX_SECRET_KEY": "bench-" + "k" * 40,
            "CASEBOX_DATA_KEY": new_data_key(),
        }
        # Cheap password hashing in this process only: logins are not what is measured.
        settings = Settings.from_env(env).replace(argon2_time_cost=1, argon2_memory_kib=1024)
        app = create_app(settings)
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
        connection = Redis.from_url(redis_server.url)
        workers = start_workers(env, args.workers, data_dir)
        wait_until(
            "the workers to start",
            lambda: len(Worker.all(connection=connection)) >= args.workers,
            60,
            workers,
        )
        reader = StatusReader(settings.database_url)
        relay = RelayThread(app)
        api = ApiClient(app.test_client())
        token = api.patient()

        print(f"\n1. throughput run, {args.cases} cases")
        throughput = measure_throughput(
            app, api, token, reader, relay, connection, workers, photos, args.cases, args.timeout
        )
        print(f"   {throughput.photos_per_second:.2f} photos/s")
        print(f"2. latency run, {args.latency_cases} cases at {args.rate:g}/s")
        latency = measure_latency(
            app, api, token, reader, connection, workers, photos, args.latency_cases, args.rate,
            first=args.cases, timeout=args.timeout,
        )  # fmt: skip
        print(f"   p95 {pct(latency.seconds, 95):.2f} s")
    finally:
        if relay:
            relay.stop()
        if reader:
            reader.close()
        stop_processes(workers)
        if app:
            with app.app_context():
                db.engine.dispose()
        redis_server.stop()
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
            if args.database_url:
                recreate_database(args.database_url, create=False)
    print(f"3. floor, {args.floor_photos} photos (workers stopped)")
    floor = measure_floor(manifest, photos, args.floor_photos)
    parallel_floor, parallel_floor_cpu = measure_parallel_floor(
        manifest, photos, args.floor_photos, args.workers
    )
    print(f"4. naive, {args.naive_photos} photos")
    naive = measure_naive(manifest, photos, args.naive_photos)
    print_report(
        args, photos, throughput, latency, floor, parallel_floor, parallel_floor_cpu, naive
    )
    kept = f"; data kept in {data_dir}" if args.keep_data else ""
    print(f"\n(total {time.perf_counter() - start:.0f} s{kept})")


if __name__ == "__main__":
    main()
