"""Latency of case reads with 10,000 cases in the database, against a real server.

Seeds a fresh database with 10,000 cases (1,000 patients with 10 cases each; the
measured patient has 10), starts gunicorn on 127.0.0.1 as `casebox serve` does
(gthread workers, embedded Redis unless CASEBOX_BENCH_REDIS_URL is set), and
times GET /api/v1/cases/{id} and the first page of GET /api/v1/cases from one and
from four concurrent clients. /healthz (one SELECT 1 plus a Redis PING) is timed in
the same run as a baseline, so figures are also given as ratios to it.

    .venv/bin/python benchmarks/case_reads.py [--requests 400]
    CASEBOX_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test ...  (PostgreSQL)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casebox.accounts.models import ConsentRecord, PatientProfile, Role, Sex, User  # noqa: E402
from casebox.app import create_app  # noqa: E402
from casebox.cases.models import Case, CaseStatus  # noqa: E402
from casebox.database import db, new_public_id, utcnow  # noqa: E402
from casebox.embedded_redis import EmbeddedRedis  # noqa: E402
from casebox.settings import Settings, new_data_key  # noqa: E402
from tests.support import PASSWORD, questionnaire  # noqa: E402

PATIENTS = 1000
CASES_PER_PATIENT = 10


def seed(settings: Settings) -> str:
    """Create 10,000 cases; return the email of the patient whose cases are read."""
    from flask_migrate import upgrade

    app = create_app(settings)
    with app.app_context():
        upgrade()
        password_hash = app.extensions["casebox.passwords"].hash(PASSWORD)
        now = utcnow()
        users = [
            {"public_id": new_public_id(), "email": f"p{i}@bench.invalid", "name": f"P {i}",
             "role": Role.PATIENT, "password_hash": password_hash, "active": True,
             "created_at": now}
            for i in range(PATIENTS)
        ]  # fmt: skip
        db.session.execute(insert(User), users)
        ids = {row.email: row.id for row in db.session.execute(db.select(User.email, User.id))}
        db.session.execute(insert(PatientProfile), [
            {"user_id": uid, "date_of_birth": now.date().replace(year=1970), "sex": Sex.FEMALE}
            for uid in ids.values()
        ])  # fmt: skip
        db.session.execute(insert(ConsentRecord), [
            {"user_id": uid, "version": "1.0", "text_sha256": "0" * 64, "accepted_at": now}
            for uid in ids.values()
        ])  # fmt: skip
        rng = random.Random(7)
        cases = []
        for uid in ids.values():
            for _ in range(CASES_PER_PATIENT):
                cases.append({
                    "public_id": new_public_id(), "patient_id": uid,
                    "status": rng.choice(list(CaseStatus)), "body_site": "left_forearm",
                    "questionnaire": questionnaire(), "created_at": now, "updated_at": now,
                })  # fmt: skip
        db.session.execute(insert(Case), cases)
        db.session.commit()
        total = db.session.scalar(db.select(db.func.count()).select_from(Case))
        print(f"seeded {total} cases for {PATIENTS} patients")
    return "p0@bench.invalid"


def request(
    port: int, path: str, token: str | None = None, body: dict | None = None, method: str = "GET"
) -> tuple[int, bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    start = time.perf_counter()
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return response.status, data, elapsed


def measure(port: int, path: str, token: str | None, count: int, clients: int) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        for _ in range(n):
            status, _, elapsed = request(port, path, token)
            assert status == 200, (path, status)
            with lock:
                timings.append(elapsed * 1000)

    threads = [threading.Thread(target=run, args=(count // clients,)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="casebox-bench-"))
    redis_server = None
    redis_url = os.environ.get("CASEBOX_BENCH_REDIS_URL")
    if not redis_url:
        redis_server = EmbeddedRedis(data_dir)
        redis_server.start()
        redis_url = redis_server.url
    env = {
        **os.environ,
        "CASEBOX_DATA_DIR": str(data_dir),
        "CASEBOX_DATABASE_URL": os.environ.get(
            "CASEBOX_BENCH_DATABASE_URL", f"sqlite:///{data_dir / 'casebox.db'}"
        ),
        "CASEBOX_REDIS_URL": redis_url,
        "CASEBOX_SECRET_KEY": "bench-" + "k" * 40,
        "CASEBOX_DATA_KEY": new_data_key(),
    }
    settings = Settings.from_env(env)
    if settings.database_url.startswith("postgresql"):
        _reset_postgres(settings.database_url)
    email = seed(settings)
    server = subprocess.Popen(  # fixed argv
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{args.port}",
         "--workers", "2", "--threads", "4", "--worker-class", "gthread",
         "casebox.wsgi:app"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_ready(args.port)
        _, body, _ = request(
            args.port, "/api/v1/auth/tokens", None, {"email": email, "password": PASSWORD}, "POST"
        )
        token = json.loads(body)["token"]
        _, body, _ = request(args.port, "/api/v1/cases?per_page=1", token)
        case_id = json.loads(body)["items"][0]["id"]
        targets = {
            "GET /healthz (baseline)": ("/healthz", None),
            "GET /api/v1/cases/{id}": (f"/api/v1/cases/{case_id}", token),
            "GET /api/v1/cases (page 1)": ("/api/v1/cases", token),
        }
        for path, tok in targets.values():  # warm up connections and caches
            measure(args.port, path, tok, 20, 1)
        backend = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
        print(
            f"server: gunicorn 2 workers x 4 threads (gthread) on 127.0.0.1, {backend}, "
            f"{'embedded' if redis_server else 'external'} Redis; client on the same 2 cores"
        )
        for clients in (1, 4):
            baseline_p95 = None
            print(f"\n{clients} concurrent client(s), {args.requests} requests each:")
            for name, (path, tok) in targets.items():
                timings = measure(args.port, path, tok, args.requests, clients)
                p50, p95 = pct(timings, 50), pct(timings, 95)
                baseline_p95 = baseline_p95 or p95
                print(
                    f"  {name:<28} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                    f"p95/baseline {p95 / baseline_p95:4.2f}"
                )
    finally:
        server.terminate()
        server.wait()
        if redis_server:
            redis_server.stop()


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if request(port, "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


if __name__ == "__main__":
    main()
