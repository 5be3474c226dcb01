"""Setting up, confirming and removing an authenticator app through the HTTP API."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select, text

from casebox import services
from casebox.accounts.models import Role, User
from casebox.accounts.sealed_secrets import open_secret
from casebox.audit.models import AuditEvent
from casebox.audit.trail import verify_chain
from casebox.database import db
from tests.support import ApiClient

MFA = "/api/v1/me/mfa"
TOTP = "/api/v1/me/mfa/totp"
CONFIRM = "/api/v1/me/mfa/totp/confirm"


def _start(api: ApiClient, token: str) -> dict[str, Any]:
    response = api.client.post(TOTP, headers=api.auth(token))
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def _enrolled(api: ApiClient, role: Role = Role.SPECIALIST) -> tuple[str, pyotp.TOTP]:
    """A staff token whose account has a confirmed authenticator app, and that app."""
    token = api.staff(role)
    totp = pyotp.TOTP(_start(api, token)["secret"])
    confirmed = api.client.post(CONFIRM, json={"code": totp.now()}, headers=api.auth(token))
    assert confirmed.status_code == 200, confirmed.get_json()
    return token, totp


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _assert_refused(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    assert response.get_json()["type"].endswith("/" + slug)


def _events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_specialist_sets_up_an_authenticator_app(api: ApiClient) -> None:
    token = api.staff(Role.SPECIALIST)
    before = api.client.get(MFA, headers=api.auth(token)).get_json()
    assert before == {"enrolled": False, "pending": False, "confirmed_at": None}

    enrolment = _start(api, token)
    parsed = pyotp.parse_uri(enrolment["provisioning_uri"])
    assert isinstance(parsed, pyotp.TOTP)
    assert enrolment["provisioning_uri"].startswith("otpauth://totp/casebox:")
    assert parsed.issuer == enrolment["issuer"] == "casebox"
    assert parsed.secret == enrolment["secret"]
    assert (parsed.digits, parsed.interval, enrolment["algorithm"]) == (6, 30, "SHA1")
    assert len(base64.b32decode(enrolment["secret"])) == 20  # 160 bits, as RFC 4226 advises
    svg = enrolment["qr_svg"]
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    pending = api.client.get(MFA, headers=api.auth(token)).get_json()
    assert pending == {"enrolled": False, "pending": True, "confirmed_at": None}

    code = pyotp.TOTP(enrolment["secret"]).now()
    confirmed = api.client.post(CONFIRM, json={"code": code}, headers=api.auth(token))
    assert confirmed.status_code == 200
    status = api.client.get(MFA, headers=api.auth(token)).get_json()
    assert status["enrolled"] is True and status["pending"] is False
    assert status["confirmed_at"] is not None
    assert "secret" not in status


def test_a_code_with_a_space_in_the_middle_is_accepted(api: ApiClient) -> None:
    token = api.staff()
    code = pyotp.TOTP(_start(api, token)["secret"]).now()
    spaced = f"{code[:3]} {code[3:]}"
    assert api.client.post(CONFIRM, json={"code": spaced}, headers=api.auth(token)).status_code == (
        200
    )


def test_any_role_may_set_up_an_authenticator_app(api: ApiClient) -> None:
    for token in (api.patient(), api.staff(Role.PHARMACIST), api.staff(Role.ADMIN)):
        assert api.client.post(TOTP, headers=api.auth(token)).status_code == 201


def test_the_enrolment_answer_is_never_cached(api: ApiClient) -> None:
    token = api.staff()
    response = api.client.post(TOTP, headers=api.auth(token))
    assert response.headers["Cache-Control"] == "no-store"


def test_a_wrong_code_does_not_confirm_and_is_audited(api: ApiClient, app: Flask) -> None:
    token = api.staff()
    code = pyotp.TOTP(_start(api, token)["secret"]).now()
    refused = api.client.post(CONFIRM, json={"code": _wrong(code)}, headers=api.auth(token))
    _assert_refused(refused, 403, "second-factor-rejected")
    assert refused.get_json()["detail"] == (
        "The authenticator code is not valid or was already used."
    )
    assert "code" in refused.get_json()["errors"]
    assert api.client.get(MFA, headers=api.auth(token)).get_json()["enrolled"] is False
    # The request was rolled back, yet its refusal is in the trail, once.
    failures = [e for e in _events(app, "mfa.totp.confirm") if e.outcome == "failure"]
    assert [e.details for e in failures] == [{"reason": "wrong_code"}]


def test_the_confirmation_code_cannot_be_used_again(api: ApiClient) -> None:
    token = api.staff()
    code = pyotp.TOTP(_start(api, token)["secret"]).now()
    assert api.client.post(CONFIRM, json={"code": code}, headers=api.auth(token)).status_code == 200
    # Same code, same 30 s window: removing the app with it is refused.
    replay = api.client.delete(TOTP, json={"code": code}, headers=api.auth(token))
    _assert_refused(replay, 403, "second-factor-rejected")
    assert api.client.get(MFA, headers=api.auth(token)).get_json()["enrolled"] is True


def test_removing_the_app_needs_a_valid_code_and_allows_a_new_one(
    api: ApiClient, app: Flask
) -> None:
    token, totp = _enrolled(api)
    with app.app_context():
        db.session.execute(text("UPDATE users SET totp_last_step = totp_last_step - 1"))
        db.session.commit()  # as if the confirmation had happened 30 s ago
    wrong = api.client.delete(TOTP, json={"code": _wrong(totp.now())}, headers=api.auth(token))
    _assert_refused(wrong, 403, "second-factor-rejected")
    removed = api.client.delete(TOTP, json={"code": totp.now()}, headers=api.auth(token))
    assert removed.status_code == 200, removed.get_json()
    assert removed.get_json() == {"enrolled": False, "pending": False, "confirmed_at": None}
    again = api.client.delete(TOTP, json={"code": totp.now()}, headers=api.auth(token))
    _assert_refused(again, 409, "conflict")
    fresh = _start(api, token)
    assert fresh["secret"] != totp.secret


def test_a_confirmed_app_cannot_be_replaced_without_removing_it(api: ApiClient) -> None:
    token, _ = _enrolled(api)
    _assert_refused(api.client.post(TOTP, headers=api.auth(token)), 409, "conflict")
    # The second factor in force is still the first one.
    status = api.client.get(MFA, headers=api.auth(token)).get_json()
    assert status["enrolled"] is True


def test_starting_again_replaces_a_pending_secret(api: ApiClient) -> None:
    token = api.staff()
    first = pyotp.TOTP(_start(api, token)["secret"])
    _start(api, token)
    old = api.client.post(CONFIRM, json={"code": first.now()}, headers=api.auth(token))
    _assert_refused(old, 403, "second-factor-rejected")


def test_confirming_without_starting_and_twice_conflicts(api: ApiClient) -> None:
    token = api.staff()
    _assert_refused(
        api.client.post(CONFIRM, json={"code": "123456"}, headers=api.auth(token)), 409, "conflict"
    )
    token, totp = _enrolled(api)
    twice = api.client.post(CONFIRM, json={"code": totp.now()}, headers=api.auth(token))
    _assert_refused(twice, 409, "conflict")


@pytest.mark.parametrize("body", [{}, {"code": "12345"}, {"code": "abcdef"}, {"code": 123456}])
def test_a_malformed_code_names_the_field(api: ApiClient, body: dict[str, Any]) -> None:
    token = api.staff()
    _start(api, token)
    response = api.client.post(CONFIRM, json=body, headers=api.auth(token))
    _assert_refused(response, 422, "validation-failed")
    assert "code" in response.get_json()["errors"]


def test_wrong_codes_are_rate_limited_even_when_the_next_is_right(
    api: ApiClient, app: Flask
) -> None:
    token = api.staff()
    totp = pyotp.TOTP(_start(api, token)["secret"])
    for _ in range(5):
        wrong = api.client.post(CONFIRM, json={"code": _wrong(totp.now())}, headers=api.auth(token))
        _assert_refused(wrong, 403, "second-factor-rejected")
    right = api.client.post(CONFIRM, json={"code": totp.now()}, headers=api.auth(token))
    _assert_refused(right, 429, "rate-limited")
    reasons = [e.details["reason"] for e in _events(app, "mfa.totp.confirm")]
    assert reasons == ["wrong_code"] * 5 + ["rate_limited"]
    # Another user is not held back by the first one's failures.
    other = api.staff()
    code = pyotp.TOTP(_start(api, other)["secret"]).now()
    assert api.client.post(CONFIRM, json={"code": code}, headers=api.auth(other)).status_code == 200


def test_the_secret_is_not_stored_in_clear(api: ApiClient, app: Flask) -> None:
    token = api.staff()
    secret = _start(api, token)["secret"]
    me = api.client.get("/api/v1/me", headers=api.auth(token)).get_json()
    with app.app_context():
        stored = db.session.execute(
            text("SELECT totp_secret_sealed FROM users WHERE public_id = :id"), {"id": me["id"]}
        ).scalar_one()
        stored = bytes(stored)  # PostgreSQL returns a memoryview
        assert secret.encode() not in stored
        assert base64.b32decode(secret) not in stored
        key = services.settings().data_key
        opened = open_secret(key, stored, purpose="totp-secret", owner=me["id"])
        assert opened.decode() == secret


def test_every_step_is_audited_without_secrets_or_codes(api: ApiClient, app: Flask) -> None:
    token = api.staff()
    secret = _start(api, token)["secret"]
    totp = pyotp.TOTP(secret)
    wrong = _wrong(totp.now())
    api.client.post(CONFIRM, json={"code": wrong}, headers=api.auth(token))
    code = totp.now()
    api.client.post(CONFIRM, json={"code": code}, headers=api.auth(token))
    with app.app_context():
        db.session.execute(text("UPDATE users SET totp_last_step = totp_last_step - 1"))
        db.session.commit()
    removal_code = totp.now()
    api.client.delete(TOTP, json={"code": removal_code}, headers=api.auth(token))
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("mfa.%")).order_by(AuditEvent.seq)
        ).all()
        user_id = db.session.scalar(select(User.public_id).where(User.role == Role.SPECIALIST))
        trail = [(e.action, e.outcome, e.object_id, e.actor_id) for e in events]
        dumped = json.dumps([e.details for e in events])
        checked, broken = verify_chain()
    assert trail == [
        ("mfa.totp.enrol", "success", user_id, user_id),
        ("mfa.totp.confirm", "failure", user_id, user_id),
        ("mfa.totp.confirm", "success", user_id, user_id),
        ("mfa.totp.disable", "success", user_id, user_id),
    ]
    for leaked in (secret, wrong, code, removal_code):
        assert leaked not in dumped
    assert broken is None and checked >= 4


def test_parallel_removals_with_one_code_let_exactly_one_through(
    api: ApiClient, app: Flask
) -> None:
    token, totp = _enrolled(api)
    with app.app_context():
        db.session.execute(text("UPDATE users SET totp_last_step = totp_last_step - 1"))
        db.session.commit()
    code = totp.now()

    def remove(_: int) -> int:
        client = app.test_client()
        return client.delete(TOTP, json={"code": code}, headers=api.auth(token)).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(remove, range(4)))
    assert statuses.count(200) == 1, statuses
    # The others lost the race on the code (403) or found the app already gone (409).
    assert set(statuses) <= {200, 403, 409}
