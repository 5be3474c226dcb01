"""A pharmacist works the inbox in a real browser; anyone verifies a prescription's code."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select

from casebox.database import db
from prescriptions.models import Prescription
from tests.browser.pages import (
    StaffAccount,
    expect_announcement,
    record_requests,
    screenshot,
    wait_until_ready,
)
from tests.prescriptions.prescribing_support import (
    Prescribing,
    pharmacy_with_pharmacist,
    prescribing,
)
from tests.support import STAFF_PASSWORD, ApiClient
from workers.jobs import render_prescription_pdf


@pytest.fixture
def rx(live_api: ApiClient) -> Prescribing:
    """A prescriber, the patient's nominated pharmacy with its pharmacist, a claimed case."""
    return prescribing(live_api)


def _render_pdf(api: ApiClient, prescription_id: str) -> None:
    """Run the PDF job's function in a thread: pyHanko signs with asyncio.run(), which
    cannot run inside the event loop Playwright's sync API keeps on this thread (and an
    RQ worker cannot run outside the main thread)."""
    application = api.client.application
    stored: list[str | None] = []

    def render() -> None:
        with application.app_context():
            stored.append(render_prescription_pdf(prescription_id))

    worker = threading.Thread(target=render)
    worker.start()
    worker.join()
    assert stored and stored[0], "the PDF was not rendered"


def _account(api: ApiClient, headers: dict[str, str]) -> StaffAccount:
    me = api.client.get("/api/v1/me", headers=headers).get_json()
    return StaffAccount(me["email"], STAFF_PASSWORD, me["name"])


def _sign_in_pharmacist(page: Page, account: StaffAccount) -> None:
    """Sign in through the login form; pharmacists land on their inbox."""
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/pharmacy/$"))
    wait_until_ready(page)


def _access_code(api: ApiClient, prescription_id: str) -> str:
    with api.client.application.app_context():
        document = db.session.scalar(
            select(Prescription.document).where(Prescription.public_id == prescription_id)
        )
    assert document is not None
    return str(document["access_code"])


def _as_prescriber(rx: Prescribing, prescription_id: str) -> dict[str, Any]:
    shown = rx.api.client.get(f"/api/v1/prescriptions/{prescription_id}", headers=rx.prescriber)
    return dict(shown.get_json())


def _open(page: Page, number: str) -> None:
    page.get_by_role("button", name=number).click()
    expect(page.get_by_role("heading", name=f"Prescription {number}")).to_be_focused()


def test_pharmacist_accepts_and_dispenses_a_prescription_and_its_repeat(
    page: Page, live_api: ApiClient, rx: Prescribing
) -> None:
    issued = rx.issued()
    _render_pdf(live_api, issued["id"])
    _sign_in_pharmacist(page, _account(live_api, rx.pharmacist))

    # The inbox: what is prescribed, by whom, until when, and how much is dispensed.
    items = page.locator("#prescriptions .rx-item")
    expect(items).to_have_count(1)
    row = items.first
    for text in (
        issued["number"], "Doxycycline 100 mg capsule", "84 capsules", "Take 1 capsule once a day",
        "Prescribed by Dr Pat Prescriber", "valid until", "Dispensed 0 of 2",
    ):  # fmt: skip
        expect(row).to_contain_text(text)
    expect(page.locator("#list-status")).to_have_text("1 prescription.")

    _open(page, issued["number"])
    detail = page.locator("#detail")
    expect(detail.locator("#detail-history")).to_contain_text("Issued by Dr Pat Prescriber")
    screenshot(page, "pharmacy-inbox")

    # The signed PDF and the FHIR document open with the pharmacist's session.
    pdf = detail.get_by_role("link", name="Signed PDF")
    assert pdf.get_attribute("href") == issued["links"]["pdf"]
    assert page.request.get(issued["links"]["pdf"]).headers["content-type"] == "application/pdf"
    fhir = page.request.get(
        detail.get_by_role("link", name="FHIR document").get_attribute("href") or ""
    )
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    assert fhir.json()["entry"][0]["resource"]["resourceType"] == "Composition"

    detail.get_by_role("button", name="Accept").click()
    expect_announcement(page, "accepted. Dispense 1 of 2 is next.")
    first = detail.get_by_role("button", name="Dispense 1 of 2")
    expect(first).to_be_focused()

    # Filtering by status asks the API for that status only.
    page.get_by_label("Status").select_option("issued")
    expect(page.locator("#list-status")).to_have_text("No prescriptions issued for your pharmacy.")
    page.get_by_label("Status").select_option("accepted")
    expect(items).to_have_count(1)
    page.get_by_label("Status").select_option("")
    expect(items).to_have_count(1)

    # A double click sends one dispense: the button is disabled while the request runs.
    dispenses = record_requests(page, lambda r: r.url.endswith("/dispense"))
    first.dblclick()
    expect_announcement(page, "Dispense 1 of 2 recorded. Dispense 2 of 2 is next.")
    assert [r.post_data_json for r in dispenses] == [{"dispense_number": 1}]
    expect(row).to_contain_text("Dispensed 1 of 2")

    # From the keyboard: the next dispense has focus, Enter records it.
    expect(detail.get_by_role("button", name="Dispense 2 of 2")).to_be_focused()
    page.keyboard.press("Enter")
    expect_announcement(page, "Dispense 2 of 2 recorded. Fully dispensed.")
    expect(detail).to_contain_text("Nothing to do: the prescription is dispensed.")
    expect(row).to_contain_text("Dispensed 2 of 2")
    history = detail.locator("#detail-history li")
    expect(history).to_have_count(4)
    expect(history.nth(3)).to_contain_text("Dispensed (2) by Pat Pharmacist, Main Street Pharmacy")
    shown = _as_prescriber(rx, issued["id"])
    assert (shown["status"], shown["dispensed"]) == ("dispensed", {"count": 2, "of": 2})

    # A pharmacist of another pharmacy sees none of it, even from the address.
    _, other = pharmacy_with_pharmacist(live_api, "Harbour Pharmacy")
    page.get_by_role("button", name="Sign out").click()
    _sign_in_pharmacist(page, _account(live_api, other))
    expect(page.locator("#pharmacy-name")).to_contain_text("Harbour Pharmacy")
    expect(page.locator("#list-status")).to_have_text("No prescriptions for your pharmacy.")
    expect(items).to_have_count(0)
    page.goto(f"/pharmacy/?open={issued['id']}")
    wait_until_ready(page)
    expect(page.locator("#alerter")).to_contain_text("no longer addressed to your pharmacy")
    expect(page.locator("#detail")).to_be_hidden()


