"""Server time of the specialist review workspace with 10,000 cases waiting on PostgreSQL.

Target (the review workspace issue): with 10,000 cases on PostgreSQL, the server time of
the queue page and of the case view stays at or under 100 ms at p95.

The script creates its own PostgreSQL database (dropped and created again at the start,
dropped at the end unless --keep-database; it refuses the database named ``test``),
migrates it and seeds it directly with SQLAlchemy bulk inserts, not through the upload
pipeline: N routed cases awaiting review (default 10,000), each routed by casebox's own
``route()`` from its questionnaire, the patient's age and the model score, so the
urgent / routine / paediatric mix and the SLA clocks (submissions spread over the last
weeks, so some are breached) come out as the rules make them. Each case has 1 to 4
photos with quality metrics (some with warnings the patient accepted, a few calibrated)
and one lesion-model analysis per close-up and dermoscopic photo; about 10 % are claimed
(most by colleagues, some by the measured specialist, some with a lapsed lease); 20 % of
patients have two cases waiting and a quarter have 1 to 6 earlier completed cases with
an assessment (on top of the N). Photo objects are not written to storage: no measured
endpoint reads image bytes. Seeding writes no audit events (the chain stays valid: the
measured reads append to it as usual). The tables are VACUUM ANALYZEd after seeding, as
autovacuum would do soon after such a load.

Server time is the time inside the Flask app: a WSGI wrapper around ``app.wsgi_app``
times each request from the WSGI call to the last body byte (routing, auth, queries,
serialization, the audit append and the commit), driven in-process by the Flask test
client, one request at a time, after a warm-up. The endpoints are taken in turn
(round-robin), so the noise of this shared machine spreads over all of them alike. The
API is called with a specialist's bearer token, the HTML pages with a browser session.
Queue listings ask for 50 cases, as the queue page does (the API's default page of 20 is
measured too). The case endpoints rotate over 50 cases the specialist may open whose
patients have at least two other cases, the same case for every endpoint in a round, so
the rows "page loads" add up, per round, the server time of the requests one load of the
queue page or the case page makes (image bytes, the case page's claim and annotation
requests excluded).

Baselines, measured in the same rounds: GET /healthz (SELECT 1 and a Redis PING) and
every endpoint again on a second database seeded the same way with --baseline-cases
(default 100), so the 10,000-case figures also read as ratios on a noisy machine.

    .venv/bin/python benchmarks/review_reads.py [--cases 10000] [--requests 200]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/casebox_bench_review]
        [--baseline-cases 100] [--redis-url redis://...] [--keep-database]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casebox.accounts.models import ConsentRecord, PatientProfile, Role, Sex, User  # noqa: E402
from casebox.analysis.lesion_model import MODELS_ROOT  # noqa: E402
from casebox.analysis.models import PhotoAnalysis  # noqa: E402
from casebox.app import create_app  # noqa: E402
from casebox.assessments.diagnoses import all_diagnoses  # noqa: E402
from casebox.assessments.models import AiAgreement, Assessment, Certainty, Management  # noqa: E402
from casebox.cases.body_sites import BODY_SITES  # noqa: E402
from casebox.cases.models import Case, CaseStatus, Photo, PhotoStatus, PhotoView  # noqa: E402
from casebox.database import db, new_public_id, utcnow  # noqa: E402
from casebox.demo import DEMO_QUESTIONNAIRE  # noqa: E402
from casebox.embedded_redis import EmbeddedRedis  # noqa: E402
from casebox.photos.quality import MESSAGES  # noqa: E402
from casebox.queues.routing import route  # noqa: E402
from casebox.review.models import QueueMembership  # noqa: E402
from casebox.settings import Settings, new_data_key  # noqa: E402
from models import ModelManifest, discover_models  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/casebox_bench_review"
PASSWORD = "bench password 123"  # noqa: S105  # the seeded accounts' password
SPECIALISTS = 6  # the measured one and five colleagues, all working every queue
TARGET_MS = 100.0
ROTATION = 50  # distinct cases the case view and history rotate over
WARN_CODES = [code for code, severity in MESSAGES if severity == "warn"]


# --- seeding ---------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the measurements need to know about a seeded database."""

    specialist_email: str
    case_ids: list[str]  # cases the measured specialist may open, most with earlier cases
    counts: Counter[str] = field(default_factory=Counter)


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _questionnaire(rng: random.Random) -> dict[str, Any]:
    durations = ["days", "weeks", "months", "years", "since_birth"]
    duration = rng.choices(durations, [5, 15, 40, 35, 5])[0]
    return {
        **DEMO_QUESTIONNAIRE,
        "duration": duration,
        "changed_size": rng.random() < 0.3,
        "changed_shape": rng.random() < 0.15,
        "changed_colour": rng.random() < 0.2,
        "itch": rng.random() < 0.3,
        "bleeding": rng.random() < 0.04,
        "pain": rng.random() < 0.1,
        "scaly": rng.random() < 0.2,
        "previous_skin_cancer": rng.random() < 0.05,
        "family_history_melanoma": rng.random() < 0.1,
        "fitzpatrick": rng.choice(["I", "II", "III", "IV", "V", "VI"]),
        "medications": rng.sample(["ramipril", "metformin", "levothyroxine", "sertraline"],
                                  rng.randint(0, 2)),
        "allergies": ["penicillin"] if rng.random() < 0.1 else [],
        "description": "A spot on the skin that the patient wants a specialist to look at.",
    }  # fmt: skip


