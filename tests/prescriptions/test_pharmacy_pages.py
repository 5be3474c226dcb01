"""Who may open the pharmacy's pages, and what the public verification page says."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from casebox.accounts.models import Role, User
from casebox.accounts.operations import create_user
from casebox.database import db
from prescriptions.models import Prescription
from tests.prescriptions.prescribing_support import Prescribing, prescribing
from tests.support import PASSWORD, STAFF_PASSWORD, ApiClient


@pytest.fixture
def rx(api: ApiClient) -> Prescribing:
    return prescribing(api)


def _sign_in(api: ApiClient, email: str, password: str) -> str:
    """Sign in through the login form; returns where the browser is sent."""
    page = api.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = api.client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302
    return str(response.headers["Location"])


def _account(api: ApiClient, role: Role) -> str:
    email = f"{role}-pages@example.org"
    with api.client.application.app_context():
        create_user(email, STAFF_PASSWORD, name=f"A {role}", role=role)
        db.session.commit()
    return email


def _access_code(api: ApiClient, prescription_id: str) -> str:
    with api.client.application.app_context():
        document = db.session.scalar(
            select(Prescription.document).where(Prescription.public_id == prescription_id)
        )
    assert document is not None
    return str(document["access_code"])


def _pharmacist_email(api: ApiClient, rx: Prescribing) -> str:
    headers = rx.pharmacist
    me = api.client.get("/api/v1/me", headers=headers).get_json()
    return str(me["email"])


def test_anonymous_visitors_are_sent_to_sign_in(api: ApiClient) -> None:
    response = api.client.get("/pharmacy/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/pharmacy/")


@pytest.mark.parametrize("role", [Role.PATIENT, Role.SPECIALIST, Role.ADMIN])
def test_only_pharmacists_open_the_inbox(api: ApiClient, role: Role) -> None:
    _sign_in(api, _account(api, role), STAFF_PASSWORD)
    assert api.client.get("/pharmacy/").status_code == 403


def test_a_pharmacist_lands_on_the_inbox_of_their_pharmacy(api: ApiClient, rx: Prescribing) -> None:
    assert _sign_in(api, _pharmacist_email(api, rx), STAFF_PASSWORD) == "/pharmacy/"
    page = api.client.get("/pharmacy/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Pharmacy inbox</h1>" in html
    assert "Main Street Pharmacy" in html
    assert 'name="csrf-token"' in html
    # The page's module and the workspace modules it imports are served to pharmacists.
    assert api.client.get("/pharmacy/static/inbox.js").status_code == 200
    assert api.client.get("/review/static/review/api.js").status_code == 200


def test_a_pharmacist_without_a_pharmacy_is_told_so(api: ApiClient) -> None:
    _sign_in(api, _account(api, Role.PHARMACIST), STAFF_PASSWORD)
    page = api.client.get("/pharmacy/")
    assert page.status_code == 200
    assert "not attached to a pharmacy" in page.get_data(as_text=True)


def test_a_patient_lands_on_their_cases(api: ApiClient) -> None:
    body = api.register()
    assert _sign_in(api, body["email"], PASSWORD) == "/my/"


def test_the_verify_page_shows_status_without_the_patient(api: ApiClient, rx: Prescribing) -> None:
    issued = rx.issued()
    with api.client.application.app_context():
        document = db.session.scalar(
            select(Prescription.document).where(Prescription.public_id == issued["id"])
        )
    assert document is not None
    # Where a phone goes when it scans the QR code.
    page = api.client.get(document["verification_url"].removeprefix("http://127.0.0.1:5000"))
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Valid prescription, not yet accepted by a pharmacy" in html
    assert "Valid: signed by this clinic" in html
    assert re.search(r"<dt>Dispensed</dt><dd>0 of 2</dd>", html)
    # Genuine, status and expiry only: a visitor who is not signed in learns nothing more.
    assert "Doxycycline" not in html and "Dr Pat Prescriber" not in html
    with api.client.application.app_context():
        pharmacist = db.session.scalar(select(User.email).where(User.role == Role.PHARMACIST))
    _sign_in(api, str(pharmacist), STAFF_PASSWORD)
    html = api.client.get(document["verification_url"].removeprefix("http://127.0.0.1:5000")).text
    assert "Doxycycline" in html and "Dr Pat Prescriber" in html
    with api.client.application.app_context():
        patient = db.session.scalar(
            select(User).join(Prescription, Prescription.patient_id == User.id)
        )
        assert patient is not None
        assert patient.name not in html and patient.email not in html


def test_the_verify_page_follows_the_prescription_to_its_last_dispense(
    api: ApiClient, rx: Prescribing
) -> None:
    issued = rx.issued()
    code = _access_code(api, issued["id"])
    rx.pharmacy_post(issued["id"], "accept")
    rx.pharmacy_post(issued["id"], "dispense", dispense_number=1)
    rx.pharmacy_post(issued["id"], "dispense", dispense_number=2)
    page = api.client.get("/verify", query_string={"number": issued["number"], "code": code})
    html = page.get_data(as_text=True)
    assert "Fully dispensed: nothing is left to dispense" in html
    assert re.search(r"<dt>Dispensed</dt><dd>2 of 2</dd>", html)


@pytest.mark.parametrize(
    "wrong", ["code", "number", "malformed number", "overlong code", "number only"]
)
def test_a_wrong_number_or_code_is_not_found(api: ApiClient, rx: Prescribing, wrong: str) -> None:
    issued = rx.issued()
    code = _access_code(api, issued["id"])
    query = {
        "code": {"number": issued["number"], "code": code[:-1] + ("B" if code[-1] == "A" else "A")},
        "number": {"number": "RX-00000-00000-97", "code": code},
        "malformed number": {"number": "<script>", "code": code},
        "overlong code": {"number": issued["number"], "code": code * 5},
        "number only": {"number": issued["number"]},
    }[wrong]
    page = api.client.get("/verify", query_string=query)
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert "Prescription not found" in html
    assert "Doxycycline" not in html
    assert 'name="number"' in html and 'name="code"' in html  # typed in by hand instead


def test_the_verify_page_without_a_code_offers_the_form(api: ApiClient) -> None:
    page = api.client.get("/verify")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Check a prescription by hand" in html
    assert '<label for="verify-number">' in html and '<label for="verify-code">' in html
