"""The purge of erased patients: nothing before the retention period ends, everything after
(rows and stored files), resumable after a crash, the audit chain intact, others untouched."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from flask import Flask
from rq.registry import ScheduledJobRegistry
from sqlalchemy import String, func, select

from casebox import services
from casebox.accounts.models import Role, User
from casebox.annotations.models import Annotation
from casebox.audit.models import AuditEvent
from casebox.audit.trail import verify_chain
from casebox.cases.models import Case, CaseStatus, Photo
from casebox.comparison.models import PhotoAlignment
from casebox.database import db, utcnow
from casebox.erasure.models import ErasureRequest
from casebox.erasure.purge import (
    ERASED_NAME,
    KEPT_TABLES,
    OBJECT_KEY_COLUMNS,
    _purge_rows,
    purge_due,
)
from casebox.exports.fhir import build_export_bundle
from casebox.exports.operations import collect_export, write_archive
from casebox.notifications.models import NotificationPreferences
from casebox.settings import new_data_key
from prescriptions.models import Prescription
from tests.api.test_export import History, _history
from tests.support import PASSWORD, ApiClient, clock_ahead, questionnaire
from workers.purge import PURGE_FUNCTION, purge_job_id, schedule_daily_purge
from workers.queues import default_queue
from workers.worker import PipelineWorker

PAST_RETENTION = timedelta(days=3651)


@dataclass
class Erased:
    """An erased patient with a full history, and another patient who stays."""

    history: History
    user_id: int
    public_id: str
    erasure_id: str
    keys: set[str]
    other_keys: set[str]


def _object_keys(case_ids: list[int]) -> set[str]:
    keys: set[str] = set()
    for photo in db.session.scalars(select(Photo).where(Photo.case_id.in_(case_ids))):
        keys |= {k for k in (photo.original_key, photo.review_key, photo.thumb_key) if k}
    for prescription in db.session.scalars(
        select(Prescription).where(Prescription.case_id.in_(case_ids))
    ):
        keys |= {prescription.pdf_key} if prescription.pdf_key else set()
    return keys


def _erased_patient(api: ApiClient, app: Flask) -> Erased:
    history = _history(api)
    me = api.client.get("/api/v1/me", headers=history.patient).get_json()
    # A third case, opened with a keyed request: its reply is remembered.
    keyed = api.client.post(
        "/api/v1/cases",
        json={"body_site": "scalp", "questionnaire": questionnaire()},
        headers={**history.patient, "Idempotency-Key": "k-1"},
    )
    assert keyed.status_code == 201, keyed.get_json()
    with app.app_context():
        user = db.session.scalars(select(User).where(User.public_id == me["id"])).one()
        cases = db.session.scalars(select(Case).where(Case.patient_id == user.id)).all()
        photos = [photo for case in cases for photo in case.photos]
        specialist_id = db.session.scalars(select(Prescription.prescriber_id)).first()
        assert specialist_id is not None and len(photos) == 2
        # What a specialist adds on the patient's photos goes with them.
        db.session.add(
            Annotation(
                photo_id=photos[0].id, author_id=specialist_id, tool="point",
                motivation="tagging", selector={}, bodies=[],
            )
        )  # fmt: skip
        db.session.add(
            PhotoAlignment(
                fixed_photo_id=photos[0].id, moving_photo_id=photos[1].id,
                matrix=[[1, 0, 0], [0, 1, 0], [0, 0, 1]], inliers=10, matches=20,
                method="orb", created_by_id=specialist_id,
            )
        )  # fmt: skip
        db.session.add(NotificationPreferences(user_id=user.id, sms=True, phone="+15145550123"))
        db.session.commit()
        keys = _object_keys([case.id for case in cases])
        other = db.session.scalars(
            select(Case.id).join(User, Case.patient_id == User.id).where(User.id != user.id)
        ).all()
        other_keys = _object_keys(list(other))
        user_id = user.id
    erased = api.client.post(
        "/api/v1/me/erasure", json={"password": PASSWORD, "confirm": "ERASE"},
        headers=history.patient,
    )  # fmt: skip
    assert erased.status_code == 200, erased.get_json()
    return Erased(history, user_id, me["id"], erased.get_json()["id"], keys, other_keys)


def _files(app: Flask) -> set[str]:
    root = app.extensions["casebox.settings"].data_dir / "objects"
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def _rows_naming(user_id: int) -> dict[str, int]:
    """Rows outside the kept tables that reference the user, by table."""
    found = {}
    for table in db.metadata.sorted_tables:
        if table.name in KEPT_TABLES:
            continue
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table.name == "users":
                count = db.session.scalar(
                    select(func.count()).select_from(table).where(foreign_key.parent == user_id)
                )
                if count:
                    found[f"{table.name}.{foreign_key.parent.name}"] = count
    return found


def _audit_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_before_the_retention_period_ends_the_purge_keeps_everything(
    api: ApiClient, app: Flask
) -> None:
    erased = _erased_patient(api, app)
    files = _files(app)
    assert erased.keys <= files
    with app.app_context(), clock_ahead(app, timedelta(days=3649)):
        assert purge_due().purged == []
        assert (
            db.session.scalar(
                select(func.count()).select_from(Case).where(Case.patient_id == erased.user_id)
            )
            == 3
        )
        request = db.session.scalars(select(ErasureRequest)).one()
        assert request.status == "pending" and request.rows_purged_at is None
    assert _files(app) == files


def test_after_the_retention_period_the_purge_deletes_rows_and_files(
    api: ApiClient, app: Flask
) -> None:
    erased = _erased_patient(api, app)
    before = _files(app)
    assert erased.keys and erased.keys <= before and erased.other_keys <= before
    with app.app_context():
        assert _rows_naming(erased.user_id)  # the history is there to purge
    with app.app_context(), clock_ahead(app, PAST_RETENTION):
        run = purge_due()
        assert run.purged == [erased.erasure_id] and not run.remaining
        assert _rows_naming(erased.user_id) == {}
        assert db.session.scalar(select(func.count()).select_from(Annotation)) == 0
        assert db.session.scalar(select(func.count()).select_from(PhotoAlignment)) == 0
        user = db.session.get_one(User, erased.user_id)
        assert user.name == ERASED_NAME and user.email.endswith("@erased.invalid")
        assert user.patient is None and user.active is False and user.totp_secret_sealed is None
        assert user.public_id == erased.public_id  # the audit trail's events still point here
        request = db.session.scalars(select(ErasureRequest)).one()
        assert request.status == "purged" and request.objects_pending is None
        # The other patient's case is exactly as it was.
        other = db.session.scalars(select(Case).where(Case.public_id == erased.history.other_case))
        assert other.one().status == CaseStatus.AWAITING_REVIEW
    after = _files(app)
    assert not erased.keys & after, "the erased patient's files are gone from the data dir"
    assert not any(erased.history.completed_case in path for path in after)
    assert not any(erased.history.draft_case in path for path in after)
    assert erased.other_keys <= after
    login = api.client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 401


def test_the_export_holds_nothing_after_the_purge(api: ApiClient, app: Flask) -> None:
    erased = _erased_patient(api, app)
    with app.app_context(), clock_ahead(app, PAST_RETENTION):
        purge_due()
        user = db.session.get_one(User, erased.user_id)
        export = collect_export(user)
        assert export.cases == [] and export.prescriptions == []
        assert export.account["profile"] is None and export.account["consents"] == []
        assert export.account["nominated_pharmacy"] is None
        bundle = build_export_bundle(
            export, base_url="https://casebox.example", exported_at=utcnow(), sha1_by_path={}
        )
        target = io.BytesIO()
        write_archive(
            export, target, services.object_store(), base_url="https://x.example",
            exported_at=utcnow(),
        )  # fmt: skip
    entries = bundle["entry"]
    assert [entry["resource"]["resourceType"] for entry in entries] == ["Patient"]
    patient = entries[0]["resource"]
    assert "birthDate" not in patient and patient["name"] == [{"text": ERASED_NAME}]
    names = set(zipfile.ZipFile(target).namelist())
    assert names == {"README.txt", "account.json", "fhir/bundle.json"}


def test_rerunning_the_purge_changes_nothing_and_the_audit_chain_verifies(
    api: ApiClient, app: Flask
) -> None:
    erased = _erased_patient(api, app)
    with app.app_context(), clock_ahead(app, PAST_RETENTION):
        assert purge_due().purged == [erased.erasure_id]
        events = _audit_count()
        files = _files(app)
        db.session.rollback()  # the purge runs outside any transaction, as in the job
        assert purge_due().purged == []
        assert _audit_count() == events
        assert _files(app) == files
        checked, broken = verify_chain()
        assert broken is None and checked == events
        (purged,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.purged")
        ).all()
        assert purged.object_id == erased.public_id and purged.actor_role == "system"
        details = dict(purged.details)
        assert details.pop("erasure_id") == erased.erasure_id
        assert all(isinstance(value, int) for value in details.values())
        assert details["cases"] == 3 and details["photos"] == 2
        assert details["objects"] == len(erased.keys)
        assert details["idempotency_records"] >= 1
        # The erased patient's earlier events are all still there, unchanged.
        assert db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.actor_id == erased.public_id)
        )


def test_a_purge_that_stopped_after_deleting_the_rows_finishes_the_files(
    api: ApiClient, app: Flask
) -> None:
    erased = _erased_patient(api, app)
    with app.app_context(), clock_ahead(app, PAST_RETENTION):
        keys = _purge_rows(erased.erasure_id)  # step 1 committed, then the process died
        assert keys is not None and set(keys) == erased.keys
        assert _rows_naming(erased.user_id) == {}
        request = db.session.scalars(select(ErasureRequest)).one()
        assert request.status == "purging" and set(request.objects_pending or []) == erased.keys
        db.session.rollback()
    assert erased.keys <= _files(app)  # the files are still there...
    with app.app_context():  # ...and the next run (whatever the clock) deletes them
        assert purge_due().purged == [erased.erasure_id]
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "patient.purged")
            )
            == 1
        )
        assert verify_chain()[1] is None
    assert not erased.keys & _files(app)


def test_every_object_key_column_is_purged() -> None:
    named = {
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_key") and isinstance(column.type, String)
    }
    listed = {f"{table}.{column}" for table, columns in OBJECT_KEY_COLUMNS.items()
              for column in columns}  # fmt: skip
    assert named == listed, "a new column names stored objects: add it to OBJECT_KEY_COLUMNS"


def test_the_daily_purge_waits_in_rqs_scheduler_and_the_job_purges(
    api: ApiClient, app: Flask
) -> None:
    erased = _erased_patient(api, app)
    with app.app_context():
        queue = default_queue(services.redis_connection())
        job = schedule_daily_purge(queue)
        assert job is not None
        assert schedule_daily_purge(queue) is None  # already waiting: not twice
        registry = ScheduledJobRegistry(queue=queue)
        assert job.id in registry.get_job_ids()
        at = registry.get_scheduled_time(job.id)
        assert at.time() == time(2, 0) and utcnow() < at <= utcnow() + timedelta(days=1)
        assert job.id == purge_job_id(at)
    with clock_ahead(app, PAST_RETENTION), app.app_context():
        queue.enqueue(PURGE_FUNCTION, job_id="purge-erased-now")  # as the scheduler would
        PipelineWorker([queue], connection=queue.connection, app=app).work(burst=True)
        request = db.session.scalars(select(ErasureRequest)).one()
        assert request.status == "purged"
    assert not erased.keys & _files(app)


def test_admins_see_the_request_as_purged(api: ApiClient, app: Flask) -> None:
    erased = _erased_patient(api, app)
    with app.app_context(), clock_ahead(app, PAST_RETENTION):
        purge_due()
    admin = api.auth(api.staff(Role.ADMIN))
    (item,) = api.client.get(
        "/api/v1/admin/erasure-requests", query_string={"status": "purged"}, headers=admin
    ).get_json()
    assert item["id"] == erased.erasure_id and item["purged_at"]
    assert item["counts"]["purged"]["cases"] == 3
    assert datetime.fromisoformat(item["purged_at"]) <= utcnow()


def test_casebox_purge_erased_command(tmp_path: Path, redis_url: str) -> None:
    env = {
        **os.environ,
        "CASEBOX_DATA_DIR": str(tmp_path),
        "CASEBOX_REDIS_URL": redis_url,
        "CASEBOX_SECRET_KEY": "cli-test-" + "k" * 40,
        "CASEBOX_DATA_KEY": new_data_key(),
    }

    def casebox(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "casebox", *args], env={**env, **extra},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    assert casebox("db", "upgrade").returncode == 0
    from casebox.app import create_app
    from casebox.settings import Settings

    cli_app = create_app(Settings.from_env(env))
    client = ApiClient(cli_app.test_client())
    token = client.patient()
    erased = client.client.post(
        "/api/v1/me/erasure", json={"password": PASSWORD, "confirm": "ERASE"},
        headers=client.auth(token),
    )  # fmt: skip
    assert erased.status_code == 200, erased.get_json()
    with cli_app.app_context():
        db.engine.dispose()
    early = casebox("purge-erased")
    assert early.returncode == 0, early.stderr
    assert "purged 0" in early.stdout
    late = casebox("purge-erased", CASEBOX_CLOCK_OFFSET_SECONDS=str(3651 * 86400))
    assert late.returncode == 0, late.stderr
    assert "purged 1" in late.stdout
    verified = casebox("audit", "verify")
    assert verified.returncode == 0, verified.stderr
