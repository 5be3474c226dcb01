"""Creating, reading, listing and submitting cases through the API."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casebox.cases.models import Case
from casebox.database import db
from casebox.outbox.models import OutboxEvent
from tests.support import ApiClient, questionnaire


def test_body_sites_carry_model_locations(client: FlaskClient) -> None:
    sites = {site["code"]: site for site in client.get("/api/v1/body-sites").get_json()}
    assert sites["left_forearm"]["model_location"] == "arm"
    assert sites["scalp"]["model_location"] == "head_or_neck"
    assert sites["upper_back"]["model_location"] == "trunk"
    assert sites["right_thigh"]["model_location"] == "leg_or_genital"
    assert {s["model_location"] for s in sites.values()} == {
        "arm",
        "head_or_neck",
        "leg_or_genital",
        "trunk",
    }


def test_patient_creates_a_draft_case(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token, body_site="scalp")
    assert case["status"] == "draft"
    assert case["body_site"] == "scalp"
    assert case["questionnaire"] == questionnaire()
    assert len(case["id"]) == 36 and not case["id"].isdigit()
    fetched = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()
    assert fetched["id"] == case["id"]


def test_missing_unknown_and_mistyped_questionnaire_fields_are_named(api: ApiClient) -> None:
    token = api.patient()
    answers = questionnaire(itch="yes", fitzpatrick="VII", medications="aspirin", extra=1)
    del answers["bleeding"]
    response = api.client.post(
        "/api/v1/cases",
        json={"body_site": "left_forearm", "questionnaire": answers},
        headers=api.auth(token),
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]["questionnaire"]
    assert {"itch", "fitzpatrick", "medications", "extra", "bleeding"} <= set(errors)


def test_unknown_body_site_is_refused(api: ApiClient) -> None:
    token = api.patient()
    response = api.client.post(
        "/api/v1/cases",
        json={"body_site": "left_wing", "questionnaire": questionnaire()},
        headers=api.auth(token),
    )
    assert response.status_code == 422
    assert "body_site" in response.get_json()["errors"]


def test_malformed_json_is_a_clear_400(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    response = api.client.post(
        "/api/v1/cases",
        data='{"body_site": "scalp", ',
        content_type="application/json",
        headers=api.auth(token),
    )
    assert 400 <= response.status_code < 500
    assert response.content_type == "application/problem+json"
    assert "JSON" in response.get_json()["detail"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_json_array_instead_of_object_is_refused(api: ApiClient) -> None:
    token = api.patient()
    response = api.client.post("/api/v1/cases", json=["scalp"], headers=api.auth(token))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"


def test_another_patients_case_is_indistinguishable_from_a_missing_one(api: ApiClient) -> None:
    owner = api.patient()
    stranger = api.patient()
    case = api.create_case(owner)
    theirs = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(stranger))
    missing = api.client.get(
        "/api/v1/cases/00000000-0000-4000-8000-000000000000", headers=api.auth(stranger)
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json()
    upload = api.upload(stranger, case["id"])
    assert upload.status_code == 404
    submit = api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(stranger))
    assert submit.status_code == 404


def test_listing_shows_only_own_cases_paginated(api: ApiClient) -> None:
    mine = api.patient()
    other = api.patient()
    api.create_case(other)
    created = [api.create_case(mine)["id"] for _ in range(3)]
    page1 = api.client.get("/api/v1/cases?per_page=2", headers=api.auth(mine)).get_json()
    page2 = api.client.get("/api/v1/cases?per_page=2&page=2", headers=api.auth(mine)).get_json()
    assert page1["total"] == 3
    listed = [c["id"] for c in page1["items"] + page2["items"]]
    assert sorted(listed) == sorted(created)
    assert listed[0] == created[-1]  # newest first
    bad = api.client.get("/api/v1/cases?per_page=1000", headers=api.auth(mine))
    assert bad.status_code == 422


def test_submit_needs_a_close_up(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"], view="regional").status_code == 201
    api.process_photos()
    response = api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token))
    assert response.status_code == 422
    assert "photos" in response.get_json()["errors"]
    fetched = api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth(token)).get_json()
    assert fetched["status"] == "draft"


def test_submit_is_idempotent_and_writes_one_outbox_event(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"]).status_code == 201
    api.process_photos()
    for _ in range(2):
        response = api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token))
        assert response.status_code == 202
        assert response.get_json()["status"] == "submitted"
    with app.app_context():
        topics = db.session.scalars(select(OutboxEvent.topic)).all()
    assert sorted(topics) == ["case.submitted", "photo.uploaded"]


def test_case_creation_is_idempotent_with_a_key(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    body = {"body_site": "scalp", "questionnaire": questionnaire()}
    headers = {**api.auth(token), "Idempotency-Key": "case-abc"}
    first = api.client.post("/api/v1/cases", json=body, headers=headers)
    second = api.client.post("/api/v1/cases", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_roles_without_patient_access_cannot_create_cases(api: ApiClient, app: Flask) -> None:
    from casebox.accounts.models import Role
    from casebox.accounts.operations import create_user

    with app.app_context():
        create_user("pharma@example.org", "pharmacist password", name="P", role=Role.PHARMACIST)
        db.session.commit()
    token = api.login("pharma@example.org", "pharmacist password")
    body = {"body_site": "scalp", "questionnaire": questionnaire()}
    assert api.client.post("/api/v1/cases", json=body, headers=api.auth(token)).status_code == 403
    assert api.client.get("/api/v1/cases", headers=api.auth(token)).status_code == 403
