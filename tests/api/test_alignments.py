"""Specialists align two photos of one patient, accept the alignment, see the difference."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from casebox.accounts.models import Role
from casebox.comparison.models import PhotoAlignment
from casebox.database import db
from casebox.demo import synthetic_lesion_photo
from tests.api.review_support import audit_actions, claim, routed_case
from tests.support import ApiClient

SHIFT = (60, 40)  # where the follow-up's frame starts in the baseline's skin


def _crops() -> tuple[bytes, bytes]:
    """Two overlapping views of one patch of skin, the second shifted by SHIFT."""
    skin = Image.open(io.BytesIO(synthetic_lesion_photo(7, size=(1200, 900))))
    views = []
    for left, top in ((0, 0), SHIFT):
        buffer = io.BytesIO()
        skin.crop((left, top, left + 1024, top + 768)).save(buffer, "JPEG", quality=95)
        views.append(buffer.getvalue())
    return views[0], views[1]


@pytest.fixture
def pair(api: ApiClient) -> dict[str, Any]:
    """A specialist reviewing a follow-up case, with the patient's baseline photo beside it."""
    patient = api.patient()
    baseline_view, follow_up_view = _crops()
    baseline_case = routed_case(api, patient, baseline_view)
    follow_up_case = routed_case(api, patient, follow_up_view)
    headers = api.auth(api.staff())
    follow_up = claim(api, headers, follow_up_case)["photos"][0]
    baseline = api.client.get(f"/api/v1/cases/{baseline_case}", headers=headers)
    return {
        "headers": headers,
        "fixed": baseline.get_json()["photos"][0],
        "moving": follow_up,
    }


def _align(api: ApiClient, pair: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return api.client.post(
        "/api/v1/alignments",
        json={"fixed_photo_id": pair["fixed"]["id"], "moving_photo_id": pair["moving"]["id"]},
        headers=headers or pair["headers"],
    )


def _alignments(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(PhotoAlignment)) or 0)


def test_the_follow_up_is_aligned_onto_the_baseline_in_original_pixels(
    api: ApiClient, pair: dict[str, Any]
) -> None:
    created = _align(api, pair)
    assert created.status_code == 201
    body = created.get_json()
    assert body["accepted"] is None
    assert body["inliers"] >= 15
    assert body["method"].startswith("sift+ransac")
    # Moving pixel (x, y) shows the skin at baseline pixel (x + 60, y + 40).
    matrix = np.array(body["matrix"])
    for x, y in ((100.0, 100.0), (900.0, 650.0), (512.0, 384.0)):
        u, v, w = matrix @ np.array([x, y, 1.0])
        assert (u / w, v / w) == pytest.approx((x + SHIFT[0], y + SHIFT[1]), abs=1.0)
    again = api.client.get(body["links"]["self"], headers=pair["headers"])
    assert again.get_json()["matrix"] == body["matrix"]


def test_the_difference_needs_an_accepted_alignment(api: ApiClient, pair: dict[str, Any]) -> None:
    alignment = _align(api, pair).get_json()
    difference = alignment["links"]["difference"]
    early = api.client.get(difference, headers=pair["headers"])
    assert early.status_code == 409
    assert early.content_type == "application/problem+json"
    assert "accept it first" in early.get_json()["detail"]

    rejected = api.client.patch(
        alignment["links"]["self"], json={"accepted": False}, headers=pair["headers"]
    )
    assert rejected.get_json()["accepted"] is False
    assert api.client.get(difference, headers=pair["headers"]).status_code == 409

    accepted = api.client.patch(
        alignment["links"]["self"], json={"accepted": True}, headers=pair["headers"]
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["accepted"] is True
    shown = api.client.get(difference, headers=pair["headers"])
    assert shown.status_code == 200
    assert shown.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(shown.data))
    assert image.size == (pair["fixed"]["width"], pair["fixed"]["height"])


