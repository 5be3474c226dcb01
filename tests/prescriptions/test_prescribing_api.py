"""A prescription's life through the API: drafted and checked, signed with a second
factor, received, accepted and dispensed by the patient's pharmacy, and verifiable."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select, update

from casebox import services
from casebox.accounts.models import Role
from casebox.accounts.operations import create_user
from casebox.audit.models import AuditEvent
from casebox.database import db, utcnow
from prescriptions.directory import attach_pharmacist
from prescriptions.identifiers import normalise_prescription_number
from prescriptions.models import Prescription
from prescriptions.operations import find_pharmacy
from prescriptions.pdf import verify_pdf_signature
from prescriptions.pki import ensure_development_pki
from prescriptions.signing import verify_bundle
from tests.api.review_support import audit_actions
from tests.prescriptions.prescribing_support import (
    DOXYCYCLINE,
    DOXYCYCLINE_TEXT,
    Prescribing,
    dosage,
    licensed_specialist,
    pharmacy_with_pharmacist,
    prescribing,
    render_pdfs,
)
from tests.support import STAFF_PASSWORD, ApiClient
from workers.queues import default_queue
from workers.relay import relay_pending
from workers.sweeper import sweep_stuck_work
from workers.worker import PipelineWorker

SECOND_PHARMACIST = "second.pharmacist@pharmacy.example"


@pytest.fixture
def rx(api: ApiClient) -> Prescribing:
    return prescribing(api)


def _reasons(draft: dict[str, Any]) -> list[dict[str, str]]:
    """A reason for each of the draft's warnings."""
    return [
        {"key": f["key"], "reason": "Reviewed with the patient."}
        for f in draft["safety"]
        if f["severity"] == "warning"
    ]


def test_a_prescription_goes_from_draft_to_its_last_repeat(rx: Prescribing) -> None:
    api = rx.api
    draft = rx.draft()
    assert draft.status_code == 201
    assert draft.get_json()["status"] == "draft"
    assert draft.get_json()["pharmacy"]["id"] == rx.pharmacy_id  # the patient's nomination
    issued = rx.issued()
    assert issued["status"] == "issued"
    assert issued["instructions"] == DOXYCYCLINE_TEXT  # made from the structured dosage
    assert issued["dosage"] == DOXYCYCLINE["dosage"]
    assert issued["dose"] == {"amount": 100, "unit": "mg", "per": "day"}  # derived
    assert normalise_prescription_number(issued["number"]) == issued["number"]
    assert issued["dispensed"] == {"count": 0, "of": 2}

    mine = api.client.get(f"/api/v1/cases/{rx.case_id}/prescriptions", headers=rx.patient)
    assert [item["number"] for item in mine.get_json()] == [issued["number"]]
    inbox = api.client.get("/api/v1/pharmacy/prescriptions?status=issued", headers=rx.pharmacist)
    assert [item["id"] for item in inbox.get_json()] == [issued["id"]]
    # The pharmacy checks who collects it against the patient's name and date of birth.
    assert inbox.get_json()[0]["patient"] == {"name": "Test Patient", "date_of_birth": "1980-02-29"}

    assert rx.pharmacy_post(issued["id"], "accept").get_json()["status"] == "accepted"
    first = rx.pharmacy_post(issued["id"], "dispense", dispense_number=1).get_json()
    assert (first["status"], first["dispensed"]) == ("accepted", {"count": 1, "of": 2})
    last = rx.pharmacy_post(issued["id"], "dispense", dispense_number=2).get_json()
    assert (last["status"], last["dispensed"]) == ("dispensed", {"count": 2, "of": 2})
    beyond = rx.pharmacy_post(issued["id"], "dispense", dispense_number=3)
    assert beyond.status_code == 422
    assert beyond.content_type == "application/problem+json"
    history = api.client.get(f"/api/v1/prescriptions/{issued['id']}", headers=rx.prescriber)
    actions = [(e["action"], e["dispense_number"]) for e in history.get_json()["history"]]
    assert actions == [("issued", None), ("accepted", None), ("dispensed", 1), ("dispensed", 2)]


def test_the_same_dispense_is_never_recorded_twice(rx: Prescribing) -> None:
    issued = rx.issued()
    rx.pharmacy_post(issued["id"], "accept")
    assert rx.pharmacy_post(issued["id"], "dispense", dispense_number=1).status_code == 200
    again = rx.pharmacy_post(issued["id"], "dispense", dispense_number=1)
    assert again.status_code == 409
    assert "1 of 2 dispensed" in again.get_json()["detail"]


