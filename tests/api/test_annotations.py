"""Specialists annotate and calibrate the photos of the case they review, through the API."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from casebox.accounts.models import Role
from casebox.annotations import operations
from tests.api.review_support import audit_actions, claim, routed_case
from tests.support import ApiClient

SVG = "http://www.w3.org/2000/svg"


def annotation(element: str, text: str | None = None) -> dict[str, Any]:
    """A Web Annotation with one SVG element, as the workspace sends it."""
    body: dict[str, Any] = {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "target": {
            "selector": {"type": "SvgSelector", "value": f'<svg xmlns="{SVG}">{element}</svg>'}
        },
    }
    if text:
        body["body"] = {"type": "TextualBody", "value": text}
    return body


POLYGON = annotation('<polygon points="100,100 300,100 300,200 100,200"/>')
RULER = annotation('<line x1="10" y1="20" x2="40" y2="60" data-tool="ruler"/>')


@pytest.fixture
def reviewing(api: ApiClient) -> dict[str, Any]:
    """A specialist holding the claim on a case; its photo's annotation URL."""
    headers = api.auth(api.staff())
    case = claim(api, headers, routed_case(api))
    photo = case["photos"][0]
    return {
        "headers": headers,
        "case": case,
        "photo": photo,
        "url": f"/api/v1/photos/{photo['id']}/annotations",
    }


def _items(api: ApiClient, reviewing: dict[str, Any]) -> list[dict[str, Any]]:
    page = api.client.get(reviewing["url"], headers=reviewing["headers"])
    assert page.status_code == 200
    return list(page.get_json()["items"])


