"""Specialists set follow-ups from the assessment; the follow-up case comes back to them."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casebox.accounts.models import Role, User
from casebox.accounts.operations import create_user
from casebox.assessments.models import Assessment
from casebox.cases.models import Case
from casebox.database import db, utcnow
from casebox.followups.models import FollowUp
from casebox.queues.routing import age_in_years
from casebox.review.memberships import all_queue_names, set_queues
from tests.api.follow_up_support import (
    INSTRUCTIONS,
    assess,
    assessment,
    followed_up_case,
    sweep_and_work,
)
from tests.api.review_support import audit_actions, routed_case
from tests.support import STAFF_PASSWORD, ApiClient, clock_ahead, run_pipeline

SIX_WEEKS = timedelta(days=42)


def _me(api: ApiClient, headers: dict[str, str]) -> dict[str, Any]:
    return dict(api.client.get("/api/v1/me", headers=headers).get_json())


def _follow_up_case_submitted(
    api: ApiClient, app: Flask, patient: str, baseline_id: str
) -> dict[str, Any]:
    """Move the clock past due, let the reminder run, and send the follow-up case."""
    with clock_ahead(app, SIX_WEEKS + timedelta(days=3)):
        sweep_and_work(app)
    baseline = api.client.get(f"/api/v1/cases/{baseline_id}", headers=api.auth(patient))
    new_id = baseline.get_json()["follow_up"]["follow_up_case_id"]
    assert api.upload(patient, new_id, view="close_up").status_code == 201
    api.process_photos()
    sent = api.client.post(f"/api/v1/cases/{new_id}/submit", headers=api.auth(patient))
    assert sent.status_code == 202, sent.get_json()
    run_pipeline(app)
    return {"id": new_id}


def test_a_follow_up_set_with_an_interval_is_shown_to_the_patient_and_staff(
    api: ApiClient, app: Flask
) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    case_id, follow_up = followed_up_case(api, patient, specialist)
    assert follow_up["status"] == "scheduled"
    assert follow_up["instructions"] == INSTRUCTIONS
    assert follow_up["follow_up_case_id"] is None
    due_at = datetime.fromisoformat(follow_up["due_at"])
    assert abs(due_at - (utcnow() + SIX_WEEKS)) < timedelta(minutes=1)
    staff = api.client.get(f"/api/v1/cases/{case_id}", headers=specialist).get_json()
    assert staff["follow_up"]["id"] == follow_up["id"]
    assert staff["follow_up"]["set_by"]["id"] == _me(api, specialist)["id"]
    assert staff["follow_up_of"] is None
    assert "follow_up.set" in audit_actions(app, "follow_up.")


def test_a_follow_up_set_for_a_date_is_due_that_morning(api: ApiClient) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    on = date.today() + timedelta(days=90)
    _, follow_up = followed_up_case(api, patient, specialist, due_on=on.isoformat())
    assert datetime.fromisoformat(follow_up["due_at"]) == datetime.fromisoformat(
        f"{on.isoformat()}T08:00:00+00:00"
    )


def _in(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("follow_up", "field"),
    [
        ({"interval_days": 0, "instructions": INSTRUCTIONS}, "interval_days"),
        ({"interval_days": 731, "instructions": INSTRUCTIONS}, "interval_days"),
        ({"due_on": _in(0), "instructions": INSTRUCTIONS}, "due_on"),
        ({"due_on": _in(-3), "instructions": INSTRUCTIONS}, "due_on"),
        ({"due_on": _in(800), "instructions": INSTRUCTIONS}, "due_on"),
        ({"due_on": "next tuesday", "instructions": INSTRUCTIONS}, "due_on"),
        ({"interval_days": 30, "due_on": _in(30), "instructions": INSTRUCTIONS}, "due_on"),
        ({"instructions": INSTRUCTIONS}, "interval_days"),
        ({"interval_days": 30}, "instructions"),
        ({"interval_days": 30, "instructions": ""}, "instructions"),
        ({"interval_days": 30, "instructions": "   "}, "instructions"),
        ({"interval_days": 30, "instructions": "x" * 1001}, "instructions"),
    ],
)
def test_an_invalid_follow_up_is_refused_field_by_field_and_nothing_is_written(
    api: ApiClient, app: Flask, follow_up: dict[str, Any], field: str
) -> None:
    case_id = routed_case(api)
    specialist = api.auth(api.staff())
    response = assess(api, specialist, case_id, assessment(follow_up=follow_up))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]["follow_up"], response.get_json()
    _assert_nothing_written(api, app, specialist, case_id)


def test_a_follow_up_is_refused_while_asking_for_more_information(
    api: ApiClient, app: Flask
) -> None:
    case_id = routed_case(api)
    specialist = api.auth(api.staff())
    body = assessment(
        management="more_information",
        information_request="Please send a close-up in daylight.",
    )
    response = assess(api, specialist, case_id, body)
    assert response.status_code == 422
    assert "follow_up" in response.get_json()["errors"]
    _assert_nothing_written(api, app, specialist, case_id)


def _assert_nothing_written(
    api: ApiClient, app: Flask, specialist: dict[str, str], case_id: str
) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
    case = api.client.get(f"/api/v1/cases/{case_id}", headers=specialist).get_json()
    assert case["status"] == "in_review" and case["follow_up"] is None


def test_only_a_specialist_who_held_the_case_cancels_its_follow_up(api: ApiClient) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    case_id, follow_up = followed_up_case(api, patient, specialist)
    url = f"/api/v1/follow-ups/{follow_up['id']}"
    stranger = api.auth(api.staff(queues=[]))
    assert api.client.delete(url, headers=stranger).status_code == 404
    assert api.client.delete(url, headers=api.auth(patient)).status_code == 403
    cancelled = api.client.delete(url, headers=specialist)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = api.client.delete(url, headers=specialist)
    assert again.status_code == 409 and again.content_type == "application/problem+json"
    view = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(patient)).get_json()
    assert view["follow_up"]["status"] == "cancelled"


def test_the_follow_up_case_returns_to_the_same_specialist_beside_its_baseline(
    api: ApiClient, app: Flask
) -> None:
    patient = api.patient()
    specialist, colleague = api.auth(api.staff()), api.auth(api.staff())
    baseline_id, _ = followed_up_case(api, patient, specialist)
    new = _follow_up_case_submitted(api, app, patient, baseline_id)
    mine = api.client.get(f"/api/v1/cases/{new['id']}", headers=specialist).get_json()
    assert mine["status"] == "in_review"
    assert mine["claim"]["specialist"]["id"] == _me(api, specialist)["id"]
    expires = datetime.fromisoformat(mine["claim"]["expires_at"])
    assert expires <= datetime.fromisoformat(mine["triage"]["sla_due_at"])
    assert mine["follow_up_of"]["case_id"] == baseline_id
    assert mine["follow_up_of"]["photos"][0]["id"]
    assert api.client.get(f"/api/v1/cases/{new['id']}", headers=colleague).status_code == 409
    assert "case.reserve" in audit_actions(app, "case.reserve")
    baseline = api.client.get(f"/api/v1/cases/{baseline_id}", headers=api.auth(patient))
    assert baseline.get_json()["follow_up"]["status"] == "completed"


@pytest.mark.parametrize("unavailable", ["deactivated", "left_the_queue"])
def test_the_follow_up_case_waits_in_the_queue_when_its_specialist_is_unavailable(
    api: ApiClient, app: Flask, unavailable: str
) -> None:
    patient = api.patient()
    specialist, colleague = api.auth(api.staff()), api.auth(api.staff())
    baseline_id, _ = followed_up_case(api, patient, specialist)
    specialist_id = _me(api, specialist)["id"]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.public_id == specialist_id))
        assert user is not None
        if unavailable == "deactivated":
            user.active = False
        else:
            set_queues(user, [])
        db.session.commit()
    new = _follow_up_case_submitted(api, app, patient, baseline_id)
    waiting = api.client.get(f"/api/v1/cases/{new['id']}", headers=colleague).get_json()
    assert waiting["status"] == "awaiting_review" and waiting["claim"] is None
    assert audit_actions(app, "case.reserve") == []


def test_overdue_follow_ups_are_listed_for_staff_until_the_patient_sends_them(
    api: ApiClient, app: Flask
) -> None:
    patient = api.patient(name="Ada Overdue", date_of_birth="1950-06-15")
    specialist = api.auth(api.staff(queues=["routine"]))
    baseline_id, follow_up = followed_up_case(api, patient, specialist)
    admin = api.auth(api.staff(Role.ADMIN))
    outsider = api.auth(api.staff(queues=["urgent"]))
    url = "/api/v1/follow-ups?state=overdue"
    assert api.client.get(url, headers=specialist).get_json()["items"] == []
    scheduled = api.client.get("/api/v1/follow-ups?state=scheduled", headers=specialist)
    assert [row["id"] for row in scheduled.get_json()["items"]] == [follow_up["id"]]

    with clock_ahead(app, SIX_WEEKS + timedelta(days=3, hours=1)):
        sweep_and_work(app)  # reminded: the follow-up case waits for the patient
        rows = api.client.get(url, headers=specialist).get_json()["items"]
        assert api.client.get(url, headers=admin).get_json()["items"] == rows
        assert api.client.get(url, headers=outsider).get_json()["items"] == []
        assert api.client.get(url, headers=api.auth(patient)).status_code == 403
        bad = api.client.get("/api/v1/follow-ups?state=late", headers=specialist)
        assert bad.status_code == 422 and "state" in bad.get_json()["errors"]
        due = api.client.get("/api/v1/follow-ups?state=due", headers=specialist).get_json()
    assert len(rows) == 1
    row = rows[0]
    assert row["patient_name"] == "Ada Overdue"
    later = (utcnow() + SIX_WEEKS + timedelta(days=3)).date()
    assert row["age"] == age_in_years(date(1950, 6, 15), later)
    assert row["body_site"] == "left_forearm"
    assert row["days_overdue"] == 3
    assert row["baseline_case_id"] == baseline_id
    assert row["follow_up_case_id"] is not None
    assert [r["id"] for r in due["items"]] == [follow_up["id"]]
    assert "follow_up.list" in audit_actions(app, "follow_up.list")

    _follow_up_case_submitted(api, app, patient, baseline_id)
    with clock_ahead(app, SIX_WEEKS + timedelta(days=4)):
        assert api.client.get(url, headers=specialist).get_json()["items"] == []


def test_a_follow_up_case_is_one_the_patient_owns_and_others_cannot_open(
    api: ApiClient, app: Flask
) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    baseline_id, _ = followed_up_case(api, patient, specialist)
    with clock_ahead(app, SIX_WEEKS + timedelta(days=1)):
        sweep_and_work(app)
    with app.app_context():
        new = db.session.scalar(select(Case).where(Case.follow_up_of_id.is_not(None)))
        assert new is not None
        new_id = new.public_id
    other = api.patient()
    assert api.client.get(f"/api/v1/cases/{new_id}", headers=api.auth(other)).status_code == 404
    # A draft is the patient's alone, even for the specialist waiting for it.
    assert api.client.get(f"/api/v1/cases/{new_id}", headers=specialist).status_code == 404
    own = api.client.get(f"/api/v1/cases/{new_id}", headers=api.auth(patient)).get_json()
    assert own["follow_up_of"]["case_id"] == baseline_id


def _sign_in(api: ApiClient, email: str, password: str) -> None:
    page = api.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = api.client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302


def test_the_staff_page_lists_overdue_follow_ups_and_the_queue_links_to_it(
    api: ApiClient, app: Flask
) -> None:
    patient = api.patient(name="Bea Lately")
    email = "follow-up-pages@clinic.example"
    with app.app_context():
        user = create_user(email, STAFF_PASSWORD, name="Dr Pages", role=Role.SPECIALIST)
        set_queues(user, all_queue_names())
        db.session.commit()
    specialist = api.auth(api.login(email, STAFF_PASSWORD))
    followed_up_case(api, patient, specialist)
    _sign_in(api, email, STAFF_PASSWORD)
    queue_page = api.client.get("/review/").get_data(as_text=True)
    assert 'href="/review/follow-ups"' in queue_page
    assert "No follow-up is overdue." in api.client.get("/review/follow-ups").get_data(as_text=True)
    with clock_ahead(app, SIX_WEEKS + timedelta(days=2, hours=1)):
        sweep_and_work(app)
        page = api.client.get("/review/follow-ups")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bea Lately" in html and "Left forearm" in html
    assert "<td>2</td>" in html  # days overdue
    assert "Waiting for the patient" in html
    anonymous = app.test_client().get("/review/follow-ups")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
