"""Registration, consent, tokens and login throttling through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from casebox.accounts.models import ApiToken
from casebox.database import db, utcnow
from tests.support import PASSWORD, ApiClient, questionnaire


def test_consent_text_has_version_and_hash(client: FlaskClient) -> None:
    body = client.get("/api/v1/consent").get_json()
    assert body["version"] == "1.0"
    assert "teledermatology" in body["text"]
    assert len(body["sha256"]) == 64


def test_patient_registers_logs_in_and_sees_themselves(api: ApiClient) -> None:
    body = api.register(email="Dana@Example.org")
    token = api.login("dana@example.org")
    me = api.client.get("/api/v1/me", headers=api.auth(token)).get_json()
    assert me["email"] == "dana@example.org"
    assert me["role"] == "patient"
    assert "password" not in me and body["password"] not in str(me)


def test_registration_requires_current_consent_version(api: ApiClient) -> None:
    response = api.client.post(
        "/api/v1/patients", json=api.registration(consent={"version": "0.9", "accepted": True})
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert "consent" in response.get_json()["errors"]


def test_registration_refuses_unaccepted_consent(api: ApiClient) -> None:
    response = api.client.post(
        "/api/v1/patients", json=api.registration(consent={"version": "1.0", "accepted": False})
    )
    assert response.status_code == 422
    assert "consent" in response.get_json()["errors"]


def test_registration_names_every_bad_field(api: ApiClient) -> None:
    body = api.registration(sex="robot", date_of_birth="14/05/1971", email="not-an-email")
    del body["name"]
    body["favourite_colour"] = "blue"
    response = api.client.post("/api/v1/patients", json=body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"sex", "date_of_birth", "email", "name", "favourite_colour"} <= set(errors)


def test_short_password_is_refused_and_long_one_accepted(api: ApiClient) -> None:
    short = api.client.post("/api/v1/patients", json=api.registration(password="elevenchars"))
    assert short.status_code == 422
    assert "password" in short.get_json()["errors"]
    long_password = "p" * 64 + " with spaces and ünïcode"
    body = api.register(password=long_password)
    assert api.login(body["email"], long_password).startswith("cbx_")


def test_future_date_of_birth_is_refused(api: ApiClient) -> None:
    response = api.client.post(
        "/api/v1/patients", json=api.registration(date_of_birth="2999-01-01")
    )
    assert response.status_code == 422
    assert "date_of_birth" in response.get_json()["errors"]


def test_duplicate_email_conflicts_without_second_account(api: ApiClient) -> None:
    body = api.register()
    again = api.client.post("/api/v1/patients", json=api.registration(email=body["email"].upper()))
    assert again.status_code == 409
    assert "email" in again.get_json()["errors"]


def test_wrong_password_is_401_problem(api: ApiClient) -> None:
    body = api.register()
    response = api.client.post(
        "/api/v1/auth/tokens", json={"email": body["email"], "password": "wrong password!"}
    )
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


def test_failed_logins_are_rate_limited_even_with_the_right_password(api: ApiClient) -> None:
    body = api.register()
    for _ in range(5):
        bad = {"email": body["email"], "password": "wrong password!"}
        assert api.client.post("/api/v1/auth/tokens", json=bad).status_code == 401
    good = {"email": body["email"], "password": PASSWORD}
    response = api.client.post("/api/v1/auth/tokens", json=good)
    assert response.status_code == 429
    assert response.get_json()["type"].endswith("/rate-limited")


def test_revoked_token_stops_working(api: ApiClient) -> None:
    token = api.patient()
    assert api.client.get("/api/v1/me", headers=api.auth(token)).status_code == 200
    revoke = api.client.delete("/api/v1/auth/tokens/current", headers=api.auth(token))
    assert revoke.status_code == 204
    after = api.client.get("/api/v1/me", headers=api.auth(token))
    assert after.status_code == 401
    assert after.content_type == "application/problem+json"


def test_garbage_and_missing_tokens_are_401(client: FlaskClient) -> None:
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer cbx_nope"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_expired_token_is_refused(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert api.client.get("/api/v1/me", headers=api.auth(token)).status_code == 401


def test_withdrawn_consent_blocks_new_cases_until_given_again(api: ApiClient) -> None:
    token = api.patient()
    withdrawn = api.client.delete("/api/v1/me/consent", headers=api.auth(token)).get_json()
    assert withdrawn["given"] is False
    body = {"body_site": "scalp", "questionnaire": questionnaire()}
    refused = api.client.post("/api/v1/cases", json=body, headers=api.auth(token))
    assert refused.status_code == 403
    given = api.client.post(
        "/api/v1/me/consent", json={"version": "1.0", "accepted": True}, headers=api.auth(token)
    )
    assert given.get_json()["given"] is True
    assert api.client.post("/api/v1/cases", json=body, headers=api.auth(token)).status_code == 201


def test_registration_is_idempotent_with_a_key(api: ApiClient) -> None:
    body = api.registration()
    headers = {"Idempotency-Key": "reg-1"}
    first = api.client.post("/api/v1/patients", json=body, headers=headers)
    second = api.client.post("/api/v1/patients", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    other = api.client.post("/api/v1/patients", json=api.registration(), headers=headers)
    assert other.status_code == 422