def test_concurrent_dispenses_of_one_supply_give_exactly_one_success(
    app: Flask, rx: Prescribing
) -> None:
    issued = rx.issued(repeats=0)
    rx.pharmacy_post(issued["id"], "accept")
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def dispense() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/pharmacy/prescriptions/{issued['id']}/dispense",
            json={"dispense_number": 1},
            headers=rx.pharmacist,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=dispense) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    with app.app_context():
        stored = db.session.scalar(
            select(Prescription).where(Prescription.public_id == issued["id"])
        )
        assert stored is not None and stored.dispensed_count == 1


def test_two_pharmacists_accepting_at_once_give_it_to_exactly_one(
    app: Flask, api: ApiClient, rx: Prescribing
) -> None:
    issued = rx.issued()
    with app.app_context():
        colleague = create_user(
            SECOND_PHARMACIST, STAFF_PASSWORD, name="Sam Second",
            role=Role.PHARMACIST,
        )  # fmt: skip
        attach_pharmacist(colleague, find_pharmacy(rx.pharmacy_id))
        db.session.commit()
    pharmacists = [rx.pharmacist, api.auth(api.login(SECOND_PHARMACIST, STAFF_PASSWORD))] * 3
    statuses: list[int] = []
    barrier = threading.Barrier(len(pharmacists))

    def accept(headers: dict[str, str]) -> None:
        client = app.test_client()
        barrier.wait()
        url = f"/api/v1/pharmacy/prescriptions/{issued['id']}/accept"
        statuses.append(client.post(url, headers=headers).status_code)

    threads = [threading.Thread(target=accept, args=(h,)) for h in pharmacists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    history = api.client.get(f"/api/v1/prescriptions/{issued['id']}", headers=rx.prescriber)
    assert [e["action"] for e in history.get_json()["history"]] == ["issued", "accepted"]


def test_signing_needs_a_valid_authenticator_code_used_once(rx: Prescribing) -> None:
    draft = rx.draft(repeats=0).get_json()
    overrides = _reasons(draft)
    url = f"/api/v1/prescriptions/{draft['id']}/sign"
    wrong = rx.api.client.post(
        url, json={"totp_code": "000000", "overrides": overrides}, headers=rx.prescriber
    )
    assert wrong.status_code == 403
    assert wrong.content_type == "application/problem+json"
    code = rx.code()
    signed = rx.api.client.post(
        url, json={"totp_code": code, "overrides": overrides}, headers=rx.prescriber
    )
    assert signed.status_code == 200
    second = rx.draft(repeats=0).get_json()
    reused = rx.api.client.post(
        f"/api/v1/prescriptions/{second['id']}/sign",
        json={"totp_code": code, "overrides": _reasons(second)},
        headers=rx.prescriber,
    )
    assert reused.status_code == 403
    stored = rx.api.client.get(f"/api/v1/prescriptions/{second['id']}", headers=rx.prescriber)
    assert stored.get_json()["status"] == "draft"


def test_a_dose_above_the_maximum_is_refused(rx: Prescribing) -> None:
    # 2 capsules of 100 mg twice a day is 400 mg a day; doxycycline's maximum is 200 mg.
    draft = rx.draft(
        dosage=dosage(amount={"value": 2, "unit": "capsule"}, frequency={"times": 2, "per": "day"},
                      timing=[])
    ).get_json()  # fmt: skip
    assert draft["dose"] == {"amount": 400, "unit": "mg", "per": "day"}
    assert draft["instructions"].startswith("Take 2 capsules twice a day, for 12 weeks.")
    assert [(f["code"], f["severity"]) for f in draft["safety"]] == [
        ("dose_above_maximum", "block")
    ]
    assert (
        "400 mg per day is above the formulary maximum of 200 mg per day"
        in (draft["safety"][0]["message"])
    )
    refused = rx.sign(draft["id"])
    assert refused.status_code == 422
    assert "above the formulary maximum" in refused.get_json()["detail"]


def test_a_thin_layer_of_a_topical_is_accepted_and_its_dose_marked_unchecked(
    rx: Prescribing,
) -> None:
    draft = rx.draft(
        formulary_id="clobetasol-propionate", form="cream", route="topical", strength="0.05%",
        dosage=dosage(amount={"unquantified": "thin_layer"}, timing=["bedtime"],
                      duration={"value": 2, "unit": "week"}, note=None),
        quantity="30 g", supply_days=14, repeats=0,
    )  # fmt: skip
    assert draft.status_code == 201, draft.get_json()
    body = draft.get_json()
    assert body["instructions"] == "Apply a thin layer once a day, at bedtime, for 2 weeks."
    assert body["dose"] is None
    assert [f["code"] for f in body["safety"]] == ["dose_unchecked"]  # 50 g a week at most


def test_the_preview_gives_the_text_and_total_the_draft_will_have(rx: Prescribing) -> None:
    preview = rx.api.client.post(
        "/api/v1/prescriptions/dosage-preview",
        json={
            "formulary_id": "methotrexate", "route": "oral", "strength": "2.5 mg",
            "dosage": dosage(amount={"value": 4, "unit": "tablet"},
                             frequency={"times": 1, "per": "week"}, timing=[], note=None,
                             duration={"until_review": True}),
        },
        headers=rx.prescriber,
    )  # fmt: skip
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json() == {
        "text": "Take 4 tablets once a week, on the same day each week, until your next review.",
        "dose": {"amount": 10, "unit": "mg", "per": "week"},
    }
    impossible = rx.api.client.post(
        "/api/v1/prescriptions/dosage-preview",
        json={"route": "oral", "dosage": dosage(frequency={"times": 9, "per": "week"})},
        headers=rx.prescriber,
    )
    assert impossible.status_code == 422
    assert impossible.content_type == "application/problem+json"
    assert impossible.get_json()["errors"]["dosage"]["frequency"] == {
        "times": ["More than 7 times a week: give it per day."]
    }
    patient = rx.api.client.post(
        "/api/v1/prescriptions/dosage-preview",
        json={"route": "oral", "dosage": dosage()},
        headers=rx.patient,
    )
    assert patient.status_code == 403


def test_a_penicillin_allergy_blocks_amoxicillin(rx: Prescribing) -> None:
    draft = rx.draft(
        formulary_id="amoxicillin", strength="500 mg",
        dosage=dosage(frequency={"every_hours": 8}, timing=[]), quantity="21 capsules",
        supply_days=7, repeats=0,
    )  # fmt: skip
    assert draft.status_code == 201
    blocks = [f for f in draft.get_json()["safety"] if f["severity"] == "block"]
    assert [f["code"] for f in blocks] == ["allergy"]
    refused = rx.sign(draft.get_json()["id"])
    assert refused.status_code == 422
    assert "safety" in refused.get_json()["errors"]
    after = rx.api.client.get(
        f"/api/v1/prescriptions/{draft.get_json()['id']}", headers=rx.prescriber
    )
    assert after.get_json()["status"] == "draft"


def test_warnings_are_signed_only_with_a_reason_which_is_recorded_and_audited(
    app: Flask, rx: Prescribing
) -> None:
    draft = rx.draft(strength="50 mg").get_json()  # 1 capsule a day: 50 mg
    warnings = [f for f in draft["safety"] if f["severity"] == "warning"]
    assert [f["code"] for f in warnings] == ["dose_below_usual"]
    refused = rx.sign(draft["id"])
    assert refused.status_code == 422
    assert "overrides" in refused.get_json()["errors"]
    reasons = [{"key": f["key"], "reason": "Discussed risks; patient agrees."} for f in warnings]
    signed = rx.sign(draft["id"], reasons)
    assert signed.status_code == 200, signed.get_json()
    recorded = [f for f in signed.get_json()["safety"] if f["severity"] == "warning"]
    assert all(f["overridden"] and f["reason"] for f in recorded)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "prescription.sign")
        )
        assert event is not None
        assert sorted(event.details["overridden"]) == sorted(f["key"] for f in warnings)


