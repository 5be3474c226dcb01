"""Anyone holding a prescription's number and access code learns whether it is genuine
(its stored signature verifies), its status and its expiry, and nothing about the patient."""

from __future__ import annotations

import copy
import io
from datetime import date
from typing import Any

import pypdf
import pytest
import zxingcpp
from flask import Flask
from sqlalchemy import select, update

from casebox.database import db
from prescriptions.models import Prescription
from tests.prescriptions.prescribing_support import Prescribing, prescribing, render_pdfs
from tests.support import ApiClient

VERIFY = "/api/v1/prescriptions/verify"


@pytest.fixture
def rx(api: ApiClient) -> Prescribing:
    return prescribing(api)


def _stored(rx: Prescribing, prescription_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prescription's stored document and signed FHIR Bundle."""
    with rx.api.client.application.app_context():
        row = db.session.execute(
            select(Prescription.document, Prescription.fhir_bundle).where(
                Prescription.public_id == prescription_id
            )
        ).one()
    return dict(row.document), dict(row.fhir_bundle)


def _verify(rx: Prescribing, number: str, code: str) -> dict[str, Any]:
    checked = rx.api.client.get(VERIFY, query_string={"number": number, "code": code})
    assert checked.status_code == 200, checked.get_json()
    return dict(checked.get_json())


def test_a_signed_prescription_verifies_with_its_status_and_expiry(rx: Prescribing) -> None:
    issued = rx.issued()
    document, _ = _stored(rx, issued["id"])
    checked = _verify(rx, issued["number"], document["access_code"])
    assert checked["signature_valid"] is True
    assert checked["status"] == "issued"
    assert date.fromisoformat(checked["valid_until"]) > date.fromisoformat(
        checked["issued_at"][:10]
    )
    assert checked["valid_until"] == issued["valid_until"]
    assert "patient" not in checked and "access_code" not in checked


def test_a_tampered_stored_document_does_not_verify(rx: Prescribing) -> None:
    issued = rx.issued()
    document, bundle = _stored(rx, issued["id"])
    changed = copy.deepcopy(bundle)
    [request] = [
        entry["resource"]
        for entry in changed["entry"]
        if entry["resource"]["resourceType"] == "MedicationRequest"
    ]
    request["dispenseRequest"]["numberOfRepeatsAllowed"] = 9  # more supplies than signed
    with rx.api.client.application.app_context():
        db.session.execute(
            update(Prescription)
            .where(Prescription.public_id == issued["id"])
            .values(fhir_bundle=changed)
        )
        db.session.commit()

    checked = _verify(rx, issued["number"], document["access_code"])
    assert checked["signature_valid"] is False
    assert checked["status"] == "issued"  # the status is still told, beside the warning
    page = rx.api.client.get(
        "/verify", query_string={"number": issued["number"], "code": document["access_code"]}
    )
    html = page.get_data(as_text=True)
    assert "Do not dispense: the signature does not verify" in html
    assert "Valid: signed by this clinic" not in html


def test_the_qr_code_of_the_issued_pdf_opens_its_verification(app: Flask, rx: Prescribing) -> None:
    issued = rx.issued()
    render_pdfs(rx.api)
    pdf = rx.api.client.get(issued["links"]["pdf"], headers=rx.patient)
    assert pdf.status_code == 200, pdf.get_json()
    [picture] = pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].images  # the QR code only
    assert picture.image is not None
    [barcode] = zxingcpp.read_barcodes(picture.image.convert("L"))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode

    document, _ = _stored(rx, issued["id"])
    public_url = app.extensions["casebox.settings"].public_url
    code = document["access_code"]
    assert barcode.text == f"{public_url}/verify/{issued['number']}?code={code}"
    page = rx.api.client.get(barcode.text.removeprefix(public_url))  # as a phone opens it
    assert page.status_code == 200
    assert "Valid: signed by this clinic" in page.get_data(as_text=True)