def test_a_dispense_recorded_elsewhere_shows_the_conflict_and_the_next_number(
    page: Page, live_api: ApiClient, rx: Prescribing
) -> None:
    issued = rx.issued()
    assert rx.pharmacy_post(issued["id"], "accept").status_code == 200
    _sign_in_pharmacist(page, _account(live_api, rx.pharmacist))
    _open(page, issued["number"])
    # Another counter of the same pharmacy records the first supply meanwhile.
    assert rx.pharmacy_post(issued["id"], "dispense", dispense_number=1).status_code == 200

    page.get_by_role("button", name="Dispense 1 of 2").click()
    message = "Dispense 1 cannot be recorded: the prescription is accepted with 1 of 2 dispensed."
    expect(page.locator("#detail-error")).to_have_text(message)
    expect(page.locator("#alerter")).to_have_text(message)
    expect(page.get_by_role("button", name="Dispense 2 of 2")).to_be_visible()
    assert _as_prescriber(rx, issued["id"])["dispensed"] == {"count": 1, "of": 2}


def test_a_rejection_needs_a_reason_and_returns_the_prescription_to_issued(
    page: Page, live_api: ApiClient, rx: Prescribing
) -> None:
    issued = rx.issued()
    _sign_in_pharmacist(page, _account(live_api, rx.pharmacist))
    _open(page, issued["number"])
    opener = page.get_by_role("button", name="Reject…")
    opener.click()
    dialog = page.get_by_role("dialog", name="Reject prescription")
    expect(dialog).to_be_visible()
    reason = dialog.get_by_label("Reason (required)")
    expect(reason).to_be_focused()

    dialog.get_by_role("button", name="Reject prescription").click()
    expect(dialog).to_contain_text("Give the reason for the prescriber")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_be_focused()
    assert _as_prescriber(rx, issued["id"])["status"] == "issued"

    # Escape keeps the prescription and gives focus back to the button that opened it.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    page.keyboard.press("Enter")
    expect(reason).to_be_focused()
    page.keyboard.type("Out of stock until next week")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect_announcement(page, f"Prescription {issued['number']} rejected and returned")
    expect(page.locator("#prescriptions .rx-item")).to_have_count(0)
    expect(page.locator("#detail")).to_be_hidden()
    expect(page.get_by_role("heading", name="Prescriptions")).to_be_focused()

    shown = _as_prescriber(rx, issued["id"])
    assert (shown["status"], shown["pharmacy"]) == ("issued", None)
    assert shown["history"][-1]["action"] == "rejected"
    assert shown["history"][-1]["reason"] == "Out of stock until next week"


def test_the_verify_page_shows_the_status_for_the_right_code_only(
    page: Page, live_api: ApiClient, rx: Prescribing
) -> None:
    issued = rx.issued()
    code = _access_code(live_api, issued["id"])
    assert rx.pharmacy_post(issued["id"], "accept").status_code == 200
    assert rx.pharmacy_post(issued["id"], "dispense", dispense_number=1).status_code == 200
    page.set_viewport_size({"width": 420, "height": 900})  # a phone that scanned the QR code

    # The address the QR code carries.
    answer = page.goto(f"/verify/{issued['number']}?code={code}")
    assert answer is not None and answer.status == 200
    verdict = page.get_by_role("region", name="Valid prescription, accepted by a pharmacy")
    expect(verdict).to_contain_text("Valid: signed by this clinic")
    expect(verdict).to_contain_text("1 of 2")
    # A phone that is not signed in learns that it is genuine, its status and expiry only.
    expect(verdict).not_to_contain_text("Doxycycline")
    expect(verdict).not_to_contain_text("Dr Pat Prescriber")
    expect(page.locator("main")).not_to_contain_text("Test Patient")
    screenshot(page, "verify")

    wrong = code[:-1] + ("B" if code.endswith("A") else "A")
    answer = page.goto(f"/verify?number={issued['number']}&code={wrong}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Prescription not found")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Doxycycline")

    # Typed in by hand, with the spaces and lower case a person types.
    page.get_by_label("Prescription number").fill(issued["number"].replace("-", " ").lower())
    page.get_by_label("Access code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Valid prescription, accepted")).to_be_visible()


@pytest.mark.parametrize("where", ["inbox", "verify", "verify-not-found"])
def test_pharmacy_pages_have_no_serious_accessibility_violations(
    page: Page, live_api: ApiClient, rx: Prescribing, where: str
) -> None:
    issued = rx.issued()
    if where == "inbox":
        _sign_in_pharmacist(page, _account(live_api, rx.pharmacist))
        _open(page, issued["number"])
    else:
        code = _access_code(live_api, issued["id"]) if where == "verify" else "wrong"
        page.goto(f"/verify?number={issued['number']}&code={code}")
    results = Axe().run(page)
    serious = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