def test_a_pharmacy_sees_only_what_is_addressed_to_it(api: ApiClient, rx: Prescribing) -> None:
    issued = rx.issued()
    _, other = pharmacy_with_pharmacist(api, "Other Pharmacy")
    assert api.client.get("/api/v1/pharmacy/prescriptions", headers=other).get_json() == []
    hidden = api.client.get(f"/api/v1/prescriptions/{issued['id']}", headers=other)
    assert hidden.status_code == 404
    assert (
        api.client.post(
            f"/api/v1/pharmacy/prescriptions/{issued['id']}/accept", headers=other
        ).status_code
        == 404
    )


def test_a_rejected_prescription_returns_to_issued_and_can_be_sent_elsewhere(
    api: ApiClient, rx: Prescribing
) -> None:
    issued = rx.issued()
    rejected = rx.pharmacy_post(issued["id"], "reject", reason="Out of stock for two weeks.")
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "issued"
    assert rejected.get_json()["pharmacy"] is None
    assert api.client.get("/api/v1/pharmacy/prescriptions", headers=rx.pharmacist).get_json() == []
    other_id, other = pharmacy_with_pharmacist(api, "Other Pharmacy")
    moved = api.client.put(
        f"/api/v1/prescriptions/{issued['id']}/pharmacy",
        json={"pharmacy_id": other_id},
        headers=rx.prescriber,
    )
    assert moved.get_json()["pharmacy"]["id"] == other_id
    history = [e["action"] for e in moved.get_json()["history"]]
    assert history == ["issued", "rejected"]
    assert moved.get_json()["history"][1]["reason"] == "Out of stock for two weeks."
    assert (
        api.client.post(
            f"/api/v1/pharmacy/prescriptions/{issued['id']}/accept", headers=other
        ).status_code
        == 200
    )


