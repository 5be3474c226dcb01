"""A patient answers a request for more information; the case returns to the same specialist."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from casebox.cases.models import CaseReply
from casebox.database import db
from tests.api.follow_up_support import assess, assessment
from tests.api.review_support import audit_actions, routed_case
from tests.api.test_uploads import _upload
from tests.support import ApiClient, jpeg, run_pipeline

REQUEST = "Please send a close-up of the edge in daylight, with a ruler beside it."
ANSWER = "Here is the close-up with a ruler. It itches a little at night."


def _more_info_requested(api: ApiClient, patient: str, specialist: dict[str, str]) -> str:
    case_id = routed_case(api, patient)
    body = assessment(management="more_information", information_request=REQUEST)
    del body["follow_up"]
    response = assess(api, specialist, case_id, body)
    assert response.status_code == 201, response.get_json()
    return case_id


def _reply(api: ApiClient, patient: str, case_id: str, **body: Any) -> Any:
    return api.client.post(
        f"/api/v1/cases/{case_id}/reply",
        json={"message": ANSWER, **body},
        headers=api.auth(patient),
    )


def _replies(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(CaseReply)) or 0)


def test_the_reply_with_new_photos_returns_to_the_specialist_who_asked(
    api: ApiClient, app: Flask
) -> None:
    patient = api.patient()
    specialist, colleague = api.auth(api.staff()), api.auth(api.staff())
    case_id = _more_info_requested(api, patient, specialist)
    before = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(patient)).get_json()
    assert before["status"] == "more_info_requested"
    old_photo = before["photos"][0]["id"]

    added = api.upload(patient, case_id, jpeg(seed=7), view="close_up")
    assert added.status_code == 201, added.get_json()
    _, finished = _upload(api, patient, case_id, jpeg(seed=8))  # resumable uploads too
    assert finished.status_code == 204
    api.process_photos()
    old = api.client.delete(
        f"/api/v1/cases/{case_id}/photos/{old_photo}", headers=api.auth(patient)
    )
    assert old.status_code == 409  # the specialist has seen it
    new = api.client.delete(
        f"/api/v1/cases/{case_id}/photos/{added.get_json()['id']}", headers=api.auth(patient)
    )
    assert new.status_code == 204  # added since the request: the patient may take it back

    replied = _reply(api, patient, case_id, accept_quality_warnings=True)
    assert replied.status_code == 201, replied.get_json()
    assert replied.get_json()["message"] == ANSWER
    run_pipeline(app)

    review = api.client.get(f"/api/v1/cases/{case_id}", headers=specialist).get_json()
    assert review["status"] == "in_review"
    me = api.client.get("/api/v1/me", headers=specialist).get_json()
    assert review["claim"]["specialist"]["id"] == me["id"]
    assert len(review["photos"]) == 2
    assert [r["message"] for r in review["replies"]] == [ANSWER]
    assert review["replies"][0]["information_request"] == REQUEST
    assert [a["management"] for a in review["assessments"]] == ["more_information"]
    assert api.client.get(f"/api/v1/cases/{case_id}", headers=colleague).status_code == 409
    own = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(patient)).get_json()
    assert [r["message"] for r in own["replies"]] == [ANSWER]
    assert "case.reply" in audit_actions(app, "case.reply")

    again = _reply(api, patient, case_id)
    assert again.status_code == 409 and again.content_type == "application/problem+json"


def test_a_reply_is_refused_with_nothing_written_when_it_cannot_go(
    api: ApiClient, app: Flask
) -> None:
    patient, specialist = api.patient(), api.auth(api.staff())
    case_id = _more_info_requested(api, patient, specialist)

    blank = _reply(api, patient, case_id, message="  ")
    assert blank.status_code == 422 and "message" in blank.get_json()["errors"]
    other = api.patient()
    assert _reply(api, other, case_id).status_code == 404
    assert _reply(api, patient, "no-such-case").status_code == 404
    assert (
        api.client.post(
            f"/api/v1/cases/{case_id}/reply", json={"message": ANSWER}, headers=specialist
        ).status_code
        == 403
    )

    assert api.upload(patient, case_id, view="close_up").status_code == 201  # not checked yet
    waiting = _reply(api, patient, case_id)
    assert waiting.status_code == 409 and "being checked" in waiting.get_json()["detail"]
    assert _replies(app) == 0
    still = api.client.get(f"/api/v1/cases/{case_id}", headers=api.auth(patient)).get_json()
    assert still["status"] == "more_info_requested" and still["replies"] == []


def test_only_a_case_waiting_for_more_information_takes_a_reply_or_new_photos(
    api: ApiClient,
) -> None:
    patient = api.patient()
    case_id = routed_case(api, patient)
    refused = _reply(api, patient, case_id)
    assert refused.status_code == 409 and refused.content_type == "application/problem+json"
    photo = api.upload(patient, case_id, view="close_up")
    assert photo.status_code == 409
    draft = api.create_case(patient)
    assert _reply(api, patient, draft["id"]).status_code == 409
