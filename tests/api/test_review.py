"""Specialists claim cases under a lease, never two at once, and record assessments."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from casebox.accounts.models import Role
from casebox.cases.models import Case
from casebox.database import db, utcnow
from tests.api.review_support import routed_case
from tests.support import ApiClient


def _claim(api: ApiClient, headers: dict[str, str], case_id: str) -> Any:
    return api.client.post(f"/api/v1/cases/{case_id}/claim", headers=headers)


ASSESSMENT = {
    "diagnosis": {"text": "Seborrhoeic keratosis"},
    "certainty": "high",
    "management": "reassure_discharge",
    "patient_message": "This is a harmless skin growth. No treatment is needed.",
    "internal_note": "Classic stuck-on appearance.",
    "ai_agreement": "agree",
}


def test_opening_a_case_claims_it_and_a_colleague_cannot_open_it(api: ApiClient) -> None:
    case_id = routed_case(api)
    first, second = api.auth(api.staff()), api.auth(api.staff())
    claimed = _claim(api, first, case_id)
    assert claimed.status_code == 200
    assert claimed.get_json()["specialist"]["name"] == "Test specialist"
    taken = _claim(api, second, case_id)
    assert taken.status_code == 409
    assert taken.content_type == "application/problem+json"
    assert "is reviewing this case" in taken.get_json()["detail"]
    assert api.client.get(f"/api/v1/cases/{case_id}", headers=second).status_code == 409
    mine = api.client.get(f"/api/v1/cases/{case_id}", headers=first).get_json()
    assert mine["status"] == "in_review" and mine["claim"] is not None
    listed = api.client.get("/api/v1/queues/routine/cases", headers=second).get_json()
    assert listed["items"][0]["claim"]["mine"] is False
    assert api.client.delete(f"/api/v1/cases/{case_id}/claim", headers=first).status_code == 204
    assert _claim(api, second, case_id).status_code == 200


def test_renewing_extends_the_lease_and_a_lapsed_lease_frees_the_case(
    api: ApiClient, app: Flask
) -> None:
    case_id = routed_case(api)
    first, second = api.auth(api.staff()), api.auth(api.staff())
    expires = _claim(api, first, case_id).get_json()["expires_at"]
    assert _claim(api, first, case_id).get_json()["expires_at"] >= expires
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.public_id == case_id))
        assert case is not None
        case.claim_expires_at = utcnow() - timedelta(seconds=1)  # the specialist walked away
        db.session.commit()
    assert _claim(api, second, case_id).status_code == 200
    assert _claim(api, first, case_id).status_code == 409


def test_concurrent_claims_give_the_case_to_exactly_one_specialist(
    api: ApiClient, app: Flask
) -> None:
    case_id = routed_case(api)
    tokens = [api.staff() for _ in range(6)]
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []

    def claim(token: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/cases/{case_id}/claim", headers=api.auth(token))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=claim, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * (len(tokens) - 1)


def test_admin_reassigns_a_case_and_only_a_member_of_its_queue(api: ApiClient) -> None:
    case_id = routed_case(api)
    first = api.auth(api.staff())
    admin = api.auth(api.staff(Role.ADMIN))
    outsider_token = api.staff(queues=["urgent"])
    colleague_token = api.staff()
    me = {t: api.client.get("/api/v1/me", headers=api.auth(t)).get_json()["id"]
          for t in (outsider_token, colleague_token)}  # fmt: skip
    assert _claim(api, first, case_id).status_code == 200
    url = f"/api/v1/cases/{case_id}/claim"
    refused = api.client.put(url, json={"specialist_id": me[outsider_token]}, headers=admin)
    assert refused.status_code == 422
    assert "specialist_id" in refused.get_json()["errors"]
    moved = api.client.put(url, json={"specialist_id": me[colleague_token]}, headers=admin)
    assert moved.status_code == 200
    assert api.client.get(f"/api/v1/cases/{case_id}", headers=first).status_code == 409
    assert api.client.put(url, json={"specialist_id": "x"}, headers=first).status_code == 403


def test_specialists_see_only_their_queues(api: ApiClient) -> None:
    routed_case(api)
    urgent_only = api.auth(api.staff(queues=["urgent"]))
    names = [q["name"] for q in api.client.get("/api/v1/queues", headers=urgent_only).get_json()]
    assert names == ["urgent"]
    hidden = api.client.get("/api/v1/queues/routine/cases", headers=urgent_only)
    assert hidden.status_code == 404


def test_queue_filters_by_claim_and_sla(api: ApiClient) -> None:
    claimed, waiting = routed_case(api), routed_case(api)
    me = api.auth(api.staff())
    assert _claim(api, me, claimed).status_code == 200
    base = "/api/v1/queues/routine/cases"
    mine = api.client.get(f"{base}?claim=mine", headers=me).get_json()
    assert [item["id"] for item in mine["items"]] == [claimed]
    free = api.client.get(f"{base}?claim=unclaimed", headers=me).get_json()
    assert [item["id"] for item in free["items"]] == [waiting]
    assert free["items"][0]["sla_state"] == "ok"
    assert free["items"][0]["patient"]["age"] >= 16
    breached = api.client.get(f"{base}?sla=breached", headers=me).get_json()
    assert breached["items"] == []
    bad = api.client.get(f"{base}?sla=late", headers=me)
    assert bad.status_code == 422 and "sla" in str(bad.get_json()["errors"])
    overview = {q["name"]: q for q in api.client.get("/api/v1/queues", headers=me).get_json()}
    assert (overview["routine"]["waiting"], overview["routine"]["in_review"]) == (1, 1)


def test_assessment_completes_the_case_and_the_patient_sees_the_response(
    api: ApiClient,
) -> None:
    patient = api.patient()
    case_id = routed_case(api, patient)
    me = api.auth(api.staff())
    url = f"/api/v1/cases/{case_id}/assessment"
    assert api.client.post(url, json=ASSESSMENT, headers=me).status_code == 409  # not claimed
    assert _claim(api, me, case_id).status_code == 200
    done = api.client.post(url, json=ASSESSMENT, headers=me)
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["case_status"] == "completed"
    assert done.get_json()["model"]["name"] == "ham10000_xception"
    own = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(patient)).get_json()
    assert own["status"] == "completed"
    assert own["response"]["message"] == ASSESSMENT["patient_message"]
    assert own["response"]["decision"] == "reassure_discharge"
    assert "Classic" not in str(own)  # the internal note stays internal
    assert api.client.post(url, json=ASSESSMENT, headers=me).status_code == 409  # done


def test_asking_for_more_information_needs_a_specific_request(api: ApiClient) -> None:
    case_id = routed_case(api)
    me = api.auth(api.staff())
    assert _claim(api, me, case_id).status_code == 200
    url = f"/api/v1/cases/{case_id}/assessment"
    asking = {**ASSESSMENT, "management": "more_information"}
    vague = api.client.post(url, json=asking, headers=me)
    assert vague.status_code == 422
    assert "information_request" in str(vague.get_json()["errors"])
    asking["information_request"] = "Please send a close-up in daylight with a ruler beside it."
    sent = api.client.post(url, json=asking, headers=me)
    assert sent.status_code == 201
    assert sent.get_json()["case_status"] == "more_info_requested"


def test_bad_assessments_are_rejected_and_change_nothing(api: ApiClient) -> None:
    case_id = routed_case(api)
    me = api.auth(api.staff())
    assert _claim(api, me, case_id).status_code == 200
    url = f"/api/v1/cases/{case_id}/assessment"
    cases = [
        ({**ASSESSMENT, "diagnosis": {}}, "diagnosis"),
        ({**ASSESSMENT, "diagnosis": {"code": "123456789"}}, "diagnosis.code"),
        ({**ASSESSMENT, "certainty": "sure"}, "certainty"),
        ({**ASSESSMENT, "patient_message": ""}, "patient_message"),
        ({**ASSESSMENT, "ai_agreement": "not_applicable"}, "ai_agreement"),  # there is output
    ]
    for body, field in cases:
        response = api.client.post(url, json=body, headers=me)
        assert response.status_code == 422, (field, response.get_json())
        assert response.content_type == "application/problem+json"
        assert field in str(response.get_json()["errors"])
    case = api.client.get(f"/api/v1/cases/{case_id}", headers=me).get_json()
    assert case["status"] == "in_review" and case["assessments"] == []


def test_model_agreement_is_reported_per_model_version(api: ApiClient) -> None:
    me = api.auth(api.staff())
    for agreement in ("agree", "disagree", "agree"):
        case_id = routed_case(api)
        assert _claim(api, me, case_id).status_code == 200
        body = {**ASSESSMENT, "ai_agreement": agreement}
        url = f"/api/v1/cases/{case_id}/assessment"
        assert api.client.post(url, json=body, headers=me).status_code == 201
    admin = api.auth(api.staff(Role.ADMIN))
    report = api.client.get("/api/v1/admin/model-agreement", headers=admin).get_json()
    [row] = report["items"]
    assert (row["model_name"], row["assessed"], row["agreed"], row["disagreed"]) == (
        "ham10000_xception", 3, 2, 1,
    )  # fmt: skip
    assert row["agreement_rate"] == 2 / 3
    assert api.client.get("/api/v1/admin/model-agreement", headers=me).status_code == 403


def test_history_lists_the_patients_other_cases_while_reviewing(api: ApiClient) -> None:
    patient = api.patient()
    earlier, current = routed_case(api, patient), routed_case(api, patient)
    me = api.auth(api.staff())
    assert _claim(api, me, current).status_code == 200
    history = api.client.get(f"/api/v1/cases/{current}/history", headers=me).get_json()
    assert [item["id"] for item in history["items"]] == [earlier]
    assert history["items"][0]["photos"][0]["links"]["review"]