def test_a_decision_must_be_a_boolean(api: ApiClient, pair: dict[str, Any]) -> None:
    alignment = _align(api, pair).get_json()
    for sent in ({"accepted": "yes"}, {}, {"accepted": None}):
        refused = api.client.patch(alignment["links"]["self"], json=sent, headers=pair["headers"])
        assert refused.status_code == 422
        assert "accepted" in refused.get_json()["errors"]
    stored = api.client.get(alignment["links"]["self"], headers=pair["headers"]).get_json()
    assert stored["accepted"] is None


def test_photos_of_different_skin_are_refused_with_a_clear_message_and_nothing_stored(
    api: ApiClient, app: Flask
) -> None:
    patient = api.patient()
    first = routed_case(api, patient, synthetic_lesion_photo(1, size=(1024, 768)))
    second = routed_case(api, patient, synthetic_lesion_photo(2, size=(1024, 768)))
    headers = api.auth(api.staff())
    moving = claim(api, headers, second)["photos"][0]
    fixed = api.client.get(f"/api/v1/cases/{first}", headers=headers).get_json()["photos"][0]
    refused = api.client.post(
        "/api/v1/alignments",
        json={"fixed_photo_id": fixed["id"], "moving_photo_id": moving["id"]},
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert refused.get_json()["detail"].startswith("These photos could not be aligned")
    assert _alignments(app) == 0


def test_only_two_different_photos_of_one_patient_can_be_aligned(
    api: ApiClient, app: Flask, pair: dict[str, Any]
) -> None:
    same = api.client.post(
        "/api/v1/alignments",
        json={"fixed_photo_id": pair["moving"]["id"], "moving_photo_id": pair["moving"]["id"]},
        headers=pair["headers"],
    )
    assert same.status_code == 422
    assert "moving_photo_id" in same.get_json()["errors"]
    stranger_case = routed_case(api)
    stranger = api.client.get(f"/api/v1/cases/{stranger_case}", headers=pair["headers"])
    mixed = api.client.post(
        "/api/v1/alignments",
        json={
            "fixed_photo_id": stranger.get_json()["photos"][0]["id"],
            "moving_photo_id": pair["moving"]["id"],
        },
        headers=pair["headers"],
    )
    assert mixed.status_code == 422
    assert "same patient" in mixed.get_json()["detail"]
    missing = api.client.post("/api/v1/alignments", json={}, headers=pair["headers"])
    assert set(missing.get_json()["errors"]) == {"fixed_photo_id", "moving_photo_id"}
    assert _alignments(app) == 0


def test_who_may_align_and_see_alignments(api: ApiClient, pair: dict[str, Any]) -> None:
    patient = api.auth(api.patient())
    assert _align(api, pair, patient).status_code == 403
    admin = api.auth(api.staff(Role.ADMIN))
    assert _align(api, pair, admin).status_code == 403
    alignment = _align(api, pair).get_json()
    assert api.client.get(alignment["links"]["self"], headers=admin).status_code == 200
    assert api.client.get(alignment["links"]["self"], headers=patient).status_code == 403
    # A colleague outside these queues learns nothing, exactly as for a missing id.
    outsider = api.auth(api.staff(queues=["paediatric"]))
    hidden = api.client.get(alignment["links"]["self"], headers=outsider)
    missing = api.client.get("/api/v1/alignments/no-such-id", headers=outsider)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["detail"] == missing.get_json()["detail"]


def test_aligning_deciding_and_viewing_the_difference_are_audited(
    api: ApiClient, app: Flask, pair: dict[str, Any]
) -> None:
    alignment = _align(api, pair).get_json()
    api.client.get(alignment["links"]["self"], headers=pair["headers"])
    api.client.patch(alignment["links"]["self"], json={"accepted": True}, headers=pair["headers"])
    api.client.get(alignment["links"]["difference"], headers=pair["headers"])
    assert audit_actions(app, "alignment.") == [
        "alignment.create",
        "alignment.view",
        "alignment.accept",
        "alignment.difference_view",
    ]
