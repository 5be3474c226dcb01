"""The quality verdict reaches the patient, and warnings need an explicit choice to send."""

from __future__ import annotations

import io

from flask import Flask
from PIL import Image, ImageFilter
from sqlalchemy import select

from casebox.cases.models import Case
from casebox.database import db
from tests.support import ApiClient, jpeg


def _blurred(radius: float) -> bytes:
    image = Image.open(io.BytesIO(jpeg())).filter(ImageFilter.GaussianBlur(radius))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _small() -> bytes:
    image = Image.open(io.BytesIO(jpeg())).resize((640, 480))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _checked_photo(api: ApiClient, token: str, data: bytes) -> tuple[str, dict]:  # type: ignore[type-arg]
    case = api.create_case(token)
    photo = api.upload(token, case["id"], data).get_json()
    api.process_photos()
    url = f"/api/v1/cases/{case['id']}/photos/{photo['id']}"
    return case["id"], api.client.get(url, headers=api.auth(token)).get_json()


def test_good_photo_is_ready_with_metrics(api: ApiClient) -> None:
    _, photo = _checked_photo(api, api.patient(), jpeg())
    assert photo["status"] == "ready"
    assert photo["quality_reasons"] == []
    assert photo["quality_metrics"]["sharpness"] > 300
    assert photo["quality_metrics"]["skin_fraction"] > 0.5


def test_blurred_photo_is_rejected_with_an_actionable_reason(api: ApiClient) -> None:
    token = api.patient()
    case_id, photo = _checked_photo(api, token, _blurred(6))
    assert photo["status"] == "rejected"
    [reason] = [r for r in photo["quality_reasons"] if r["severity"] == "reject"]
    assert reason["code"] == "blurred"
    assert "steady" in reason["message"]
    submit = api.client.post(f"/api/v1/cases/{case_id}/submit", headers=api.auth(token))
    assert submit.status_code == 422
    assert "steady" in submit.get_json()["errors"]["photos"][0]


def test_photo_with_a_warning_needs_explicit_acceptance(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case_id, photo = _checked_photo(api, token, _small())
    assert photo["status"] == "ready"
    assert [r["code"] for r in photo["quality_reasons"]] == ["too_small"]
    url = f"/api/v1/cases/{case_id}/submit"
    refused = api.client.post(url, headers=api.auth(token))
    assert refused.status_code == 422
    assert "accept_quality_warnings" in refused.get_json()["errors"]
    accepted = api.client.post(url, json={"accept_quality_warnings": True}, headers=api.auth(token))
    assert accepted.status_code == 202
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.public_id == case_id))
        assert case is not None
        assert case.quality_override == [{"photo_id": photo["id"], "codes": ["too_small"]}]


def test_submitting_while_photos_are_being_checked_is_a_conflict(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"]).status_code == 201
    response = api.client.post(f"/api/v1/cases/{case['id']}/submit", headers=api.auth(token))
    assert response.status_code == 409
    assert "being checked" in response.get_json()["detail"]


def test_non_boolean_acceptance_is_refused(api: ApiClient) -> None:
    token = api.patient()
    case = api.create_case(token)
    response = api.client.post(
        f"/api/v1/cases/{case['id']}/submit",
        json={"accept_quality_warnings": "yes"},
        headers=api.auth(token),
    )
    assert response.status_code == 422
    assert "accept_quality_warnings" in response.get_json()["errors"]