def test_a_drawn_polygon_is_stored_as_a_web_annotation_on_the_photo(
    api: ApiClient, reviewing: dict[str, Any]
) -> None:
    created = api.client.post(reviewing["url"], json=POLYGON, headers=reviewing["headers"])
    assert created.status_code == 201
    body = created.get_json()
    assert body["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert body["type"] == "Annotation"
    assert body["motivation"] == "highlighting"
    assert body["tool"] == "polygon"
    assert body["target"]["source"].endswith(reviewing["photo"]["links"]["self"])
    assert body["target"]["selector"]["value"] == (
        f'<svg xmlns="{SVG}"><polygon points="100,100 300,100 300,200 100,200" '
        'data-tool="polygon"/></svg>'
    )
    assert body["measurement"]["label"] == "20,000 px² (uncalibrated)"
    assert body["creator"]["name"] == "Test specialist"
    assert body["id"].endswith(f"{reviewing['url']}/{body['id'].rsplit('/', 1)[1]}")
    assert [item["id"] for item in _items(api, reviewing)] == [body["id"]]


def test_an_annotation_is_replaced_and_deleted(api: ApiClient, reviewing: dict[str, Any]) -> None:
    created = api.client.post(reviewing["url"], json=RULER, headers=reviewing["headers"])
    item_url = f"{reviewing['url']}/{created.get_json()['id'].rsplit('/', 1)[1]}"
    moved = annotation('<line x1="10" y1="20" x2="70" y2="100" data-tool="ruler"/>', "lesion")
    replaced = api.client.put(item_url, json=moved, headers=reviewing["headers"])
    assert replaced.status_code == 200
    assert replaced.get_json()["measurement"]["label"] == "100 px (uncalibrated)"
    assert replaced.get_json()["body"][0]["value"] == "lesion"
    assert replaced.get_json()["id"] == created.get_json()["id"]
    assert api.client.delete(item_url, headers=reviewing["headers"]).status_code == 204
    assert _items(api, reviewing) == []
    assert api.client.delete(item_url, headers=reviewing["headers"]).status_code == 404


def test_calibration_turns_measurements_into_millimetres_and_back(
    api: ApiClient, reviewing: dict[str, Any]
) -> None:
    api.client.post(reviewing["url"], json=RULER, headers=reviewing["headers"])
    calibration_url = f"/api/v1/photos/{reviewing['photo']['id']}/calibration"
    # A 100 px line that is 10 mm long: 0.1 mm per pixel; the 50 px ruler is 5 mm.
    calibrated = api.client.put(
        calibration_url,
        json={"line": [0, 0, 100, 0], "length_mm": 10},
        headers=reviewing["headers"],
    )
    assert calibrated.status_code == 200
    assert calibrated.get_json()["mm_per_pixel"] == pytest.approx(0.1)
    [ruler] = _items(api, reviewing)
    assert ruler["measurement"]["label"] == "5.0 mm"
    assert ruler["measurement"]["calibrated"] is True
    case = api.client.get(f"/api/v1/cases/{reviewing['case']['id']}", headers=reviewing["headers"])
    assert case.get_json()["photos"][0]["calibration"]["length_mm"] == 10

    assert api.client.delete(calibration_url, headers=reviewing["headers"]).status_code == 204
    assert _items(api, reviewing)[0]["measurement"]["label"] == "50.0 px (uncalibrated)"
    assert api.client.delete(calibration_url, headers=reviewing["headers"]).status_code == 404


def test_a_calibration_that_cannot_be_right_is_refused_field_by_field(
    api: ApiClient, reviewing: dict[str, Any]
) -> None:
    url = f"/api/v1/photos/{reviewing['photo']['id']}/calibration"
    refused = api.client.put(
        url, json={"line": [0, 0, 2, 0], "length_mm": -1}, headers=reviewing["headers"]
    )
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert set(refused.get_json()["errors"]) == {"line", "length_mm"}
    case = api.client.get(f"/api/v1/cases/{reviewing['case']['id']}", headers=reviewing["headers"])
    assert case.get_json()["photos"][0]["calibration"] is None


@pytest.mark.parametrize(
    "document",
    [
        annotation('<polygon points="1,1 5,5 9,1" onload="alert(1)"/>'),
        annotation("<script>alert(1)</script>"),
        annotation('<line x1="0" y1="0" x2="99999" y2="10" data-tool="ruler"/>'),
        {**POLYGON, "type": "Highlight"},
        {"target": "nothing"},
    ],
    ids=["event-handler", "script", "outside-the-photo", "wrong-type", "no-selector"],
)
def test_an_invalid_annotation_is_refused_and_nothing_is_stored(
    api: ApiClient, reviewing: dict[str, Any], document: dict[str, Any]
) -> None:
    refused = api.client.post(reviewing["url"], json=document, headers=reviewing["headers"])
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert refused.get_json()["errors"]
    assert _items(api, reviewing) == []


def test_a_body_that_is_not_a_json_object_is_refused(
    api: ApiClient, reviewing: dict[str, Any]
) -> None:
    for sent in ({"data": "[1, 2]"}, {"data": "{not json"}):
        refused = api.client.post(
            reviewing["url"],
            headers={**reviewing["headers"], "Content-Type": "application/json"},
            **sent,
        )
        assert refused.status_code in (400, 422)
        assert refused.content_type == "application/problem+json"
    assert _items(api, reviewing) == []


def test_annotating_needs_the_claim_on_the_case(api: ApiClient) -> None:
    headers = api.auth(api.staff())
    case_id = routed_case(api)
    photo = api.client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["photos"][0]
    url = f"/api/v1/photos/{photo['id']}/annotations"
    refused = api.client.post(url, json=POLYGON, headers=headers)
    assert refused.status_code == 409
    assert "Claim this photo's case" in refused.get_json()["detail"]
    assert api.client.get(url, headers=headers).get_json()["items"] == []


def test_a_colleague_cannot_read_or_change_the_annotations_of_a_claimed_case(
    api: ApiClient, reviewing: dict[str, Any]
) -> None:
    api.client.post(reviewing["url"], json=POLYGON, headers=reviewing["headers"])
    colleague = api.auth(api.staff())
    assert api.client.get(reviewing["url"], headers=colleague).status_code == 409
    assert api.client.post(reviewing["url"], json=RULER, headers=colleague).status_code == 409
    assert len(_items(api, reviewing)) == 1


def test_outsiders_get_no_annotations(api: ApiClient, reviewing: dict[str, Any]) -> None:
    api.client.post(reviewing["url"], json=POLYGON, headers=reviewing["headers"])
    patient = api.auth(api.patient())
    assert api.client.get(reviewing["url"], headers=patient).status_code == 403
    other_queue = api.auth(api.staff(queues=["paediatric"]))
    hidden = api.client.get(reviewing["url"], headers=other_queue)
    assert hidden.status_code == 404
    unknown = api.client.get("/api/v1/photos/no-such-photo/annotations", headers=other_queue)
    assert unknown.get_json() == hidden.get_json()


def test_an_admin_reads_annotations_but_does_not_draw(
    api: ApiClient, reviewing: dict[str, Any]
) -> None:
    api.client.post(reviewing["url"], json=POLYGON, headers=reviewing["headers"])
    admin = api.auth(api.staff(Role.ADMIN))
    assert len(api.client.get(reviewing["url"], headers=admin).get_json()["items"]) == 1
    assert api.client.post(reviewing["url"], json=RULER, headers=admin).status_code == 403


def test_an_annotation_of_another_photo_is_not_found_here(
    api: ApiClient, reviewing: dict[str, Any]
) -> None:
    created = api.client.post(reviewing["url"], json=POLYGON, headers=reviewing["headers"])
    annotation_id = created.get_json()["id"].rsplit("/", 1)[1]
    other = claim(api, reviewing["headers"], routed_case(api))["photos"][0]
    url = f"/api/v1/photos/{other['id']}/annotations/{annotation_id}"
    assert api.client.put(url, json=RULER, headers=reviewing["headers"]).status_code == 404
    assert api.client.delete(url, headers=reviewing["headers"]).status_code == 404
    assert len(_items(api, reviewing)) == 1


def test_a_photo_holds_a_bounded_number_of_annotations(
    api: ApiClient, reviewing: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operations, "MAX_ANNOTATIONS_PER_PHOTO", 2)
    for _ in range(2):
        api.client.post(reviewing["url"], json=POLYGON, headers=reviewing["headers"])
    refused = api.client.post(reviewing["url"], json=POLYGON, headers=reviewing["headers"])
    assert refused.status_code == 409
    assert "at most 2 annotations" in refused.get_json()["detail"]
    assert len(_items(api, reviewing)) == 2


def test_every_annotation_read_and_change_is_audited(
    api: ApiClient, app: Flask, reviewing: dict[str, Any]
) -> None:
    created = api.client.post(reviewing["url"], json=RULER, headers=reviewing["headers"])
    item_url = f"{reviewing['url']}/{created.get_json()['id'].rsplit('/', 1)[1]}"
    api.client.put(item_url, json=RULER, headers=reviewing["headers"])
    _items(api, reviewing)
    api.client.delete(item_url, headers=reviewing["headers"])
    calibration_url = f"/api/v1/photos/{reviewing['photo']['id']}/calibration"
    api.client.put(
        calibration_url,
        json={"line": [0, 0, 100, 0], "length_mm": 10},
        headers=reviewing["headers"],
    )
    api.client.delete(calibration_url, headers=reviewing["headers"])
    assert audit_actions(app, "annotation.") == [
        "annotation.create",
        "annotation.update",
        "annotation.list",
        "annotation.delete",
    ]
    assert audit_actions(app, "photo.calibrat") == ["photo.calibrate", "photo.calibration_remove"]
