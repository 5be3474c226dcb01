"""Helpers for follow-up and reply tests: assessed cases, the clock, the reminder job."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from casebox import services
from casebox.cases.models import Case
from casebox.database import db
from casebox.followups.models import FollowUp
from tests.api.review_support import claim, routed_case
from tests.support import ApiClient, run_pipeline
from workers.queues import default_queue
from workers.sweeper import sweep_stuck_work
from workers.worker import PipelineWorker

INSTRUCTIONS = "Photograph the same spot in 6 weeks, same distance and light."


def assessment(**changes: Any) -> dict[str, Any]:
    """A valid assessment of a routed (analysed) case, with a six-week follow-up."""
    body: dict[str, Any] = {
        "diagnosis": {"text": "Atypical naevus"},
        "certainty": "moderate",
        "management": "reassure_discharge",
        "patient_message": "This looks harmless; we will compare it in six weeks.",
        "ai_agreement": "agree",
        "follow_up": {"interval_days": 42, "instructions": INSTRUCTIONS},
    }
    body.update(changes)
    return body


def assess(api: ApiClient, specialist: dict[str, str], case_id: str, body: dict[str, Any]) -> Any:
    """Claim the case and post an assessment; returns the response."""
    claim(api, specialist, case_id)
    return api.client.post(f"/api/v1/cases/{case_id}/assessment", json=body, headers=specialist)


def followed_up_case(
    api: ApiClient, patient: str, specialist: dict[str, str], **follow_up: Any
) -> tuple[str, dict[str, Any]]:
    """A case assessed with a follow-up; its id and the patient's view of the follow-up."""
    case_id = routed_case(api, patient)
    body = assessment()
    if follow_up:
        body["follow_up"] = {"instructions": INSTRUCTIONS, **follow_up}
    response = assess(api, specialist, case_id, body)
    assert response.status_code == 201, response.get_json()
    view = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(patient)).get_json()
    return case_id, view["follow_up"]


def sweep_and_work(app: Flask) -> int:
    """One sweeper pass, then a burst worker over whatever it queued; returns how many."""
    with app.app_context():
        queue = default_queue(services.redis_connection())
        swept = sweep_stuck_work(queue)
        PipelineWorker([queue], connection=queue.connection, app=app).work(burst=True)
    run_pipeline(app)  # the notices' deliveries and anything else the job emitted
    return swept


def follow_up_row(app: Flask, public_id: str) -> FollowUp:
    """The follow-up as stored."""
    with app.app_context():
        row = db.session.scalar(select(FollowUp).where(FollowUp.public_id == public_id))
        assert row is not None
        db.session.expunge(row)
        return row


def count_follow_up_cases(app: Flask, baseline_id: str) -> int:
    """How many cases point at this baseline."""
    with app.app_context():
        baseline = db.session.scalar(select(Case.id).where(Case.public_id == baseline_id))
        return int(
            db.session.scalar(select(func.count()).where(Case.follow_up_of_id == baseline)) or 0
        )
