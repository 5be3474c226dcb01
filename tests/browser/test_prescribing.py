"""A specialist prescribes from the case page: sets up an authenticator, writes a
prescription from the formulary, sees its safety review, signs it with a code."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pyotp
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import update

from casebox.accounts.models import User
from casebox.database import db
from prescriptions.directory import create_pharmacy
from tests.api.review_support import routed_case
from tests.browser.pages import (
    StaffAccount,
    expect_announcement,
    record_requests,
    screenshot,
    sign_in,
    wait_until_ready,
)
from tests.support import ApiClient
from workers.jobs import render_prescription_pdf

MakePrescriber = Callable[[str], StaffAccount]


def _pharmacy(api: ApiClient, name: str, address: str) -> str:
    with api.client.application.app_context():
        pharmacy = create_pharmacy(name, address)
        db.session.commit()
        return pharmacy.public_id


def _case_of_patient_nominating(api: ApiClient, pharmacy_id: str) -> str:
    """A routed case of a patient who nominated a pharmacy (demo answers: penicillin allergy)."""
    token = api.patient()
    nominated = api.client.put(
        "/api/v1/me/pharmacy", json={"pharmacy_id": pharmacy_id}, headers=api.auth(token)
    )
    assert nominated.status_code == 200, nominated.get_json()
    return routed_case(api, token)


def _forget_last_code(api: ApiClient, email: str) -> None:
    """As if half a minute had passed: the one-code-per-time-step rule allows a new code."""
    with api.client.application.app_context():
        db.session.execute(update(User).where(User.email == email).values(totp_last_step=None))
        db.session.commit()


def _wrong_code(secret: str) -> str:
    """Six digits the authenticator does not show in the accepted drift window."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(time.time() + drift) for drift in (-60, -30, 0, 30, 60)}
    return next(code for code in ("123456", "654321", "111111") if code not in near)


def _render_pdf(api: ApiClient, prescription_id: str) -> None:
    """Run the PDF job as a worker would, in a thread of its own: Playwright's sync API
    keeps an event loop running in this one, and PDF signing (pyHanko) starts its own."""
    application = api.client.application

    def render() -> None:
        with application.app_context():
            render_prescription_pdf(prescription_id)

    thread = threading.Thread(target=render)
    thread.start()
    thread.join()


def _serious_violations(page: Page) -> list[dict[str, Any]]:
    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _open_case(page: Page, case_id: str) -> None:
    page.goto(f"/review/cases/{case_id}")
    wait_until_ready(page)
    page.locator("#prescribing[data-ready=true]").wait_for()
    page.locator("#prescriptions-heading").scroll_into_view_if_needed()


def _pick_medicine(page: Page, typed: str, name: str) -> None:
    combobox = page.get_by_role("combobox", name="Medicine")
    combobox.fill(typed)
    page.get_by_role("option", name=re.compile(f"^{name}")).click()
    expect(page.locator("#rx-medicine-hint")).to_contain_text(f"Picked: {name}")