def test_the_prescriber_cancels_only_before_a_pharmacy_accepts(rx: Prescribing) -> None:
    first, second = rx.issued(), rx.issued()
    url = "/api/v1/prescriptions/{}/cancel"
    cancelled = rx.api.client.post(
        url.format(first["id"]), json={"reason": "Wrong strength"}, headers=rx.prescriber
    )
    assert cancelled.get_json()["status"] == "cancelled"
    rx.pharmacy_post(second["id"], "accept")
    late = rx.api.client.post(
        url.format(second["id"]), json={"reason": "Changed my mind"}, headers=rx.prescriber
    )
    assert late.status_code == 409
    assert rx.pharmacy_post(first["id"], "accept").status_code == 409


def test_an_expired_prescription_cannot_be_accepted(app: Flask, rx: Prescribing) -> None:
    issued = rx.issued()
    with app.app_context():
        db.session.execute(
            update(Prescription)
            .where(Prescription.public_id == issued["id"])
            .values(valid_until=(utcnow() - timedelta(days=1)).date())
        )
        db.session.commit()
    refused = rx.pharmacy_post(issued["id"], "accept")
    assert refused.status_code == 409
    assert "expired" in refused.get_json()["detail"]
    shown = rx.api.client.get(f"/api/v1/prescriptions/{issued['id']}", headers=rx.patient)
    assert shown.get_json()["status"] == "expired"


def test_anyone_with_the_number_and_access_code_can_verify_it(rx: Prescribing) -> None:
    issued = rx.issued()
    with rx.api.client.application.app_context():
        document = db.session.scalar(
            select(Prescription.document).where(Prescription.public_id == issued["id"])
        )
    assert document is not None
    code = document["access_code"]
    assert document["verification_url"].endswith(f"/verify/{issued['number']}?code={code}")
    checked = rx.api.client.get(
        "/api/v1/prescriptions/verify", query_string={"number": issued["number"], "code": code}
    )
    assert checked.status_code == 200
    assert checked.get_json()["status"] == "issued"
    assert checked.get_json()["dispensed"] == {"count": 0, "of": 2}
    assert "patient" not in checked.get_json()
    assert "medicine" not in checked.get_json() and "prescriber" not in checked.get_json()
    to_pharmacist = rx.api.client.get(
        "/api/v1/prescriptions/verify",
        query_string={"number": issued["number"], "code": code},
        headers=rx.pharmacist,
    ).get_json()
    assert to_pharmacist["medicine"] == "Doxycycline" and to_pharmacist["strength"] == "100 mg"
    other_code = code[:-1] + ("B" if code.endswith("A") else "A")
    for number, wrong in ((issued["number"], other_code), ("RX-00000-00000-00", code)):
        refused = rx.api.client.get(
            "/api/v1/prescriptions/verify", query_string={"number": number, "code": wrong}
        )
        assert refused.status_code == 404


