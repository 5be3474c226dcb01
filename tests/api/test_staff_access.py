"""Staff roles see what their work needs and nothing more; browser sessions need CSRF."""

from __future__ import annotations

import re

from flask import Flask

from casebox.accounts.models import Role
from tests.support import ApiClient, questionnaire, run_pipeline


def all_queue_names(app: Flask) -> list[str]:
    return [rule.name for rule in app.extensions["casebox.settings"].routing.queues]


def test_specialist_reads_cases_of_their_queues_but_not_drafts(api: ApiClient, app: Flask) -> None:
    patient = api.patient()
    draft = api.create_case(patient)
    submitted = api.submitted_case(patient)
    run_pipeline(app)
    specialist = api.staff(Role.SPECIALIST)
    headers = api.auth(specialist)
    assert api.client.get(f"/api/v1/cases/{draft['id']}", headers=headers).status_code == 404
    case = api.client.get(f"/api/v1/cases/{submitted['id']}", headers=headers)
    assert case.status_code == 200
    photo_link = case.get_json()["photos"][0]["links"]["original"]
    assert api.client.get(photo_link, headers=headers).status_code == 200


def test_specialist_outside_the_cases_queue_cannot_see_it(api: ApiClient, app: Flask) -> None:
    patient = api.patient()
    submitted = api.submitted_case(patient)
    run_pipeline(app)
    admin = api.auth(api.staff(Role.ADMIN))
    queue = api.client.get(f"/api/v1/cases/{submitted['id']}", headers=admin).get_json()
    other_queues = [q for q in all_queue_names(app) if q != queue["triage"]["queue"]]
    outsider = api.auth(api.staff(Role.SPECIALIST, queues=other_queues))
    assert api.client.get(f"/api/v1/cases/{submitted['id']}", headers=outsider).status_code == 404
    photo = queue["photos"][0]["links"]["original"]
    assert api.client.get(photo, headers=outsider).status_code == 404


def test_pharmacist_cannot_read_cases_or_photos(api: ApiClient, app: Flask) -> None:
    patient = api.patient()
    submitted = api.submitted_case(patient)
    pharmacist = api.staff(Role.PHARMACIST)
    response = api.client.get(f"/api/v1/cases/{submitted['id']}", headers=api.auth(pharmacist))
    assert response.status_code == 403


def test_specialist_cannot_change_a_patients_case(api: ApiClient, app: Flask) -> None:
    patient = api.patient()
    draft = api.create_case(patient)
    specialist = api.staff(Role.SPECIALIST)
    assert api.upload(specialist, draft["id"]).status_code == 403
    submit = api.client.post(f"/api/v1/cases/{draft['id']}/submit", headers=api.auth(specialist))
    assert submit.status_code == 403


def _browser_login(api: ApiClient, email: str, password: str) -> str:
    page = api.client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    response = api.client.post(
        "/login", data={"email": email, "password": password, "csrf_token": match.group(1)}
    )
    assert response.status_code == 302
    home = api.client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', home)
    assert token
    return token.group(1)


def test_browser_session_reads_api_and_needs_csrf_to_write(api: ApiClient) -> None:
    body = api.register()
    csrf = _browser_login(api, body["email"], body["password"])
    assert api.client.get("/api/v1/me").get_json()["email"] == body["email"]
    case = {"body_site": "scalp", "questionnaire": questionnaire()}
    without = api.client.post("/api/v1/cases", json=case)
    assert without.status_code == 403
    with_token = api.client.post("/api/v1/cases", json=case, headers={"X-CSRF-Token": csrf})
    assert with_token.status_code == 201


def test_login_form_without_csrf_token_is_refused(api: ApiClient) -> None:
    body = api.register()
    response = api.client.post(
        "/login", data={"email": body["email"], "password": body["password"]}
    )
    assert response.status_code == 400
    assert api.client.get("/api/v1/me").status_code == 401


def test_wrong_password_in_the_browser_shows_an_error(api: ApiClient) -> None:
    body = api.register()
    page = api.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = api.client.post(
        "/login",
        data={
            "email": body["email"],
            "password": "wrong wrong wrong",
            "csrf_token": token.group(1),
        },
    )
    assert response.status_code == 200
    assert "The email or password is wrong." in response.get_data(as_text=True)
