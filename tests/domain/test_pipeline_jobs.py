"""The outbox relay and the worker turn committed uploads and submissions into work."""

from __future__ import annotations

import dataclasses
import io

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from casebox import services
from casebox.analysis import operations as analysis
from casebox.analysis.models import PhotoAnalysis
from casebox.cases import pipeline
from casebox.cases.models import Case, Photo, PhotoStatus
from casebox.database import db
from casebox.outbox.models import OutboxEvent
from tests.support import ApiClient, can_write_elsewhere, run_pipeline
from workers.queues import default_queue
from workers.relay import relay_pending
from workers.sweeper import sweep_stuck_work
from workers.worker import PipelineWorker


def test_uploaded_photo_gets_review_and_thumbnail(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    assert api.client.get(photo["links"]["review"], headers=api.auth(token)).status_code == 409
    assert run_pipeline(app) == 1
    case_now = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()
    assert case_now["photos"][0]["status"] == "ready"
    review = api.client.get(photo["links"]["review"], headers=api.auth(token))
    thumb = api.client.get(photo["links"]["thumb"], headers=api.auth(token))
    assert review.content_type == thumb.content_type == "image/jpeg"
    assert max(Image.open(io.BytesIO(review.data)).size) <= 2048
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320


def test_submitted_case_reaches_the_review_backlog_with_an_sla(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.submitted_case(token)
    assert run_pipeline(app) == 1  # the photos were checked before submission
    after = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()
    assert after["status"] == "awaiting_review"


def test_relaying_twice_enqueues_nothing_new_and_jobs_repeat_safely(
    api: ApiClient, app: Flask
) -> None:
    token = api.patient()
    api.submitted_case(token)
    run_pipeline(app)
    assert run_pipeline(app) == 0
    with app.app_context():
        # A relay that crashed after enqueueing but before marking would send the events again.
        for event in db.session.scalars(select(OutboxEvent)):
            event.dispatched_at = None
        db.session.commit()
    assert run_pipeline(app) == 2
    case = api.client.get("/api/v1/cases", headers=api.auth(token)).get_json()["items"][0]
    assert case["status"] == "awaiting_review"


def test_nothing_is_enqueued_for_a_rolled_back_request(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"], b"not an image").status_code == 422
    assert run_pipeline(app) == 0


def _damage_original(app: Flask) -> None:
    root = app.extensions["casebox.settings"].data_dir / "objects"
    [original] = list(root.rglob("original"))
    original.write_bytes(original.read_bytes()[:-50])  # storage damage: every read fails


def test_photo_that_cannot_be_processed_is_rejected_with_a_retake_message(
    api: ApiClient, app: Flask
) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    _damage_original(app)
    run_pipeline(app)
    url = f"/api/v1/cases/{case['id']}/photos/{photo['id']}"
    checked = api.client.get(url, headers=api.auth(token)).get_json()
    assert checked["status"] == "rejected"
    assert "take it again" in checked["quality_reasons"][0]["message"]
    submit = api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token))
    assert submit.status_code == 422
    assert "take it again" in submit.get_json()["errors"]["photos"][0]


def test_case_whose_processing_keeps_failing_is_marked_failed_for_staff(
    api: ApiClient, app: Flask
) -> None:
    token = api.patient()
    case = api.submitted_case(token)
    with app.app_context():
        # A photo left needing work (e.g. by a sweep) whose stored original is damaged:
        # every attempt at the case job fails the same way.
        photo = db.session.scalar(select(Photo))
        assert photo is not None
        photo.status = PhotoStatus.PROCESSING
        db.session.commit()
    _damage_original(app)
    run_pipeline(app)
    with app.app_context():
        stored = db.session.scalar(select(Case).where(Case.public_id == case["id"]))
        assert stored is not None
        assert stored.status == "processing_failed"
        assert stored.failure_reason == "IntegrityViolation in process_case"
    patient_view = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()
    assert patient_view["status"] == "processing_failed"


def test_sweeper_recovers_work_lost_when_redis_is_flushed(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"]).status_code == 201
    with app.app_context():
        queue = default_queue(services.redis_connection())
        relay_pending(queue)
        queue.connection.flushdb()  # Redis restarted without its data: the job is gone
    fresh = app.extensions["casebox.settings"]
    app.extensions["casebox.settings"] = fresh.replace(stuck_after_seconds=0)
    try:
        with app.app_context():
            assert sweep_stuck_work(queue) == 1  # the photo
            assert sweep_stuck_work(queue) == 0  # already queued: not duplicated
            PipelineWorker([queue], connection=queue.connection, app=app).work(burst=True)
            submit = api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token))
            assert submit.status_code == 202
            relay_pending(queue)
            queue.connection.flushdb()  # and again, after submission
            assert sweep_stuck_work(queue) == 1  # the case
            PipelineWorker([queue], connection=queue.connection, app=app).work(burst=True)
    finally:
        app.extensions["casebox.settings"] = fresh
    after = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()
    assert after["status"] == "awaiting_review"
    assert after["photos"][0]["status"] == "ready"