def _probabilities(rng: random.Random, manifest: ModelManifest) -> dict[str, float]:
    # Gamma draws make a Dirichlet: mostly naevi, sometimes a high malignant share.
    alpha = {"akiec": 0.3, "bcc": 0.3, "bkl": 1.0, "df": 0.2, "mel": 0.5, "nv": 3.0, "vasc": 0.1}
    draws = {
        label: rng.gammavariate(alpha.get(label, 0.5), 1.0) + 1e-6 for label in manifest.labels
    }
    total = sum(draws.values())
    return {label: value / total for label, value in draws.items()}


def _metrics(rng: random.Random, width: int, height: int) -> dict[str, float]:
    sharp = rng.uniform(40, 400)
    return {
        "sharpness": sharp,
        "sharpness_centre": sharp,
        "sharpness_whole": sharp * rng.uniform(0.5, 1.0),
        "highlight_clip": rng.uniform(0, 0.02),
        "shadow_clip": rng.uniform(0, 0.02),
        "mean_luma": rng.uniform(90, 170),
        "skin_fraction": rng.uniform(0.4, 0.95),
        "original_width": float(width * 2),
        "original_height": float(height * 2),
    }


@dataclass
class CaseSpec:
    """One case to insert, with its photos, their analyses and any assessment."""

    row: dict[str, Any]
    photos: list[dict[str, Any]]
    analyses: list[list[dict[str, Any]]]  # per photo
    assessment: dict[str, Any] | None = None


