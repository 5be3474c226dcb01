"""A patient downloads everything casebox holds on them: JSON, photos, PDFs and FHIR."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from flask import Flask
from sqlalchemy import select

from casebox import services
from casebox.accounts.models import Role
from casebox.audit.models import AuditEvent
from casebox.cases.models import Photo
from casebox.database import db
from tests.api.review_support import audit_actions, routed_case
from tests.prescriptions.prescribing_support import (
    pharmacy_with_pharmacist,
    prescribing,
    render_pdfs,
)
from tests.support import ApiClient, jpeg

EXPORT = "/api/v1/me/export"
INTERNAL_NOTE = "Internal: textbook stuck-on look, no need to recall."
MESSAGE = "A harmless growth (seborrhoeic keratosis). The capsules calm the skin around it."
ASSESSMENT = {
    "diagnosis": {"code": "394726009"},
    "certainty": "high",
    "management": "treat",
    "patient_message": MESSAGE,
    "internal_note": INTERNAL_NOTE,
    "ai_agreement": "agree",
}


@dataclass
class History:
    """A patient with a completed case and prescription, a draft case, and a bystander."""

    patient: dict[str, str]
    completed_case: str
    draft_case: str
    prescription: dict[str, Any]
    other_patient: dict[str, str]
    other_case: str


def _history(api: ApiClient) -> History:
    rx = prescribing(api)
    assessed = api.client.post(
        f"/api/v1/cases/{rx.case_id}/assessment", json=ASSESSMENT, headers=rx.prescriber
    )
    assert assessed.status_code == 201, assessed.get_json()
    prescription = rx.issued()
    render_pdfs(api)
    token = rx.patient["Authorization"].removeprefix("Bearer ")
    draft = api.create_case(token, body_site="scalp")
    assert api.upload(token, draft["id"], jpeg(7), view="regional").status_code == 201
    api.process_photos()
    other = api.patient(name="Olive Other")
    other_case = routed_case(api, other, jpeg(9))
    return History(rx.patient, rx.case_id, draft["id"], prescription, api.auth(other), other_case)


def _export(api: ApiClient, headers: dict[str, str]) -> zipfile.ZipFile:
    response = api.client.get(EXPORT, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.content_type == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    assert int(response.headers["Content-Length"]) == len(response.data)
    return zipfile.ZipFile(io.BytesIO(response.data))


def _json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


def _texts(archive: zipfile.ZipFile) -> str:
    """Every JSON entry, concatenated: where a leak would show (README.txt is fixed text)."""
    return "\n".join(
        archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".json")
    )


def test_export_holds_every_file_of_the_patient(api: ApiClient) -> None:
    history = _history(api)
    archive = _export(api, history.patient)
    assert archive.testzip() is None
    names = set(archive.namelist())
    completed = _json(archive, f"cases/{history.completed_case}/case.json")
    draft = _json(archive, f"cases/{history.draft_case}/case.json")
    photo_files = {
        path
        for case in (completed, draft)
        for photo in case["photos"]
        for path in photo["files"].values()
    }
    number = history.prescription["number"]
    assert names == {
        "README.txt",
        "account.json",
        f"cases/{history.completed_case}/case.json",
        f"cases/{history.draft_case}/case.json",
        *photo_files,
        f"prescriptions/{number}.json",
        f"prescriptions/{number}.pdf",
        "fhir/bundle.json",
    }
    # Each photo: its original, and the review copy the specialist saw once it passed.
    for case in (completed, draft):
        (photo,) = case["photos"]
        assert photo["files"]["original"] == (
            f"cases/{case['id']}/photos/{photo['id']}-original.jpg"
        )
        assert photo["files"]["review"] == f"cases/{case['id']}/photos/{photo['id']}-review.jpg"
    assert archive.read(f"prescriptions/{number}.pdf").startswith(b"%PDF-")
    readme = archive.read("README.txt").decode()
    for described in ("account.json", "case.json", "-original.", "-review.jpg", ".pdf", "bundle"):
        assert described in readme


def test_case_json_is_the_case_as_the_patient_sees_it(api: ApiClient) -> None:
    history = _history(api)
    archive = _export(api, history.patient)
    case = _json(archive, f"cases/{history.completed_case}/case.json")
    seen = api.client.get(f"/api/v1/cases/{history.completed_case}", headers=history.patient)
    own = seen.get_json()
    without_files = [
        {key: value for key, value in photo.items() if key != "files"} for photo in case["photos"]
    ]
    assert {**case, "photos": without_files, "responses": None, "prescriptions": None} == {
        **own,
        "responses": None,
        "prescriptions": None,
    }
    assert case["status"] == "completed" and case["submitted_at"]
    assert case["response"] == own["response"] and case["response"]["message"] == MESSAGE
    (response,) = case["responses"]
    assert response["diagnosis"]["code"] == "394726009"
    assert case["photos"][0]["quality_reasons"] is not None
    assert case["prescriptions"] == [f"prescriptions/{history.prescription['number']}.json"]
    draft = _json(archive, f"cases/{history.draft_case}/case.json")
    assert draft["status"] == "draft" and draft["response"] is None and draft["responses"] == []


def test_photo_originals_are_byte_identical_to_the_stored_ones(api: ApiClient) -> None:
    history = _history(api)
    archive = _export(api, history.patient)
    checked = 0
    for case_id in (history.completed_case, history.draft_case):
        for photo in _json(archive, f"cases/{case_id}/case.json")["photos"]:
            data = archive.read(photo["files"]["original"])
            assert hashlib.sha256(data).hexdigest() == photo["sha256"]
            assert len(data) == photo["size_bytes"]
            url = f"/api/v1/cases/{case_id}/photos/{photo['id']}/image?variant=original"
            assert data == api.client.get(url, headers=history.patient).data
            checked += 1
    assert checked == 2


def test_prescription_json_is_what_the_patient_sees_without_the_access_code(
    api: ApiClient,
) -> None:
    history = _history(api)
    archive = _export(api, history.patient)
    number = history.prescription["number"]
    exported = _json(archive, f"prescriptions/{number}.json")
    seen = api.client.get(
        f"/api/v1/prescriptions/{history.prescription['id']}", headers=history.patient
    ).get_json()
    assert exported == seen
    pdf = api.client.get(
        f"/api/v1/prescriptions/{history.prescription['id']}/pdf", headers=history.patient
    )
    assert archive.read(f"prescriptions/{number}.pdf") == pdf.data
    assert "access_code" not in _texts(archive)
    assert "/verify/" not in _texts(archive)


def test_account_json_has_the_profile_and_consents_but_no_secrets(
    api: ApiClient, app: Flask
) -> None:
    history = _history(api)
    archive = _export(api, history.patient)
    account = _json(archive, "account.json")
    me = api.client.get("/api/v1/me", headers=history.patient).get_json()
    assert account["user"]["id"] == me["id"] and account["user"]["email"] == me["email"]
    assert account["profile"] == {"date_of_birth": "1980-02-29", "sex": "female"}
    (consent,) = account["consents"]
    current = api.client.get("/api/v1/consent").get_json()
    assert consent["version"] == current["version"]
    assert consent["text_sha256"] == current["sha256"]
    assert consent["accepted_at"] and consent["withdrawn_at"] is None
    assert account["nominated_pharmacy"]["name"] == "Main Street Pharmacy"
    assert account["notification_preferences"] == {"email": False, "sms": False, "phone": None}
    text = _texts(archive)
    for secret in ("password", "argon2", "token", "totp_secret", "cbx_"):
        assert secret not in text.lower()


def test_internal_notes_triage_and_model_output_are_left_out(api: ApiClient) -> None:
    history = _history(api)
    staff_view = api.client.get(
        f"/api/v1/cases/{history.other_case}", headers=api.auth(api.staff())
    ).get_json()
    assert staff_view["analysis"], "the pipeline analysed the cases"
    archive = _export(api, history.patient)
    text = _texts(archive)
    assert INTERNAL_NOTE not in text
    for internal in (
        "internal_note", "analysis", "probabilities", "malignancy", "ham10000",
        "out_of_distribution", "ai_agreement", "triage", "routing_reasons", "certainty",
    ):  # fmt: skip
        assert internal not in text, internal


def test_another_patients_data_is_absent(api: ApiClient, app: Flask) -> None:
    history = _history(api)
    archive = _export(api, history.patient)
    other = api.client.get(f"/api/v1/cases/{history.other_case}", headers=history.other_patient)
    other_case = other.get_json()
    me = api.client.get("/api/v1/me", headers=history.other_patient).get_json()
    names = "\n".join(archive.namelist())
    text = _texts(archive)
    for marker in (history.other_case, other_case["photos"][0]["id"], me["id"], me["email"]):
        assert marker not in names and marker not in text
    assert "Olive Other" not in text
    with app.app_context():
        other_sha = db.session.scalar(
            select(Photo.original_sha256).where(Photo.public_id == other_case["photos"][0]["id"])
        )
    contents = {hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist()}
    assert other_sha not in contents
    # And the other patient's own export holds only theirs.
    theirs = _export(api, history.other_patient)
    assert {n.split("/")[1] for n in theirs.namelist() if n.startswith("cases/")} == {
        history.other_case
    }


def test_fhir_bundle_parses_and_its_references_resolve(api: ApiClient) -> None:
    history = _history(api)
    archive = _export(api, history.patient)
    raw = _json(archive, "fhir/bundle.json")
    bundle = Bundle.model_validate(raw)
    assert bundle.type == "collection"
    entries = raw["entry"]
    full_urls = {entry["fullUrl"] for entry in entries}
    assert all(url.startswith("urn:uuid:") for url in full_urls)
    assert len(full_urls) == len(entries)
    references = list(_references(raw))
    assert references and set(references) <= full_urls
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    assert {kind: len(items) for kind, items in by_type.items()} == {
        "Patient": 1,
        "QuestionnaireResponse": 2,
        "Media": 2,
        "DiagnosticReport": 1,
    }
    (patient,) = by_type["Patient"]
    assert patient["birthDate"] == "1980-02-29" and patient["gender"] == "female"
    responses = {r["identifier"]["value"]: r for r in by_type["QuestionnaireResponse"]}
    assert responses[history.completed_case]["status"] == "completed"
    assert responses[history.draft_case]["status"] == "in-progress"
    items = {item["linkId"]: item for item in responses[history.draft_case]["item"]}
    assert items["body_site"]["answer"][0]["valueCoding"]["code"] == "scalp"
    assert items["itch"]["text"] and items["itch"]["answer"] == [{"valueBoolean": False}]
    assert items["allergies"]["answer"] == [{"valueString": "penicillin"}]
    assert "medications" not in items  # no medicines: FHIR has no empty answer
    for media in by_type["Media"]:
        content = media["content"]
        data = archive.read(content["url"])
        assert content["size"] == len(data)
        assert content["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324  # FHIR's hash
        assert "data" not in content
    (report,) = by_type["DiagnosticReport"]
    assert report["status"] == "final"
    assert report["conclusion"] == MESSAGE
    assert report["code"]["coding"][0] == {
        "system": "http://loinc.org", "code": "34758-3", "display": "Dermatology Consult note",
    }  # fmt: skip
    (diagnosis,) = report["conclusionCode"]
    assert diagnosis["coding"][0]["system"] == "http://snomed.info/sct"
    assert diagnosis["coding"][0]["code"] == "394726009"
    assert len(report["media"]) == 1
    completed_urn = _full_url(entries, responses[history.completed_case])
    (assessed_photo,) = [
        m for m in by_type["Media"] if m["partOf"][0]["reference"] == completed_urn
    ]
    assert report["media"][0]["link"]["reference"] == _full_url(entries, assessed_photo)


def _references(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference":
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _full_url(entries: list[dict[str, Any]], resource: dict[str, Any]) -> str:
    return next(str(e["fullUrl"]) for e in entries if e["resource"] is resource)


def test_staff_and_anonymous_callers_are_refused(api: ApiClient) -> None:
    assert api.client.get(EXPORT).status_code == 401
    for role in (Role.SPECIALIST, Role.ADMIN):
        refused = api.client.get(EXPORT, headers=api.auth(api.staff(role)))
        assert refused.status_code == 403
        assert refused.content_type == "application/problem+json"
    _, pharmacist = pharmacy_with_pharmacist(api)
    assert api.client.get(EXPORT, headers=pharmacist).status_code == 403


def test_export_is_audited_with_counts_only(api: ApiClient, app: Flask) -> None:
    history = _history(api)
    _export(api, history.patient)
    assert audit_actions(app, "patient.export") == ["patient.export"]
    me = api.client.get("/api/v1/me", headers=history.patient).get_json()
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.export"))
        assert event is not None
        assert (event.actor_id, event.actor_role, event.object_id) == (
            me["id"],
            "patient",
            me["id"],
        )
        assert set(event.details) == {
            "cases", "photos", "assessments", "prescriptions", "pdfs", "bytes",
        }  # fmt: skip
        assert all(isinstance(value, int) for value in event.details.values())
        assert (event.details["cases"], event.details["photos"]) == (2, 2)
        assert (event.details["prescriptions"], event.details["pdfs"]) == (1, 1)


def test_a_new_patient_gets_their_account_and_an_empty_bundle(api: ApiClient) -> None:
    headers = api.auth(api.patient())
    archive = _export(api, headers)
    assert set(archive.namelist()) == {"README.txt", "account.json", "fhir/bundle.json"}
    bundle = Bundle.model_validate(_json(archive, "fhir/bundle.json"))
    assert [entry.resource.get_resource_type() for entry in bundle.entry or []] == ["Patient"]


def test_a_damaged_photo_fails_the_export_instead_of_sending_it(api: ApiClient, app: Flask) -> None:
    token = api.patient()
    case = api.create_case(token)
    photo = api.upload(token, case["id"]).get_json()
    with app.app_context():
        key = db.session.scalar(select(Photo.original_key).where(Photo.public_id == photo["id"]))
        assert key is not None
        services.object_store().put(key, jpeg(3))  # other bytes under the recorded SHA-256
    response = api.client.get(EXPORT, headers=api.auth(token))
    assert response.status_code == 503  # StorageError: the object failed verification
    assert response.content_type == "application/problem+json"
    assert audit_actions(app, "patient.export") == []