def _enrol_through_api(api: ApiClient, account: StaffAccount) -> None:
    headers = api.auth(api.login(account.email, account.password))
    secret = api.client.post("/api/v1/me/mfa/totp", headers=headers).get_json()["secret"]
    confirmed = api.client.post(
        "/api/v1/me/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.get_json()


def test_specialist_sets_up_an_authenticator_then_signs_a_doxycycline_prescription(
    page: Page, live_api: ApiClient, make_prescriber: MakePrescriber
) -> None:
    doctor = make_prescriber("Dr Ada Lovelace")
    nominated = _pharmacy(live_api, "Main Street Pharmacy", "10 Main Street")
    _pharmacy(live_api, "Harbour Pharmacy", "2 Quay Road")
    case_id = _case_of_patient_nominating(live_api, nominated)
    sign_in(page, doctor)
    _open_case(page, case_id)
    expect(page.locator("#rx-list-empty")).to_be_visible()

    # No authenticator yet: the section offers to set one up.
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    page.get_by_role("button", name="Set up an authenticator app").click()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    secret = page.locator("#rx-mfa-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}=*", secret)
    assert _serious_violations(page) == []
    code_field = page.get_by_label("Enter the 6-digit code the app shows")
    code_field.fill("12")
    page.get_by_role("button", name="Confirm the app").click()
    expect(page.locator("#rx-mfa-code-error")).to_contain_text("6-digit code")
    code_field.fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm the app").click()
    expect_announcement(page, "Authenticator app set up")
    expect(page.locator("#rx-mfa")).to_be_hidden()

    # What is missing is said beside each field, and the summary takes focus.
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#rx-errors")).to_be_focused()
    expect(page.locator("#rx-formulary_id-error")).to_contain_text("pick a medicine")
    expect(page.get_by_role("combobox", name="Medicine")).to_have_attribute("aria-invalid", "true")

    # Write it: medicine from the formulary, its form and strength, a structured dose.
    _pick_medicine(page, "doxy", "Doxycycline")
    page.get_by_label("Form and route").select_option(label="Capsule (oral)")
    page.get_by_label("Strength").select_option("50 mg")
    expect(page.get_by_label("Unit", exact=True)).to_have_value("capsule")  # from the form
    page.get_by_label("Amount each time").fill("1")
    page.get_by_label("How often").select_option(label="once a day")
    page.get_by_label("Morning").check()
    page.get_by_label("For how long").fill("8")
    page.get_by_label("Days, weeks or months").select_option(label="weeks")
    page.get_by_label("Anything else for the patient (optional)").fill(
        "Swallow with a full glass of water"
    )
    # The server writes the patient's text from the choices, shown as they are made.
    patient_text = (
        "Take 1 capsule once a day, in the morning, for 8 weeks. "
        "Swallow with a full glass of water."
    )
    expect(page.locator("#rx-dosage-text")).to_have_text(patient_text)
    expect(page.locator("#rx-dose-total")).to_have_text("(in all: 50 mg per day)")
    page.get_by_label("How often").select_option(label="twice a day")
    expect(page.locator("#rx-dosage-text")).to_contain_text("Take 1 capsule twice a day,")
    expect(page.locator("#rx-dose-total")).to_have_text("(in all: 100 mg per day)")
    page.get_by_label("Evening").check()
    expect(page.locator("#rx-dosage-text")).to_contain_text(
        "twice a day, in the morning and in the evening, for 8 weeks."
    )
    page.get_by_label("How often").select_option(label="once a day")
    expect(page.locator("#rx-dosage-text")).to_contain_text("More times of day than times a day")
    page.get_by_label("Evening").uncheck()
    expect(page.locator("#rx-dosage-text")).to_have_text(patient_text)
    page.get_by_label("Quantity").fill("56 capsules")
    page.get_by_label("Supply (days)").fill("56")
    page.get_by_label("Repeats").fill("1")
    expect(page.locator("#rx-tests")).to_be_hidden()  # no pregnancy prevention programme
    page.get_by_role("button", name="Check").click()

    # The safety review: a warning that needs a reason; the patient's pharmacy by default.
    review = page.locator("#rx-review")
    expect(review.get_by_role("heading", name="Safety review")).to_be_focused()
    expect(review).to_contain_text(f"Doxycycline 50 mg, capsule (oral): {patient_text}")
    warning = review.locator(".rx-warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("Warning:")
    expect(review.locator(".rx-block")).to_have_count(0)
    expect(page.get_by_label("Send to pharmacy")).to_have_value(nominated)
    expect(page.locator("#rx-pharmacy-hint")).to_have_text("The patient's nominated pharmacy.")
    expect(page.locator("#rx-list")).to_contain_text("Draft, not signed")
    expect_announcement(page, "1 warning")

    sign = review.get_by_role("button", name="Sign…")
    sign.click()  # without a reason: refused in the page
    expect(page.locator("#rx-review-errors")).to_be_focused()
    expect(review.locator(".rx-warning .field-error")).to_contain_text("Give your reason")
    review.get_by_label("Your reason to go ahead (required)").fill(
        "Low dose chosen on purpose: sub-antimicrobial dosing for rosacea."
    )
    expect(page.locator("#rx-review-errors")).to_be_hidden()
    screenshot(page, "prescribing", page.locator("section[aria-labelledby=prescriptions-heading]"))

    signs = record_requests(page, lambda request: request.url.endswith("/sign"))
    sign.click()
    dialog = page.get_by_role("dialog", name="Sign the prescription")
    expect(dialog).to_be_visible()
    code = dialog.get_by_label("Authenticator code")
    expect(code).to_be_focused()
    code.fill(_wrong_code(secret))
    dialog.get_by_role("button", name="Sign and send").click()
    expect(dialog.locator("#rx-sign-code-error")).not_to_be_empty()
    expect(dialog).to_be_visible()
    _forget_last_code(live_api, doctor.email)
    code.fill(pyotp.TOTP(secret).now())
    dialog.get_by_role("button", name="Sign and send").click()
    expect(dialog).to_be_hidden()
    assert len(signs) == 2

    # Issued, numbered, addressed, none dispensed yet; the form is ready for another.
    token = live_api.login(doctor.email, doctor.password)
    [stored] = live_api.client.get(
        f"/api/v1/cases/{case_id}/prescriptions", headers=live_api.auth(token)
    ).get_json()
    assert stored["status"] == "issued" and stored["number"]
    assert stored["instructions"] == patient_text
    assert stored["dosage"] == {
        "amount": {"value": 1, "unit": "capsule"},
        "frequency": {"times": 1, "per": "day"},
        "duration": {"value": 8, "unit": "week"},
        "timing": ["morning"],
        "note": "Swallow with a full glass of water",
    }
    assert stored["dose"] == {"amount": 50, "unit": "mg", "per": "day"}
    assert [f["reason"] for f in stored["safety"]] == [
        "Low dose chosen on purpose: sub-antimicrobial dosing for rosacea."
    ]
    item = page.locator(f'.rx-item[data-prescription-id="{stored["id"]}"]')
    expect(item).to_contain_text("Issued")
    expect(item).to_contain_text(f"No. {stored['number']}")
    expect(item).to_contain_text("Main Street Pharmacy")
    expect(item).to_contain_text("0 of 2")
    expect(item).to_contain_text(patient_text)
    expect(item.locator(".rx-title")).to_be_focused()
    expect_announcement(page, f"Prescription {stored['number']} issued and sent to Main Street")
    expect(review).to_be_hidden()
    expect(page.get_by_role("combobox", name="Medicine")).to_have_value("")

    # The PDF: not made yet (no worker ran), then opened once the job has run.
    pdf = item.get_by_role("link", name=f"Signed PDF of {stored['number']}")
    pdf.click()
    expect(item).to_contain_text("still being prepared")
    _render_pdf(live_api, stored["id"])
    with page.expect_popup() as popup:
        pdf.click()
    assert popup.value.url.startswith("blob:")

    # Cancelled with a reason before any pharmacy accepted it.
    item.get_by_role("button", name=re.compile("^Cancel")).click()
    cancel = page.get_by_role("dialog", name="Cancel this prescription")
    cancel.get_by_label("Reason for cancelling").fill("Patient prefers a topical treatment.")
    cancel.get_by_role("button", name="Cancel prescription").click()
    expect(item).to_contain_text("Cancelled")
    expect_announcement(page, f"Prescription {stored['number']} cancelled")


def test_amoxicillin_for_a_penicillin_allergy_is_refused_and_cannot_be_signed(
    page: Page, live_api: ApiClient, make_prescriber: MakePrescriber
) -> None:
    doctor = make_prescriber("Dr Grace Hopper")
    _enrol_through_api(live_api, doctor)
    case_id = _case_of_patient_nominating(
        live_api, _pharmacy(live_api, "Main Street Pharmacy", "10 Main Street")
    )
    sign_in(page, doctor)
    _open_case(page, case_id)
    expect(page.locator("#rx-mfa")).to_be_hidden()
    signs = record_requests(page, lambda request: request.url.endswith("/sign"))

    _pick_medicine(page, "amox", "Amoxicillin")
    page.get_by_label("Form and route").select_option(label="Capsule (oral)")
    page.get_by_label("Strength").select_option("500 mg")
    page.get_by_label("Amount each time").fill("1")
    page.get_by_label("How often").select_option(label="every 8 hours")
    page.get_by_label("For how long").fill("7")
    page.get_by_label("Days, weeks or months").select_option(label="days")
    expect(page.locator("#rx-dosage-text")).to_have_text(
        "Take 1 capsule every 8 hours, for 7 days."
    )
    expect(page.locator("#rx-dose-total")).to_have_text("(in all: 1500 mg per day)")
    page.get_by_label("Quantity").fill("21 capsules")
    page.get_by_label("Supply (days)").fill("7")
    page.get_by_role("button", name="Check").click()

    review = page.locator("#rx-review")
    block = review.locator(".rx-block")
    expect(block).to_have_count(1)
    expect(block).to_contain_text("Refused:")
    expect(block).to_contain_text("allergy to penicillins")
    expect(review.get_by_text("cannot be signed")).to_be_visible()
    expect(review.get_by_role("button", name="Sign…")).to_be_disabled()
    expect(page.locator("#alerter")).to_contain_text("refused")
    assert _serious_violations(page) == []
    assert signs == []

    # Discarded, the draft is gone from the case and the form can be used again.
    review.get_by_role("button", name="Discard draft").click()
    expect(review).to_be_hidden()
    expect(page.locator("#rx-list-empty")).to_be_visible()
    expect_announcement(page, "Draft of Amoxicillin discarded")
    expect(page.get_by_role("combobox", name="Medicine")).to_be_enabled()


def test_the_server_s_field_errors_are_shown_beside_their_fields(
    page: Page, live_api: ApiClient, make_prescriber: MakePrescriber
) -> None:
    doctor = make_prescriber("Dr Alan Turing")
    case_id = _case_of_patient_nominating(
        live_api, _pharmacy(live_api, "Main Street Pharmacy", "10 Main Street")
    )
    sign_in(page, doctor)
    _open_case(page, case_id)
    _pick_medicine(page, "doxy", "Doxycycline")
    page.get_by_label("Amount each time").fill("1")
    page.get_by_label("For how long").fill("12")
    page.get_by_label("Quantity").fill("400 capsules")
    page.get_by_label("Supply (days)").fill("400")  # the API allows at most 365
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#rx-errors")).to_be_focused()
    expect(page.locator("#rx-supply_days-error")).to_contain_text("365")
    expect(page.get_by_label("Supply (days)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rx-review")).to_be_hidden()
    page.locator("#rx-errors a").click()
    expect(page.get_by_label("Supply (days)")).to_be_focused()
