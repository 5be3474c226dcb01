"""Submitted cases land in the right queue; staff list queues in working order."""

from __future__ import annotations

from flask import Flask

from casebox.accounts.models import Role
from tests.support import ApiClient, questionnaire, run_pipeline


def _submit(api: ApiClient, token: str, **answers: object) -> str:
    case = api.create_case(token, questionnaire=questionnaire(**answers))
    assert api.upload(token, case["id"]).status_code == 201
    api.process_photos()
    assert (
        api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token)).status_code
        == 202
    )
    return str(case["id"])


CALM = {"changed_size": False, "changed_colour": False, "bleeding": False,
        "previous_skin_cancer": False, "duration": "years"}  # fmt: skip


def test_cases_are_routed_and_staff_see_why(api: ApiClient, app: Flask) -> None:
    adult = api.patient()
    child = api.patient(date_of_birth="2016-03-01")
    bleeding = _submit(api, adult, **{**CALM, "bleeding": True})
    calm = _submit(api, adult, **CALM)
    young = _submit(api, child, **CALM)
    run_pipeline(app)
    staff = api.auth(api.staff())
    urgent = api.client.get(f"/api/v1/cases/{bleeding}", headers=staff).get_json()
    assert urgent["status"] == "awaiting_review"
    assert urgent["triage"]["queue"] == "urgent"
    assert urgent["triage"]["routing_reasons"] == ["bleeding lesion"]
    assert (
        api.client.get(f"/api/v1/cases/{calm}", headers=staff).get_json()["triage"]["queue"]
        == "routine"
    )
    assert (
        api.client.get(f"/api/v1/cases/{young}", headers=staff).get_json()["triage"]["queue"]
        == "paediatric"
    )
    own_view = api.client.get(f"/api/v1/cases/{bleeding}", headers=api.auth(adult)).get_json()
    assert "triage" not in own_view


def test_queue_overview_and_order(api: ApiClient, app: Flask) -> None:
    patient = api.patient()
    first = _submit(api, patient, **{**CALM, "bleeding": True})
    second = _submit(api, patient, **{**CALM, "previous_skin_cancer": True})
    _submit(api, patient, **CALM)
    run_pipeline(app)
    staff = api.auth(api.staff())
    overview = {q["name"]: q for q in api.client.get("/api/v1/queues", headers=staff).get_json()}
    assert overview["urgent"]["waiting"] == 2
    assert overview["routine"]["waiting"] == 1
    assert overview["paediatric"]["waiting"] == 0
    assert overview["urgent"]["sla_working_days"] == 2
    listed = api.client.get("/api/v1/queues/urgent/cases", headers=staff).get_json()
    assert [item["id"] for item in listed["items"]] == [first, second]  # earliest due first
    assert listed["items"][0]["routing_reasons"] == ["bleeding lesion"]


def test_patients_and_pharmacists_cannot_see_queues(api: ApiClient, app: Flask) -> None:
    patient = api.auth(api.patient())
    pharmacist = api.auth(api.staff(Role.PHARMACIST))
    for headers in (patient, pharmacist):
        assert api.client.get("/api/v1/queues", headers=headers).status_code == 403
        assert api.client.get("/api/v1/queues/urgent/cases", headers=headers).status_code == 403


def test_unknown_queue_is_404(api: ApiClient, app: Flask) -> None:
    staff = api.auth(api.staff())
    response = api.client.get("/api/v1/queues/nope/cases", headers=staff)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