def test_the_fhir_document_is_signed_with_a_published_key(rx: Prescribing) -> None:
    issued = rx.issued()
    bundle = rx.api.client.get(issued["links"]["fhir"], headers=rx.pharmacist)
    assert bundle.status_code == 200
    assert bundle.mimetype == "application/fhir+json"
    document = bundle.get_json()
    assert document["entry"][0]["resource"]["resourceType"] == "Composition"
    dosage = document["entry"][1]["resource"]["dosageInstruction"][0]
    assert dosage["text"] == DOXYCYCLINE_TEXT
    assert dosage["timing"]["repeat"] == {
        "frequency": 1, "period": 1, "periodUnit": "d", "when": ["MORN"],
        "boundsDuration": {"value": 12, "unit": "weeks", "system": "http://unitsofmeasure.org",
                           "code": "wk"},
    }  # fmt: skip
    assert dosage["doseAndRate"] == [{"doseQuantity": {"value": 1, "unit": "capsule"}}]
    jwks = rx.api.client.get("/api/v1/prescriptions/jwks.json").get_json()
    assert verify_bundle(document, jwks)
    document["entry"][1]["resource"]["dispenseRequest"]["numberOfRepeatsAllowed"] = 9
    assert not verify_bundle(document, jwks)


def test_the_pdf_is_rendered_by_a_job_and_signed_by_the_clinic(app: Flask, rx: Prescribing) -> None:
    issued = rx.issued()
    early = rx.api.client.get(issued["links"]["pdf"], headers=rx.patient)
    assert early.status_code == 409
    render_pdfs(rx.api)
    pdf = rx.api.client.get(issued["links"]["pdf"], headers=rx.patient)
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    settings = app.extensions["casebox.settings"]
    root = ensure_development_pki(settings.data_dir / "pki").root
    assert root is not None
    verdict = verify_pdf_signature(pdf.data, [root])
    assert verdict.genuine, verdict.problem
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(BytesIO(pdf.data)).pages
    )
    assert f"Dose instructions: {DOXYCYCLINE_TEXT}" in text


def test_drafts_are_the_prescriber_s_own(api: ApiClient, rx: Prescribing) -> None:
    draft = rx.draft().get_json()
    assert (
        api.client.get(f"/api/v1/prescriptions/{draft['id']}", headers=rx.patient).status_code
        == 404
    )
    listed = api.client.get(f"/api/v1/cases/{rx.case_id}/prescriptions", headers=rx.patient)
    assert listed.get_json() == []
    colleague, _, _ = licensed_specialist(api)
    assert api.client.post(
        f"/api/v1/prescriptions/{draft['id']}/sign",
        json={"totp_code": "123456"},
        headers=colleague,
    ).status_code in (403, 404, 409)
    stranger = api.auth(api.patient())
    assert (
        api.client.get(f"/api/v1/prescriptions/{draft['id']}", headers=stranger).status_code == 404
    )
    assert (
        api.client.delete(f"/api/v1/prescriptions/{draft['id']}", headers=rx.prescriber).status_code
        == 204
    )


def test_prescribing_needs_a_licence_and_the_claim(api: ApiClient, rx: Prescribing) -> None:
    unlicensed = api.auth(api.staff())
    refused = api.client.post(
        f"/api/v1/cases/{rx.case_id}/prescriptions", json={}, headers=unlicensed
    )
    assert refused.status_code == 422  # the body is checked first
    unlicensed_draft = api.client.post(
        f"/api/v1/cases/{rx.case_id}/prescriptions", json=DOXYCYCLINE, headers=unlicensed
    )
    assert unlicensed_draft.status_code == 403
    other, _, _ = licensed_specialist(api)
    unclaimed = api.client.post(
        f"/api/v1/cases/{rx.case_id}/prescriptions", json=DOXYCYCLINE, headers=other
    )
    assert unclaimed.status_code == 409  # a colleague holds the case


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"formulary_id": "unobtainium"}, "formulary_id"),
        ({"strength": "5000 mg"}, "strength"),
        ({"form": "cream", "route": "topical"}, "form"),
        ({"supply_days": 0}, "supply_days"),
        ({"dosage": dosage(amount={"value": -1, "unit": "capsule"})}, "dosage"),
        ({"dosage": dosage(amount={"value": 1.5, "unit": "capsule"})}, "dosage"),
        ({"dosage": dosage(amount={"value": 1, "unit": "spoonful"})}, "dosage"),
        ({"dosage": dosage(amount={"unquantified": "thin_layer"})}, "dosage"),  # oral
        ({"dosage": dosage(frequency={"times": 0, "per": "day"})}, "dosage"),
        ({"dosage": dosage(frequency={"times": 2})}, "dosage"),
        ({"dosage": dosage(frequency={"times": 2, "per": "day", "every_hours": 8})}, "dosage"),
        ({"dosage": dosage(frequency={"as_needed": True})}, "dosage"),
        ({"dosage": dosage(duration={"value": 0, "unit": "week"})}, "dosage"),
        ({"dosage": dosage(duration={"value": 3, "unit": "fortnight"})}, "dosage"),
        ({"dosage": dosage(timing=["morning", "evening"])}, "dosage"),  # once a day
        ({"dosage": dosage(timing=["with_food", "empty_stomach"])}, "dosage"),
        ({"dosage": dosage(note="x" * 201)}, "dosage"),
        ({"dosage": None}, "dosage"),
        ({"dose": {"amount": 100, "unit": "mg", "per": "day"}}, "dose"),  # the old shape
        ({"repeats": 99}, "repeats"),
    ],
)
def test_a_malformed_draft_is_refused_naming_the_field_and_nothing_is_stored(
    app: Flask, rx: Prescribing, changes: dict[str, Any], field: str
) -> None:
    refused = rx.draft(**changes)
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert field in refused.get_json()["errors"]
    with app.app_context():
        assert db.session.scalars(select(Prescription)).all() == []