class Seeder:
    """Builds rows in memory and inserts them in bulk, table by table."""

    def __init__(self, app: Flask, rng: random.Random, manifest: ModelManifest) -> None:
        self.app = app
        self.rng = rng
        self.manifest = manifest
        self.settings: Settings = app.extensions["casebox.settings"]
        self.now = utcnow()
        self.diagnoses = all_diagnoses()

    def photos_for(self, case_public_id: str, when: datetime, recent: bool) -> CaseSpec:
        rng = self.rng
        views = [PhotoView.CLOSE_UP]
        if rng.random() < 0.7:
            views.insert(0, PhotoView.REGIONAL)
        if rng.random() < 0.4:
            views.append(PhotoView.DERMOSCOPIC)
        if rng.random() < 0.15:
            views.append(PhotoView.CLOSE_UP)
        photos, analyses = [], []
        for index, view in enumerate(views):
            public_id = new_public_id()
            width, height = rng.choice([(2048, 1536), (1536, 2048), (2048, 1152)])
            reasons = []
            if rng.random() < 0.12:
                code = rng.choice(WARN_CODES)
                reasons.append(
                    {"code": code, "severity": "warn", "message": MESSAGES[code, "warn"]}
                )
            calibration = None
            if recent and rng.random() < 0.05:
                calibration = {"line": [100.0, 200.0, 400.0, 200.0], "length_mm": 10.0}
            base = f"cases/{case_public_id}/photos/{public_id}"
            media = rng.choices(["image/jpeg", "image/heic", "image/png"], [80, 15, 5])[0]
            created = when - timedelta(minutes=30 - index)
            photos.append({
                "public_id": public_id, "view": view, "status": PhotoStatus.READY,
                "media_type": media, "size_bytes": rng.randint(1_500_000, 7_000_000),
                "width": width, "height": height,
                "original_key": f"{base}/original", "original_sha256": _hex(rng),
                "review_key": f"{base}/review", "review_sha256": _hex(rng),
                "thumb_key": f"{base}/thumb", "thumb_sha256": _hex(rng),
                "quality_metrics": _metrics(rng, width, height), "quality_reasons": reasons,
                "calibration": calibration, "created_at": created,
            })  # fmt: skip
            per_photo = []
            if view in (PhotoView.CLOSE_UP, PhotoView.DERMOSCOPIC):
                probabilities = _probabilities(rng, self.manifest)
                score = sum(probabilities[label] for label in self.manifest.malignant_labels)
                per_photo.append({
                    "public_id": new_public_id(), "model_name": self.manifest.name,
                    "model_version": self.manifest.version, "model_sha256": self.manifest.sha256,
                    "probabilities": probabilities, "malignancy_score": score,
                    "out_of_distribution": view != PhotoView.DERMOSCOPIC,
                    "created_at": when + timedelta(minutes=2),
                })  # fmt: skip
            analyses.append(per_photo)
        return CaseSpec(row={}, photos=photos, analyses=analyses)

    def case(self, patient_id: int, dob: date, submitted: datetime, recent: bool) -> CaseSpec:
        rng = self.rng
        public_id = new_public_id()
        spec = self.photos_for(public_id, submitted, recent)
        scores = [a["malignancy_score"] for per_photo in spec.analyses for a in per_photo]
        questionnaire = _questionnaire(rng)
        decision = route(
            questionnaire=questionnaire, date_of_birth=dob, submitted_at=submitted,
            malignancy_score=max(scores) if scores else None, rules=self.settings.routing,
        )  # fmt: skip
        warned = [
            {"photo_id": p["public_id"], "codes": [r["code"] for r in p["quality_reasons"]]}
            for p in spec.photos
            if p["quality_reasons"]
        ]
        spec.row = {
            "public_id": public_id, "patient_id": patient_id,
            "status": CaseStatus.AWAITING_REVIEW, "body_site": rng.choice(list(BODY_SITES)),
            "questionnaire": questionnaire, "queue": decision.queue,
            "priority": decision.priority, "routing_reasons": decision.reasons,
            "failure_reason": None, "quality_override": warned or None,
            "created_at": submitted - timedelta(minutes=40),
            "updated_at": submitted + timedelta(minutes=3), "submitted_at": submitted,
            "sla_due_at": decision.sla_due_at,
            "claimed_by_id": None, "claimed_at": None, "claim_expires_at": None,
        }  # fmt: skip
        return spec

    def seed(self, cases: int) -> Seeded:
        """Insert everything; returns what the measurements need."""
        rng, now = self.rng, self.now
        counts: Counter[str] = Counter()
        password_hash = self.app.extensions["casebox.passwords"].hash(PASSWORD)
        staff = _insert_returning(User, [
            {"public_id": new_public_id(), "email": f"derm{i}@bench.invalid",
             "name": f"Dr Bench {i}", "role": Role.SPECIALIST, "password_hash": password_hash,
             "active": True, "created_at": now - timedelta(days=400)}
            for i in range(SPECIALISTS)
        ])  # fmt: skip
        me, colleagues = staff[0], staff[1:]
        queues = [rule.name for rule in self.settings.routing.queues]
        db.session.execute(
            insert(QueueMembership), [{"user_id": uid, "queue": q} for uid in staff for q in queues]
        )

        n_patients = max(1, round(cases * 0.8))
        patients = _insert_returning(User, [
            {"public_id": new_public_id(), "email": f"p{i}@bench.invalid", "name": f"Patient {i}",
             "role": Role.PATIENT, "password_hash": password_hash, "active": True,
             "created_at": now - timedelta(days=rng.randint(1, 1000))}
            for i in range(n_patients)
        ])  # fmt: skip
        today = now.date()
        dobs = []
        for _ in patients:
            age = rng.randint(1, 15) if rng.random() < 0.12 else rng.randint(16, 92)
            dobs.append(today - timedelta(days=int(age * 365.25) + rng.randint(0, 364)))
        db.session.execute(insert(PatientProfile), [
            {"user_id": uid, "date_of_birth": dob,
             "sex": rng.choices([Sex.FEMALE, Sex.MALE, Sex.OTHER], [55, 44, 1])[0]}
            for uid, dob in zip(patients, dobs, strict=True)
        ])  # fmt: skip
        db.session.execute(insert(ConsentRecord), [
            {"user_id": uid, "version": "1.0", "text_sha256": "0" * 64,
             "accepted_at": now - timedelta(days=1000)}
            for uid in patients
        ])  # fmt: skip

        specs: list[CaseSpec] = []
        earlier: Counter[int] = Counter()  # patient index -> earlier completed cases
        for index in range(n_patients):
            if rng.random() < 0.25:
                for _ in range(rng.randint(1, 6)):
                    submitted = now - timedelta(days=rng.uniform(30, 1100))
                    spec = self.case(patients[index], dobs[index], submitted, recent=False)
                    self._complete(spec, rng.choice(staff))
                    specs.append(spec)
                    earlier[index] += 1
        reviewable: list[tuple[int, CaseSpec]] = []
        for number in range(cases):
            index = number % n_patients
            hours = min(rng.expovariate(1 / 96), 30 * 24)  # mean 4 days, at most 30
            spec = self.case(patients[index], dobs[index], now - timedelta(hours=hours), True)
            self._claim(spec, me, colleagues)
            specs.append(spec)
            reviewable.append((index, spec))

        case_ids = _insert_returning(Case, [spec.row for spec in specs])
        photo_rows, photo_specs = [], []
        for case_id, spec in zip(case_ids, specs, strict=True):
            for photo, per_photo in zip(spec.photos, spec.analyses, strict=True):
                photo_rows.append({**photo, "case_id": case_id})
                photo_specs.append(per_photo)
        photo_ids = _insert_returning(Photo, photo_rows)
        analyses = [
            {**analysis, "photo_id": photo_id}
            for photo_id, per_photo in zip(photo_ids, photo_specs, strict=True)
            for analysis in per_photo
        ]
        for chunk in _chunks(analyses, 5000):
            db.session.execute(insert(PhotoAnalysis), chunk)
        assessments = [
            {**spec.assessment, "case_id": case_id}
            for case_id, spec in zip(case_ids, specs, strict=True)
            if spec.assessment
        ]
        for chunk in _chunks(assessments, 5000):
            db.session.execute(insert(Assessment), chunk)
        db.session.commit()

        for _, spec in reviewable:
            row = spec.row
            counts[f"queue {row['queue']}"] += 1
            if row["claimed_by_id"] == me:
                counts["claimed by the measured specialist"] += 1
            elif row["claim_expires_at"] and row["claim_expires_at"] > now:
                counts["claimed by colleagues"] += 1
            elif row["claimed_by_id"]:
                counts["lapsed claims"] += 1
        counts["patients"] = n_patients
        counts["earlier completed cases"] = sum(earlier.values())
        counts["photos"] = len(photo_rows)
        counts["analyses"] = len(analyses)
        counts["assessments"] = len(assessments)
        per_patient = Counter(index for index, _ in reviewable)

        # Cases the specialist may open (not under a colleague's live claim), preferring
        # patients with at least two other cases so that the history has some to show.
        readable = [
            (index, spec.row["public_id"])
            for index, spec in reviewable
            if spec.row["claimed_by_id"] in (None, me) or spec.row["claim_expires_at"] <= now
        ]
        with_history = [
            case_id for index, case_id in readable if earlier[index] + per_patient[index] - 1 >= 2
        ]
        pool = with_history if len(with_history) >= ROTATION else [c for _, c in readable]
        return Seeded(
            specialist_email="derm0@bench.invalid",
            case_ids=rng.sample(pool, min(ROTATION, len(pool))),
            counts=counts,
        )

    def _claim(self, spec: CaseSpec, me: int, colleagues: list[int]) -> None:
        rng, now, row = self.rng, self.now, spec.row
        draw = rng.random()
        if draw < 0.08:  # a colleague is reviewing it now
            holder, claimed = rng.choice(colleagues), now - timedelta(minutes=rng.uniform(0, 8))
        elif draw < 0.09:  # the measured specialist is
            holder, claimed = me, now - timedelta(minutes=rng.uniform(0, 8))
        elif draw < 0.11:  # somebody's lease lapsed without anyone returning the case
            holder, claimed = rng.choice(colleagues), now - timedelta(hours=rng.uniform(1, 48))
        else:
            return
        row["status"] = CaseStatus.IN_REVIEW
        row["claimed_by_id"] = holder
        row["claimed_at"] = claimed
        row["claim_expires_at"] = claimed + timedelta(minutes=self.settings.claim_lease_minutes)

    def _complete(self, spec: CaseSpec, specialist: int) -> None:
        rng, row = self.rng, spec.row
        row["status"] = CaseStatus.COMPLETED
        diagnosis = rng.choice(self.diagnoses)
        analysed = any(spec.analyses)
        latest = next((a for per in reversed(spec.analyses) for a in per), None)
        agreement = (
            rng.choice([AiAgreement.AGREE, AiAgreement.AGREE, AiAgreement.DISAGREE])
            if analysed
            else AiAgreement.NOT_APPLICABLE
        )
        spec.assessment = {
            "public_id": new_public_id(), "specialist_id": specialist,
            "diagnosis_code": diagnosis.code, "diagnosis_display": diagnosis.display,
            "diagnosis_text": None, "certainty": rng.choice(list(Certainty)),
            "management": rng.choice(
                [m for m in Management if m != Management.MORE_INFORMATION]
            ),
            "information_request": None,
            "patient_message": "Thank you for the photos. This looks harmless; no treatment "
                               "is needed. Send new photos if it changes.",
            "internal_note": None, "ai_agreement": agreement,
            "model_name": latest["model_name"] if latest else None,
            "model_version": latest["model_version"] if latest else None,
            "created_at": row["submitted_at"] + timedelta(days=rng.uniform(0.5, 4)),
        }  # fmt: skip
        row["updated_at"] = spec.assessment["created_at"]


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert_returning(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert (batched multi-row INSERT ... RETURNING); ids in the rows' order."""
    ids: list[int] = []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    for chunk in _chunks(rows, 5000):
        ids.extend(db.session.scalars(statement, chunk).all())
    return ids


# --- databases -------------------------------------------------------------------------


def own_database_name(url: str) -> str:
    """The database's name, if it is one this benchmark may drop and create; else exit."""
    parsed = make_url(url)
    name = parsed.database or ""
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit("--database-url must be a PostgreSQL URL (postgresql+psycopg://...)")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in (
        "test", "postgres", "template0", "template1",
    ):  # fmt: skip
        raise SystemExit(f"refusing to drop and recreate the database {name!r}: name another one")
    return name


def recreate_database(url: str) -> None:
    """Drop and create the benchmark's own PostgreSQL database."""
    parsed = make_url(url)
    name = own_database_name(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    name = own_database_name(url)
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def vacuum_analyze(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


# --- measuring -------------------------------------------------------------------------


class ServerClock:
    """WSGI wrapper: time inside the app per request, with its SQL statements and time."""

    def __init__(self, app: Flask) -> None:
        self.inner = app.wsgi_app
        app.wsgi_app = self  # type: ignore[method-assign]
        self.seconds = 0.0
        self.queries = 0
        self.sql_seconds = 0.0
        self._sql_start = 0.0
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._before)
            event.listen(db.engine, "after_cursor_execute", self._after)

    def _before(self, *args: Any) -> None:
        self.queries += 1
        self._sql_start = time.perf_counter()

    def _after(self, *args: Any) -> None:
        self.sql_seconds += time.perf_counter() - self._sql_start

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.queries, self.sql_seconds = 0, 0.0
        start = time.perf_counter()
        body = self.inner(environ, start_response)
        try:
            chunks = list(body)
        finally:
            close = getattr(body, "close", None)
            if close:
                close()
        self.seconds = time.perf_counter() - start
        return chunks


@dataclass
class Samples:
    """Timings of one row of the report, one value per round."""

    name: str
    ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)


@dataclass(kw_only=True)
class Target(Samples):
    """One endpoint on one database, with the timings of its requests."""

    client: FlaskClient
    clock: ServerClock
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    describe: Callable[[Any], float] | None = None

    def hit(self, number: int, record: bool) -> None:
        path = self.paths[number % len(self.paths)]
        response = self.client.get(path, headers=self.headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
        if record:
            self.ms.append(self.clock.seconds * 1000)
            self.sql_ms.append(self.clock.sql_seconds * 1000)
            self.queries.append(self.clock.queries)
            if self.describe:
                self.sizes.append(self.describe(response.get_json()))


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


@dataclass
class Workspace:
    """One seeded database, its app and the clients of the measured specialist."""

    label: str
    url: str
    app: Flask
    clock: ServerClock
    api: FlaskClient
    browser: FlaskClient
    token: str
    seeded: Seeded


def open_workspace(label: str, url: str, env: dict[str, str], cases: int, seed: int) -> Workspace:
    from flask_migrate import upgrade

    recreate_database(url)
    # Cheap password hashing in this process: logins are not what is measured.
    settings = Settings.from_env({**env, "CASEBOX_DATABASE_URL": url}).replace(
        argon2_time_cost=1, argon2_memory_kib=1024
    )
    app = create_app(settings)
    manifest = discover_models(settings.models_dir or MODELS_ROOT)[settings.lesion_model]
    start = time.perf_counter()
    with app.app_context():
        upgrade()
        seeded = Seeder(app, random.Random(seed), manifest).seed(cases)
        db.session.remove()
    vacuum_analyze(url)
    total = sum(v for k, v in seeded.counts.items() if k.startswith("queue "))
    print(
        f"[{label}] seeded {total} routed cases waiting for review ("
        + ", ".join(f"{k} {v}" for k, v in sorted(seeded.counts.items()))
        + f") in {time.perf_counter() - start:.1f} s, then VACUUM ANALYZE"
    )
    clock = ServerClock(app)
    api = app.test_client()
    response = api.post(
        "/api/v1/auth/tokens", json={"email": seeded.specialist_email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.get_json()
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    login = browser.post(
        "/login",
        data={"email": seeded.specialist_email, "password": PASSWORD, "csrf_token": match[1]},
    )
    assert login.status_code == 302, login.status_code
    return Workspace(label, url, app, clock, api, browser, response.get_json()["token"], seeded)


HEALTHZ = "GET /healthz (baseline)"
QUEUE_SHELL = "GET /review/ (HTML shell)"
CASE_SHELL = "GET /review/cases/{id} (HTML shell)"
QUEUES = "GET /api/v1/queues"
BODY_SITES_ROW = "GET /api/v1/body-sites"
URGENT_PAGE = "GET /api/v1/queues/urgent/cases?per_page=50"
ROUTINE_PAGE = "GET /api/v1/queues/routine/cases?per_page=50"
CASE_VIEW = "GET /api/v1/cases/{id} (staff view)"
HISTORY = "GET /api/v1/cases/{id}/history"
PER_PAGE = 50  # what the queue page asks for (annotation_ui/static/review/queue.js)
# What a page load asks the server for, besides images (the case page also claims the
# case and reads each photo's annotations: writes and another team's API, not summed).
PAGES = {
    "queue page (urgent queue first, as it opens)": [
        QUEUE_SHELL, QUEUES, BODY_SITES_ROW, URGENT_PAGE,
    ],
    "queue page on the routine queue": [QUEUE_SHELL, QUEUES, BODY_SITES_ROW, ROUTINE_PAGE],
    "case page (shell, case, body sites, history)": [
        CASE_SHELL, CASE_VIEW, BODY_SITES_ROW, HISTORY,
    ],
}  # fmt: skip


def targets_of(space: Workspace) -> list[Target]:
    auth = {"Authorization": f"Bearer {space.token}"}
    cases = space.seeded.case_ids
    page = f"page=1&per_page={PER_PAGE}"

    def api(name: str, paths: list[str], describe: Callable[[Any], float] | None = None) -> Target:
        return Target(
            name=name, client=space.api, clock=space.clock, paths=paths, headers=auth,
            describe=describe,
        )  # fmt: skip

    def html(name: str, paths: list[str]) -> Target:
        return Target(name=name, client=space.browser, clock=space.clock, paths=paths)

    def total(body: Any) -> float:
        return float(body["total"])

    routine = f"/api/v1/queues/routine/cases?{page}"
    return [
        Target(name=HEALTHZ, client=space.api, clock=space.clock, paths=["/healthz"]),
        html(QUEUE_SHELL, ["/review/"]),
        api(QUEUES, ["/api/v1/queues"]),
        api(BODY_SITES_ROW, ["/api/v1/body-sites"]),
        api(URGENT_PAGE, [f"/api/v1/queues/urgent/cases?{page}"], total),
        api("GET /api/v1/queues/routine/cases (API default: 20)",
            ["/api/v1/queues/routine/cases"], total),
        api(ROUTINE_PAGE, [routine], total),
        api("  ...&sla=breached", [f"{routine}&sla=breached"], total),
        api("  ...&claim=unclaimed", [f"{routine}&claim=unclaimed"], total),
        api("  ...&sla=due_soon&claim=unclaimed (urgent queue)",
            [f"/api/v1/queues/urgent/cases?{page}&sla=due_soon&claim=unclaimed"], total),
        html(CASE_SHELL, [f"/review/cases/{case_id}" for case_id in cases]),
        api(CASE_VIEW, [f"/api/v1/cases/{case_id}" for case_id in cases],
            lambda body: float(len(body["photos"]))),
        api(HISTORY, [f"/api/v1/cases/{case_id}/history" for case_id in cases],
            lambda body: float(len(body["items"]))),
    ]  # fmt: skip


def run_rounds(targets: list[Target], requests: int, warmup: int) -> None:
    """Every target once per round; the case rotation is the same for all in a round."""
    for number in range(warmup):
        for target in targets:
            target.hit(number, record=False)
    for number in range(requests):
        for target in targets:
            target.hit(number, record=True)


def page_loads(targets: list[Target]) -> list[Samples]:
    """Per round, the summed server time of the requests one page load makes."""
    by_name = {target.name: target for target in targets}
    rows = []
    for name, parts in PAGES.items():
        members = [by_name[part] for part in parts]
        rounds = range(len(members[0].ms))
        rows.append(
            Samples(
                name=name,
                ms=[sum(m.ms[i] for m in members) for i in rounds],
                sql_ms=[sum(m.sql_ms[i] for m in members) for i in rounds],
                queries=[sum(m.queries[i] for m in members) for i in rounds],
            )
        )
    return rows


# --- report ----------------------------------------------------------------------------


SIZE_NOTES = {CASE_VIEW: "photos per case", HISTORY: "other cases per history"}


def report(big: list[Target], small: list[Target] | None, big_cases: int, small_cases: int) -> None:
    healthz = pct(next(t for t in big if t.name == HEALTHZ).ms, 95)
    small_rows: list[Samples] = [*small, *page_loads(small)] if small else []
    small_by_name = {row.name: row for row in small_rows}
    width = 62
    header = (
        f"{f'endpoint ({big_cases} cases)':<{width}} {'p50':>6} {'p95':>6} {'p99':>6} "
        f"{'SQL p50':>7} {'queries':>7}  {'/hz':>5}"
    )
    if small:
        header += f"  {f'p95 @{small_cases}':>9} {'ratio':>5}"
    header += "  p95 <= 100 ms?"

    def line(row: Samples) -> str:
        p95 = pct(row.ms, 95)
        text = (
            f"{row.name:<{width}} {pct(row.ms, 50):6.1f} {p95:6.1f} {pct(row.ms, 99):6.1f} "
            f"{statistics.median(row.sql_ms):7.1f} {statistics.median(row.queries):7.0f}  "
            f"{p95 / healthz:5.1f}"
        )
        other = small_by_name.get(row.name)
        if other:
            text += f"  {pct(other.ms, 95):9.1f} {p95 / pct(other.ms, 95):5.2f}"
        verdict = "baseline" if row.name == HEALTHZ else "yes" if p95 <= TARGET_MS else "MISSED"
        return f"{text}  {verdict}"

    print("\nserver time in ms: time inside the Flask app per request, one request at a time")
    print(header)
    print("-" * len(header))
    for target in big:
        print(line(target))
    loads = page_loads(big)
    print("page loads (sum of the requests above that a page makes):")
    for row in loads:
        print(line(row))
    print(
        "\n/hz = p95 over the p95 of /healthz in the same run; ratio = p95 here over the p95 "
        f"of the same row with {small_cases} cases; SQL p50 = median time in cursor.execute; "
        "queries = SQL statements per request (median)."
    )
    for target in big:
        if target.sizes:
            note = SIZE_NOTES.get(target.name, "matching cases (total)")
            print(f"  {target.name.strip():<{width}} {statistics.mean(target.sizes):7.1f} {note}")
    missed = [
        row.name for row in [*big, *loads] if row.name != HEALTHZ and pct(row.ms, 95) > TARGET_MS
    ]
    verdict = "every p95 within" if not missed else f"{len(missed)} p95 over"
    print(f"\nverdict: {verdict} {TARGET_MS:.0f} ms with {big_cases} cases on PostgreSQL")


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# --- main ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000, help="cases awaiting review")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL database to create, seed and drop")  # fmt: skip
    parser.add_argument("--baseline-cases", type=int, default=100,
                        help="cases in the baseline database (0: none)")  # fmt: skip
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per endpoint")
    parser.add_argument("--redis-url", default=None, help="default: an embedded Redis server")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    own_database_name(args.database_url)  # exit before anything is created or dropped
    data_dir = Path(tempfile.mkdtemp(prefix="casebox-bench-review-"))
    redis_server = None
    redis_url = args.redis_url
    if not redis_url:
        redis_server = EmbeddedRedis(data_dir)
        redis_server.start()
        redis_url = redis_server.url
    env = {
        **os.environ,
        "CASEBOX_DATA_DIR": str(data_dir),
        "CASEBOX_REDIS_URL": redis_url,
        "CASEBOX_STORAGE_URL": f"file://{data_dir / 'objects'}",
        "CASEBOX_SECRET_KEY": "bench-" + "k" * 40,
        "CASEBOX_DATA_KEY": new_data_key(),
    }
    small_url = None
    if args.baseline_cases:
        parsed = make_url(args.database_url)
        small_url = parsed.set(database=f"{parsed.database}_small").render_as_string(
            hide_password=False
        )
    spaces: list[Workspace] = []
    try:
        big = open_workspace("large", args.database_url, env, args.cases, args.seed)
        spaces.append(big)
        small = None
        if small_url:
            small = open_workspace("baseline", small_url, env, args.baseline_cases, args.seed)
            spaces.append(small)
        with big.app.app_context():
            version = db.session.scalar(text("SHOW server_version"))
            db.session.remove()
        queues = big.api.get("/api/v1/queues", headers={"Authorization": f"Bearer {big.token}"})
        print("queues as the specialist sees them:")
        for queue in queues.get_json():
            print(
                f"  {queue['name']:<11} waiting {queue['waiting']:5d}  in review "
                f"{queue['in_review']:4d}  due soon {queue['due_soon']:4d}  "
                f"breached {queue['breached']:5d}"
            )
        big_targets = targets_of(big)
        small_targets = targets_of(small) if small else []
        print(
            f"\nmeasuring {args.requests} requests per endpoint after {args.warmup} warm-up "
            f"(round-robin over {len(big_targets) + len(small_targets)} endpoint x database "
            f"pairs); loadavg before: {loadavg()}"
        )
        round_start = time.perf_counter()
        run_rounds(big_targets + small_targets, args.requests, args.warmup)
        print(f"measured in {time.perf_counter() - round_start:.0f} s; loadavg after: {loadavg()}")
        print(
            f"\nsetup: Flask test client in-process, one request at a time; PostgreSQL "
            f"{version} at {make_url(args.database_url).render_as_string()}; "
            f"{'embedded' if redis_server else 'external'} Redis; {os.cpu_count()} cores "
            f"({platform.machine()}), Python {platform.python_version()}"
        )
        report(big_targets, small_targets or None, args.cases, args.baseline_cases)
    finally:
        for space in spaces:
            with space.app.app_context():
                db.session.remove()
                db.engine.dispose()
        if not args.keep_database:
            for url in (args.database_url, small_url):
                if url:
                    drop_database(url)
        if redis_server:
            redis_server.stop()
    kept = " (databases kept)" if args.keep_database else ""
    print(f"\n(total {time.perf_counter() - started:.0f} s{kept})")


if __name__ == "__main__":
    main()