def test_image_and_model_work_hold_no_database_lock(
    api: ApiClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers share one database: one developing a photo or running the model
    # must not make the other wait for a lock until it is done.
    free: list[bool] = []
    develop, predict = pipeline.develop, analysis.predict

    def probing_develop(pending: pipeline.PendingPhoto) -> pipeline.Normalized:
        free.append(can_write_elsewhere(app))
        return develop(pending)

    def probing_predict(plan: analysis.AnalysisPlan) -> dict[str, analysis.PhotoPrediction]:
        free.append(can_write_elsewhere(app))
        return predict(plan)

    monkeypatch.setattr(pipeline, "develop", probing_develop)
    monkeypatch.setattr(analysis, "predict", probing_predict)
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"], view="close_up").status_code == 201
    run_pipeline(app)
    assert (
        api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token)).status_code
        == 202
    )
    run_pipeline(app)
    assert free == [True, True]  # one photo developed, one model run
    after = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()
    assert after["status"] == "awaiting_review"


def test_photo_deleted_while_it_was_developed_leaves_no_objects(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    with app.app_context():
        pending = pipeline.pending_photo(photo["id"])
        db.session.commit()
        assert pending is not None
        developed = pipeline.develop(pending)
        url = f"/api/v1/cases/{case['id']}/photos/{photo['id']}"
        assert api.client.delete(url, headers=api.auth(token)).status_code == 204
        assert pipeline.store_normalized(pending, developed) is None
        db.session.commit()
    root = app.extensions["casebox.settings"].data_dir / "objects"
    assert [path for path in root.rglob("*") if path.is_file()] == []


def test_a_prediction_from_another_review_image_is_not_stored(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"], view="close_up").get_json()
    run_pipeline(app)
    assert (
        api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token)).status_code
        == 202
    )
    with app.app_context():
        assert pipeline.start_processing(case["id"])
        db.session.commit()
        plan = pipeline.case_analysis_plan(case["id"])
        assert plan is not None
        [made] = analysis.predict(plan).values()
        fake = dataclasses.replace(made.prediction, malignancy_score=0.987)
        stale = {photo["id"]: analysis.PhotoPrediction("0" * 64, fake)}
        assert pipeline.finish_processing(case["id"], stale) == "awaiting_review"
        stored = db.session.scalar(select(PhotoAnalysis))
        assert stored is not None
        assert stored.malignancy_score == pytest.approx(made.prediction.malignancy_score)
        db.session.rollback()
        current = {photo["id"]: analysis.PhotoPrediction(made.review_sha256, fake)}
        assert pipeline.finish_processing(case["id"], current) == "awaiting_review"
        stored = db.session.scalar(select(PhotoAnalysis))
        assert stored is not None and stored.malignancy_score == 0.987
        db.session.rollback()
