"""What the prescription renderer keeps between renders does not leak from one PDF into the next.

The renderer parses its stylesheet and template once, shares one font configuration and
keeps the garbage collector out of each render (``prescriptions.pdf``): successive
prescriptions must still each show their own contents and code, and the process must
be left with its collector as it was, after a refused page too.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
from collections.abc import Iterator

import cv2
import numpy as np
import pypdf
import pytest

from prescriptions.document import (
    MedicationLine,
    Organisation,
    PatientDetails,
    Prescriber,
    PrescriptionDocument,
)
from prescriptions.pdf import PrescriptionRenderError, html_to_pdf, render_prescription_pdf


def prescription(number: str, patient: str, medicine: str, code: str) -> PrescriptionDocument:
    return PrescriptionDocument(
        prescription_id=number,
        access_code=code,
        verification_url=f"https://casebox.example/verify/{number}?code={code}",
        issued_at=dt.datetime(2026, 3, 12, 14, 3, tzinfo=dt.UTC),
        valid_until=dt.date(2026, 4, 11),
        prescriber=Prescriber("u-1", "Dr Ada Lovelace", "CPSO 81234", "CPSO", "https://cpso"),
        patient=PatientDetails("p-1", patient, dt.date(1990, 5, 1), "female"),
        clinic=Organisation("c-1", "Riverside Dermatology", "1 Main St, Toronto"),
        pharmacy=None,
        medication=MedicationLine(
            formulary_id=medicine.lower(),
            name=medicine,
            rxnorm_code=None,
            atc_code=None,
            form="capsule",
            route="oral",
            strength="100 mg",
            instructions="Take 1 capsule once a day for 6 weeks.",
            quantity="42 capsules",
            repeats=0,
            substitution_allowed=True,
        ),
    )


def page_text(pdf: bytes) -> str:
    return " ".join(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())


def qr_content(pdf: bytes) -> str:
    (image,) = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert image.image is not None
    picture = np.array(image.image.convert("L"))
    return str(cv2.QRCodeDetector().detectAndDecode(picture)[0])


@pytest.fixture
def collector_on() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was_enabled:
            gc.disable()


def test_successive_prescriptions_each_show_their_own_contents_and_code(collector_on: None):
    first = prescription("RX-11111-11111-11", "Grace Hopper", "Doxycycline", "a" * 43)
    second = prescription("RX-22222-22222-22", "Alan Turing", "Isotretinoin", "b" * 43)

    pdfs = [render_prescription_pdf(document) for document in (first, second, first)]

    first_text, second_text, again_text = (page_text(pdf) for pdf in pdfs)
    assert "Name: Grace Hopper" in first_text and "Doxycycline" in first_text
    assert "Alan Turing" not in first_text and "Isotretinoin" not in first_text
    assert "Name: Alan Turing" in second_text and "Isotretinoin" in second_text
    assert "Grace Hopper" not in second_text and "Doxycycline" not in second_text
    assert "Prescription RX-22222-22222-22" in second_text
    assert again_text == first_text
    assert qr_content(pdfs[0]) == first.verification_url
    assert qr_content(pdfs[1]) == second.verification_url
    assert gc.isenabled()


def test_a_refused_render_leaves_the_collector_on(collector_on: None):
    with pytest.raises(PrescriptionRenderError):
        html_to_pdf('<p>text</p><img src="file:///etc/passwd">')

    assert gc.isenabled()
    # and the next prescription renders as usual
    text = page_text(render_prescription_pdf(prescription("RX-3", "Ada", "Doxycycline", "c")))
    assert "Name: Ada" in text


def test_a_collector_switched_off_by_the_application_stays_off(collector_on: None):
    gc.disable()

    render_prescription_pdf(prescription("RX-4", "Grace Hopper", "Doxycycline", "d"))

    assert not gc.isenabled()


def test_renders_leave_their_garbage_young(collector_on: None):
    """The box trees are freed young, not promoted: no full collection (~0.1 s) every dozen."""
    document = prescription("RX-5", "Grace Hopper", "Doxycycline", "e")
    render_prescription_pdf(document)  # warm: stylesheet, fonts, template
    gc.collect()
    oldest = len(gc.get_objects(generation=2))

    for _ in range(3):
        render_prescription_pdf(document)

    grown = len(gc.get_objects(generation=2)) - oldest
    assert grown < 2_000, f"{grown} objects promoted to the oldest generation by 3 renders"