def test_every_prescribing_step_is_audited(app: Flask, rx: Prescribing) -> None:
    issued = rx.issued(repeats=0)
    rx.pharmacy_post(issued["id"], "accept")
    rx.pharmacy_post(issued["id"], "dispense", dispense_number=1)
    rx.api.client.get(issued["links"]["fhir"], headers=rx.patient)
    actions = audit_actions(app, "prescription.")
    for expected in (
        "prescription.draft",
        "prescription.sign",
        "prescription.accept",
        "prescription.dispense",
        "prescription.fhir",
    ):
        assert expected in actions


def test_the_issued_prescription_is_part_of_the_patient_s_response(rx: Prescribing) -> None:
    issued = rx.issued()
    rx.draft()  # a draft the prescriber did not sign is not shown
    assessment = rx.api.client.post(
        f"/api/v1/cases/{rx.case_id}/assessment",
        json={
            "diagnosis": {"text": "Rosacea"},
            "certainty": "high",
            "management": "treat",
            "patient_message": "Take the capsules as written; your pharmacy has them.",
            "ai_agreement": "agree",
        },
        headers=rx.prescriber,
    )
    assert assessment.status_code == 201, assessment.get_json()
    case = rx.api.client.get(f"/api/v1/cases/{rx.case_id}", headers=rx.patient).get_json()
    shown = case["response"]["prescriptions"]
    assert [(p["number"], p["status"]) for p in shown] == [(issued["number"], "issued")]
    assert shown[0]["pharmacy"]["id"] == rx.pharmacy_id


def test_a_pdf_job_lost_from_redis_is_made_again_by_the_sweeper(
    app: Flask, rx: Prescribing
) -> None:
    issued = rx.issued()
    with app.app_context():
        queue = default_queue(services.redis_connection())
        relay_pending(queue)
        queue.connection.flushdb()  # Redis restarted without its data: the PDF job is gone
    settings = app.extensions["casebox.settings"]
    app.extensions["casebox.settings"] = settings.replace(stuck_after_seconds=0)
    try:
        with app.app_context():
            assert sweep_stuck_work(queue) == 1
            assert sweep_stuck_work(queue) == 0  # already queued: not twice
            PipelineWorker([queue], connection=queue.connection, app=app).work(burst=True)
            assert sweep_stuck_work(queue) == 0  # rendered: nothing left to do
    finally:
        app.extensions["casebox.settings"] = settings
    pdf = rx.api.client.get(issued["links"]["pdf"], headers=rx.patient)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_patient_and_the_prescriber_hear_of_each_status_change(rx: Prescribing) -> None:
    issued = rx.issued()

    def kinds(headers: dict[str, str]) -> list[str]:
        listed = rx.api.client.get("/api/v1/me/notifications", headers=headers).get_json()
        return [item["kind"] for item in listed["items"]]

    assert kinds(rx.patient) == ["prescription.issued"]
    assert kinds(rx.prescriber) == []
    rx.pharmacy_post(issued["id"], "accept")
    rx.pharmacy_post(issued["id"], "dispense", dispense_number=1)
    assert kinds(rx.patient).count("prescription.updated") == 2
    assert kinds(rx.prescriber) == ["prescription.updated"] * 2
    assert kinds(rx.pharmacist) == []  # the pharmacy did it: nobody tells it
