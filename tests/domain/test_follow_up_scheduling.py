"""Follow-up reminders wait in RQ's scheduler; the database brings back any Redis lost."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from casebox import services
from casebox.accounts.models import User
from casebox.cases.models import Case
from casebox.database import db, utcnow
from casebox.followups import operations as followups
from casebox.followups.operations import DUE_TIME_OF_DAY
from tests.api.follow_up_support import (
    count_follow_up_cases,
    follow_up_row,
    followed_up_case,
    sweep_and_work,
)
from tests.support import ApiClient, clock_ahead, run_pipeline
from workers import jobs
from workers.queues import default_queue, follow_up_job_id
from workers.sweeper import sweep_stuck_work

SIX_WEEKS = timedelta(days=42)


def _scheduled_at(app: Flask, follow_up_id: str) -> datetime | None:
    with app.app_context():
        queue = default_queue(services.redis_connection())
        registry = ScheduledJobRegistry(queue=queue)
        if follow_up_job_id(follow_up_id) not in registry.get_job_ids():
            return None
        return registry.get_scheduled_time(follow_up_job_id(follow_up_id))


def test_the_reminder_waits_in_rqs_scheduler_for_the_due_time(api: ApiClient, app: Flask) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    _, follow_up = followed_up_case(api, patient, specialist)
    run_pipeline(app)  # the relay hands the reminder to RQ
    due_at = datetime.fromisoformat(follow_up["due_at"])
    assert abs(due_at - (utcnow() + SIX_WEEKS)) < timedelta(minutes=1)
    scheduled = _scheduled_at(app, follow_up["id"])
    assert scheduled is not None
    assert abs(scheduled - due_at) < timedelta(seconds=1)
    assert follow_up_row(app, follow_up["id"]).status == "scheduled"  # nothing ran early


def test_a_reminder_redis_lost_is_scheduled_again_by_the_sweep(api: ApiClient, app: Flask) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    due_on = (utcnow() + timedelta(days=100)).date()
    _, follow_up = followed_up_case(api, patient, specialist, due_on=due_on.isoformat())
    run_pipeline(app)
    assert _scheduled_at(app, follow_up["id"]) is not None
    with app.app_context():
        services.redis_connection().flushdb()  # Redis restarted without its data
    assert _scheduled_at(app, follow_up["id"]) is None
    assert sweep_and_work(app) == 1
    assert _scheduled_at(app, follow_up["id"]) == datetime.combine(due_on, DUE_TIME_OF_DAY)
    assert sweep_and_work(app) == 0  # still there: not scheduled twice
    assert follow_up_row(app, follow_up["id"]).status == "scheduled"


def test_on_the_due_date_the_follow_up_case_is_pre_created_once_and_the_patient_told(
    api: ApiClient, app: Flask
) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    baseline_id, follow_up = followed_up_case(api, patient, specialist)
    run_pipeline(app)
    with clock_ahead(app, SIX_WEEKS + timedelta(hours=1)):
        assert sweep_and_work(app) == 1  # due by casebox's clock: run now, not in six weeks
        assert _scheduled_at(app, follow_up["id"]) is None
        assert sweep_and_work(app) == 0
        with app.app_context():
            assert jobs.follow_up_due(follow_up["id"]) is None  # a repeat run changes nothing
    assert count_follow_up_cases(app, baseline_id) == 1
    stored = follow_up_row(app, follow_up["id"])
    assert stored.status == "due" and stored.reminded_at is not None

    baseline = api.client.get(f"/api/v1/cases/{baseline_id}", headers=api.auth(patient)).get_json()
    new_id = baseline["follow_up"]["follow_up_case_id"]
    assert baseline["follow_up"]["status"] == "due"
    notices = api.client.get("/api/v1/me/notifications", headers=api.auth(patient)).get_json()
    due = [n for n in notices["items"] if n["kind"] == "follow_up.due"]
    assert len(due) == 1
    assert due[0]["link"] == f"/my/cases/{new_id}"
    assert "photos" in due[0]["title"] and "naevus" not in due[0]["title"]

    new = api.client.get(f"/api/v1/cases/{new_id}", headers=api.auth(patient)).get_json()
    assert new["status"] == "draft"
    assert new["body_site"] == baseline["body_site"]
    assert new["questionnaire"] == baseline["questionnaire"]
    assert new["follow_up_of"]["case_id"] == baseline_id
    assert new["follow_up_of"]["instructions"].startswith("Photograph the same spot")
    assert [p["id"] for p in new["follow_up_of"]["photos"]] == [p["id"] for p in baseline["photos"]]


def test_a_reminder_run_early_does_nothing_and_stays_due_later(api: ApiClient, app: Flask) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    baseline_id, follow_up = followed_up_case(api, patient, specialist)
    with app.app_context():
        assert jobs.follow_up_due(follow_up["id"]) is None
    assert count_follow_up_cases(app, baseline_id) == 0
    assert follow_up_row(app, follow_up["id"]).status == "scheduled"


@pytest.mark.parametrize("gone", ["cancelled", "patient_deactivated"])
def test_no_case_and_no_notice_for_a_cancelled_follow_up_or_a_departed_patient(
    api: ApiClient, app: Flask, gone: str
) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    baseline_id, follow_up = followed_up_case(api, patient, specialist)
    if gone == "cancelled":
        url = f"/api/v1/follow-ups/{follow_up['id']}"
        assert api.client.delete(url, headers=specialist).status_code == 200
    else:
        with app.app_context():
            owner = db.session.scalar(
                select(User)
                .join(Case, Case.patient_id == User.id)
                .where(Case.public_id == baseline_id)
            )
            assert owner is not None
            owner.active = False
            db.session.commit()
    with clock_ahead(app, SIX_WEEKS + timedelta(days=1)):
        sweep_and_work(app)
        with app.app_context():
            assert followups.remind(follow_up["id"]) is None
            db.session.commit()
            queue = default_queue(services.redis_connection())
            assert sweep_stuck_work(queue) == 0  # nothing left for the sweeper to bring back
    assert count_follow_up_cases(app, baseline_id) == 0
    assert follow_up_row(app, follow_up["id"]).status == "cancelled"
    if gone == "cancelled":
        notices = api.client.get("/api/v1/me/notifications", headers=api.auth(patient)).get_json()
        assert [n for n in notices["items"] if n["kind"] == "follow_up.due"] == []
