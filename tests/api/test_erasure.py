"""A patient asks for erasure: everything stops at once, in one transaction, audited."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from casebox import services
from casebox.accounts.models import Role, User
from casebox.analysis.models import PhotoAnalysis
from casebox.assessments.models import Assessment
from casebox.audit.models import AuditEvent
from casebox.cases import pipeline
from casebox.cases.models import Case, CaseStatus, Photo, PhotoStatus
from casebox.database import db, utcnow
from casebox.erasure import operations
from casebox.erasure.models import ErasureRequest
from casebox.followups.models import FollowUp, FollowUpStatus
from casebox.notifications.models import (
    DeliveryStatus,
    NotificationDelivery,
    NotificationKind,
    NotificationPreferences,
)
from casebox.notifications.operations import notify
from casebox.uploads.models import Upload
from prescriptions.models import Prescription, PrescriptionStatus
from tests.api.review_support import CALM, audit_actions, claim, routed_case
from tests.api.test_uploads import _create, _patch
from tests.prescriptions.prescribing_support import prescribing, render_pdfs
from tests.support import PASSWORD, ApiClient, jpeg, run_pipeline
from workers.queues import default_queue, job_is_live
from workers.sweeper import sweep_stuck_work

ERASURE = "/api/v1/me/erasure"
REQUESTS = "/api/v1/admin/erasure-requests"
CONFIRMED = {"password": PASSWORD, "confirm": "ERASE"}


def _erase(api: ApiClient, headers: dict[str, str], **body: Any) -> Any:
    return api.client.post(ERASURE, json={**CONFIRMED, **body}, headers=headers)


def _case_status(app: Flask, case_id: str) -> CaseStatus:
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.public_id == case_id))
        assert case is not None
        return case.status


def _queue_ids(api: ApiClient, specialist: str) -> set[str]:
    ids = set()
    for queue in api.client.get("/api/v1/queues", headers=api.auth(specialist)).get_json():
        url = f"/api/v1/queues/{queue['name']}/cases"
        page = api.client.get(url, headers=api.auth(specialist)).get_json()
        ids |= {item["id"] for item in page["items"]}
    return ids


def test_a_wrong_password_or_confirmation_changes_nothing(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case_id = routed_case(api, token)
    wrong = _erase(api, api.auth(token), password="not my password")
    assert wrong.status_code == 403
    assert wrong.content_type == "application/problem+json"
    problem = wrong.get_json()
    assert problem["type"].endswith("/reauthentication-failed")
    assert "password" in problem["errors"]
    unconfirmed = _erase(api, api.auth(token), confirm="yes")
    assert unconfirmed.status_code == 422
    assert "confirm" in unconfirmed.get_json()["errors"]
    missing = api.client.post(ERASURE, json={"confirm": "ERASE"}, headers=api.auth(token))
    assert missing.status_code == 422
    # Still a working account with its case in the queue, and no request recorded.
    assert api.client.get("/api/v1/me", headers=api.auth(token)).status_code == 200
    assert _case_status(app, case_id) == CaseStatus.AWAITING_REVIEW
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ErasureRequest)) == 0
        refused = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.erasure_requested")
        ).all()
        assert [event.outcome for event in refused] == ["failure"]
        assert refused[0].details == {"reason": "wrong password"}


def test_staff_cannot_ask_for_erasure(api: ApiClient) -> None:
    specialist = api.staff(Role.SPECIALIST)
    response = api.client.post(ERASURE, json=CONFIRMED, headers=api.auth(specialist))
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"


def test_erasure_stops_a_submitted_case_before_the_pipeline_runs(
    api: ApiClient, app: Flask
) -> None:
    token = api.patient()
    case = api.submitted_case(token)  # its process-case job is still in the outbox
    draft = api.create_case(token, body_site="scalp")
    assert api.upload(token, draft["id"], jpeg(3)).status_code == 201  # not normalized yet
    before = utcnow()
    response = _erase(api, api.auth(token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    assert body["retention_days"] == 3650
    due = body["purge_due_at"]
    assert due.startswith(str((before + timedelta(days=3650)).year))
    assert "password" not in body

    run_pipeline(app)  # the relay hands both jobs to RQ; the worker runs them

    assert _case_status(app, case["id"]) == CaseStatus.WITHDRAWN
    assert _case_status(app, draft["id"]) == CaseStatus.WITHDRAWN
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PhotoAnalysis)) == 0
        stored = db.session.scalars(select(Case).where(Case.public_id == case["id"])).one()
        assert stored.queue is None and stored.claimed_by_id is None
        photo = db.session.scalars(
            select(Photo).join(Case).where(Case.public_id == draft["id"])
        ).one()
        # The photo job stopped too: no review copy or thumbnail was made.
        assert photo.status == PhotoStatus.PROCESSING and photo.review_key is None
    specialist = api.staff(Role.SPECIALIST)
    assert case["id"] not in _queue_ids(api, specialist)
    assert audit_actions(app, "case.withdraw") == ["case.withdraw", "case.withdraw"]


def test_a_case_under_review_leaves_every_queue(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    claimed_id = routed_case(api, token)
    waiting_id = routed_case(api, token, jpeg(5))
    other_id = routed_case(api)  # another patient's case stays
    specialist = api.staff(Role.SPECIALIST)
    claim(api, api.auth(specialist), claimed_id)
    assert {claimed_id, waiting_id, other_id} <= _queue_ids(api, specialist)

    assert _erase(api, api.auth(token)).status_code == 200

    queued = _queue_ids(api, specialist)
    assert claimed_id not in queued and waiting_id not in queued
    assert other_id in queued
    reclaim = api.client.post(f"/api/v1/cases/{claimed_id}/claim", headers=api.auth(specialist))
    assert reclaim.status_code == 404  # a withdrawn case is closed to specialists
    assert _case_status(app, other_id) == CaseStatus.AWAITING_REVIEW


def test_the_patient_can_no_longer_log_in_or_use_a_token(api: ApiClient, app: Flask) -> None:
    body = api.register()
    first, second = api.login(body["email"]), api.login(body["email"])
    assert _erase(api, api.auth(first)).status_code == 200
    for token in (first, second):
        response = api.client.get("/api/v1/me", headers=api.auth(token))
        assert response.status_code == 401
        assert response.content_type == "application/problem+json"
    login = api.client.post(
        "/api/v1/auth/tokens", json={"email": body["email"], "password": PASSWORD}
    )
    assert login.status_code == 401
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == body["email"])).one()
        assert user.active is False
        assert operations.request_of(user) is not None
    consent = audit_actions(app, "consent.")
    assert consent == ["consent.accept", "consent.withdraw"]


def test_a_browser_session_ends_with_the_erasure(api: ApiClient, app: Flask) -> None:
    body = api.register()
    page = api.client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    logged_in = api.client.post(
        "/login",
        data={"email": body["email"], "password": PASSWORD, "csrf_token": match.group(1)},
    )
    assert logged_in.status_code == 302
    with api.client.session_transaction() as session:
        csrf = session["csrf_token"]
    assert api.client.get("/api/v1/me").status_code == 200
    response = api.client.post(ERASURE, json=CONFIRMED, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.get_json()
    assert api.client.get("/api/v1/me").status_code == 401


def test_asking_again_returns_the_same_request(api: ApiClient, app: Flask) -> None:
    body = api.register()
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == body["email"])).one()
        first = operations.request_erasure(user, PASSWORD, source="web")
        db.session.commit()
        again = operations.request_erasure(user, PASSWORD, source="web")
        db.session.commit()
        assert again.public_id == first.public_id
        assert db.session.scalar(select(func.count()).select_from(ErasureRequest)) == 1
    assert audit_actions(app, "patient.erasure") == ["patient.erasure_requested"]


def test_pending_messages_uploads_and_follow_ups_stop(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    routed = routed_case(api, token)
    draft = api.create_case(token, questionnaire=CALM)
    created = _create(api, token, draft["id"], 200_000)
    assert created.status_code == 201, created.get_json()
    upload_url = created.headers["Location"]
    assert _patch(api, token, upload_url, 0, jpeg(4)[:50_000]).status_code == 204
    with app.app_context():
        user = db.session.scalars(
            select(User).join(Case, Case.patient_id == User.id).where(Case.public_id == routed)
        ).one()
        db.session.add(NotificationPreferences(user_id=user.id, email=True))
        db.session.flush()
        notify(user, NotificationKind.CASE_RESPONSE, f"/api/v1/cases/{routed}")
        db.session.commit()
        user_id = user.id
        chunk_keys = [chunk.object_key for chunk in db.session.scalars(select(Upload)).one().chunks]
    store = app.extensions["casebox.store"]
    assert all(store.exists(key) for key in chunk_keys) and chunk_keys

    assert _erase(api, api.auth(token)).status_code == 200
    run_pipeline(app)  # the notice's job runs now, and finds nothing to send

    with app.app_context():
        (delivery,) = db.session.scalars(select(NotificationDelivery)).all()
        assert delivery.status == DeliveryStatus.CANCELLED
        assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
        # A notice written later (a pharmacy's update, say) has no e-mail to send.
        user = db.session.get_one(User, user_id)
        notify(user, NotificationKind.PRESCRIPTION_UPDATED, "/api/v1/prescriptions/x")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(NotificationDelivery)) == 1
    settings = app.extensions["casebox.settings"]
    assert not list((settings.data_dir / "mail").glob("*"))
    assert not any(store.exists(key) for key in chunk_keys)
    assert api.client.head(upload_url, headers=api.auth(token)).status_code == 401


def test_follow_ups_and_draft_prescriptions_are_cancelled_signed_ones_stay(
    api: ApiClient, app: Flask
) -> None:
    rx = prescribing(api)
    assessment = {
        "diagnosis": {"code": "394726009"},
        "certainty": "high",
        "management": "treat",
        "patient_message": "Use the capsules.",
        "ai_agreement": "agree",
    }
    assessed = api.client.post(
        f"/api/v1/cases/{rx.case_id}/assessment", json=assessment, headers=rx.prescriber
    )
    assert assessed.status_code == 201, assessed.get_json()
    signed = rx.issued()
    render_pdfs(api)
    draft = rx.draft()
    assert draft.status_code == 201, draft.get_json()
    with app.app_context():
        case = db.session.scalars(select(Case).where(Case.public_id == rx.case_id)).one()
        db.session.add(_follow_up(case))
        db.session.commit()
        document = db.session.scalar(
            select(Prescription.document).where(Prescription.public_id == signed["id"])
        )
    assert document is not None

    assert _erase(api, rx.patient).status_code == 200

    with app.app_context():
        statuses = {p.public_id: p.status for p in db.session.scalars(select(Prescription)).all()}
        assert statuses[draft.get_json()["id"]] == PrescriptionStatus.CANCELLED
        assert statuses[signed["id"]] == PrescriptionStatus.ISSUED
        (follow_up,) = db.session.scalars(select(FollowUp)).all()
        assert follow_up.status == FollowUpStatus.CANCELLED
    # The completed case and its signed prescription are legal records: kept as they are.
    assert _case_status(app, rx.case_id) == CaseStatus.COMPLETED
    inbox = api.client.get("/api/v1/pharmacy/prescriptions", headers=rx.pharmacist)
    assert signed["id"] in {item["id"] for item in inbox.get_json()}
    verified = api.client.get(
        "/api/v1/prescriptions/verify",
        query_string={"number": signed["number"], "code": document["access_code"]},
    )
    assert verified.status_code == 200
    assert verified.get_json()["status"] == "issued"


def _follow_up(case: Case) -> FollowUp:
    assessment = db.session.scalars(select(Assessment).where(Assessment.case_id == case.id)).one()
    return FollowUp(
        baseline_case_id=case.id,
        patient_id=case.patient_id,
        specialist_id=assessment.specialist_id,
        assessment_id=assessment.id,
        due_at=utcnow() + timedelta(days=90),
        instructions="Photograph the same spot again.",
    )


def test_admins_see_pending_requests_with_their_dates_only(api: ApiClient, app: Flask) -> None:
    token = api.patient(name="Erin Erased")
    routed_case(api, token)
    erased = _erase(api, api.auth(token)).get_json()
    api.patient(name="Kim Kept")
    admin = api.staff(Role.ADMIN)
    listing = api.client.get(REQUESTS, headers=api.auth(admin))
    assert listing.status_code == 200
    (item,) = listing.get_json()
    assert item["id"] == erased["id"]
    assert item["status"] == "pending"
    assert item["purge_due_at"] == erased["purge_due_at"]
    assert item["counts"]["cases_withdrawn"] == 1
    assert "Erin" not in listing.get_data(as_text=True)
    assert "@" not in listing.get_data(as_text=True)
    assert api.client.get(REQUESTS, query_string={"status": "purged"},
                          headers=api.auth(admin)).get_json() == []  # fmt: skip
    bad = api.client.get(REQUESTS, query_string={"status": "gone"}, headers=api.auth(admin))
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    specialist = api.staff(Role.SPECIALIST)
    assert api.client.get(REQUESTS, headers=api.auth(specialist)).status_code == 403
    assert audit_actions(app, "erasure.list") == ["erasure.list", "erasure.list"]


def test_erasure_events_carry_no_personal_health_information(api: ApiClient, app: Flask) -> None:
    body = api.register(name="Priya Private")
    token = api.login(body["email"])
    routed_case(api, token)
    assert _erase(api, api.auth(token)).status_code == 200
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action.in_(["patient.erasure_requested", "case.withdraw"])
            )
        ).all()
        text = repr([event.details for event in events])
    assert "Priya" not in text and body["email"] not in text and "forearm" not in text


def test_a_photo_developed_while_the_patient_erased_is_not_stored(
    api: ApiClient, app: Flask
) -> None:
    token = api.patient()
    draft = api.create_case(token)
    uploaded = api.upload(token, draft["id"], jpeg(6))
    assert uploaded.status_code == 201
    photo_id = uploaded.get_json()["id"]
    with app.app_context():
        pending = pipeline.pending_photo(photo_id)  # the job read the photo...
        db.session.rollback()
    assert pending is not None
    assert _erase(api, api.auth(token)).status_code == 200  # ...the patient erased...
    with app.app_context():
        developed = pipeline.develop(pending)  # ...while the image work ran
        assert pipeline.store_normalized(pending, developed) is None
        db.session.commit()
        photo = db.session.scalars(select(Photo).where(Photo.public_id == photo_id)).one()
        assert photo.review_key is None and photo.thumb_key is None
        # Nor does the sweeper hand the photo back to RQ, however long it waits.
        photo.created_at = utcnow() - timedelta(days=1)
        db.session.commit()
        queue = default_queue(services.redis_connection())
        queue.empty()
        assert not job_is_live(queue, f"normalize-photo-{photo_id}")  # Redis lost the job
        assert sweep_stuck_work(queue) == 0
        assert queue.count == 0


def test_an_erased_patients_case_is_closed_to_specialists_and_to_new_prescriptions(
    api: ApiClient, app: Flask
) -> None:
    rx = prescribing(api)
    assert rx.draft().status_code == 201  # allowed while the patient's account is open
    assert _erase(api, rx.patient).status_code == 200
    refused = rx.draft()
    assert refused.status_code in (403, 404, 409)
    assert refused.content_type == "application/problem+json"
    opened = api.client.get(f"/api/v1/cases/{rx.case_id}", headers=rx.prescriber)
    assert opened.status_code == 404
    admin = api.auth(api.staff(Role.ADMIN))
    assert api.client.get(f"/api/v1/cases/{rx.case_id}", headers=admin).status_code == 200
    with app.app_context():
        drafts = db.session.scalars(select(Prescription)).all()
        assert [p.status for p in drafts] == [PrescriptionStatus.CANCELLED]
