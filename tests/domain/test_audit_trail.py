"""The audit trail records clinical reads and changes and detects tampering."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, select, update

from casebox.audit.models import AuditEvent
from casebox.audit.trail import verify_chain
from casebox.database import db
from tests.support import ApiClient


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_the_patient_journey_is_audited_in_order(api: ApiClient, app: Flask) -> None:
    body = api.register()
    api.client.post(
        "/api/v1/auth/tokens", json={"email": body["email"], "password": "nope nope nope"}
    )
    token = api.login(body["email"])
    case = api.submitted_case(token)
    api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token))
    api.client.delete("/api/v1/auth/tokens/current", headers=api.auth(token))
    assert _actions(app) == [
        "account.create", "account.register", "consent.accept",
        "auth.login", "auth.login", "token.issue",
        "case.create", "photo.upload", "photo.normalize", "case.submit", "case.view",
        "token.revoke",
    ]  # fmt: skip
    with app.app_context():
        failure = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.seq)
        ).first()
        assert failure is not None and failure.outcome == "failure"
        assert body["email"] not in str(failure.details)


def test_untouched_chain_verifies(api: ApiClient, app: Flask) -> None:
    api.submitted_case(api.patient())
    with app.app_context():
        checked, broken = verify_chain()
    assert broken is None
    assert checked == len(_actions(app))


def test_modified_event_is_named(api: ApiClient, app: Flask) -> None:
    api.submitted_case(api.patient())
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(outcome="failure"))
        db.session.commit()
        _, broken = verify_chain()
    assert broken is not None and broken.seq == 4 and "modified" in broken.reason


def test_deleted_event_is_named(api: ApiClient, app: Flask) -> None:
    api.submitted_case(api.patient())
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        db.session.commit()
        _, broken = verify_chain()
    assert broken is not None and broken.seq == 3


def test_deleting_the_newest_events_is_detected(api: ApiClient, app: Flask) -> None:
    api.submitted_case(api.patient())
    last = len(_actions(app))
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.seq == last))
        db.session.commit()
        _, broken = verify_chain()
    assert broken is not None and broken.seq == last


def test_a_refused_request_leaves_no_audit_event(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    before = _actions(app)
    response = api.client.post(
        "/api/v1/cases", json={"body_site": "nowhere"}, headers=api.auth(token)
    )
    assert response.status_code == 422
    assert _actions(app) == before
