"""Helpers for tests of the review API: routed cases, claims and audit actions."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from casebox.audit.models import AuditEvent
from casebox.database import db
from tests.support import ApiClient, questionnaire, run_pipeline

# No red flag: these cases wait in the routine queue.
CALM = questionnaire(
    changed_size=False, changed_shape=False, changed_colour=False, bleeding=False,
    previous_skin_cancer=False, duration="years",
)  # fmt: skip


def routed_case(api: ApiClient, patient: str | None = None, photo: bytes | None = None) -> str:
    """A calm submitted case with one close-up, analysed and waiting in a queue; its id."""
    token = patient or api.patient()
    case = api.create_case(token, questionnaire=CALM)
    assert api.upload(token, case["id"], photo, view="close_up").status_code == 201
    api.process_photos()
    url = f"/api/v1/cases/{case['id']}/submit"
    assert api.client.post(url, headers=api.auth(token)).status_code == 202
    run_pipeline(api.client.application)
    return str(case["id"])


def claim(api: ApiClient, headers: dict[str, str], case_id: str) -> dict[str, Any]:
    """Claim a case and return it as the specialist sees it."""
    claimed = api.client.post(f"/api/v1/cases/{case_id}/claim", headers=headers)
    assert claimed.status_code == 200, claimed.get_json()
    return dict(api.client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json())


def audit_actions(app: Flask, prefix: str) -> list[str]:
    """The audited actions starting with ``prefix``, in order."""
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.seq)
        ).all()
        return [event.action for event in events]
