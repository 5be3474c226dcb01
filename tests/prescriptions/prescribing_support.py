"""Test helpers for prescribing through the API: a licensed specialist with an
authenticator, a pharmacy with its pharmacist, and a patient whose case is under review."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy import update

from casebox.accounts.models import Role, User
from casebox.accounts.operations import create_user
from casebox.database import db
from casebox.review.memberships import all_queue_names, set_queues
from prescriptions.directory import attach_pharmacist, create_pharmacy, record_licence
from tests.api.review_support import claim, routed_case
from tests.support import STAFF_PASSWORD, ApiClient, run_pipeline

_people = itertools.count(1)

DOXYCYCLINE = {
    "formulary_id": "doxycycline",
    "form": "capsule",
    "route": "oral",
    "strength": "100 mg",
    "dosage": {
        "amount": {"value": 1, "unit": "capsule"},
        "frequency": {"times": 1, "per": "day"},
        "duration": {"value": 12, "unit": "week"},
        "timing": ["morning"],
        "note": "Swallow with a full glass of water.",
    },
    "quantity": "84 capsules",
    "supply_days": 84,
    "repeats": 1,
    "substitution_allowed": True,
}
DOXYCYCLINE_TEXT = (
    "Take 1 capsule once a day, in the morning, for 12 weeks. Swallow with a full glass of water."
)


def dosage(**changes: Any) -> dict[str, Any]:
    """The doxycycline dosage with some parts replaced."""
    return {**DOXYCYCLINE["dosage"], **changes}  # type: ignore[dict-item]


@dataclass
class Prescribing:
    """Everyone a prescription passes between, signed in."""

    api: ApiClient
    prescriber: dict[str, str]
    prescriber_email: str
    totp_secret: str
    patient: dict[str, str]
    case_id: str
    pharmacist: dict[str, str]
    pharmacy_id: str

    def code(self) -> str:
        """A valid authenticator code, as if half a minute had passed since the last one."""
        with self.api.client.application.app_context():
            db.session.execute(
                update(User).where(User.email == self.prescriber_email).values(totp_last_step=None)
            )
            db.session.commit()
        return pyotp.TOTP(self.totp_secret).now()

    def draft(self, **changes: Any) -> Any:
        """POST a draft on the case; returns the response."""
        return self.api.client.post(
            f"/api/v1/cases/{self.case_id}/prescriptions",
            json={**DOXYCYCLINE, **changes},
            headers=self.prescriber,
        )

    def sign(self, prescription_id: str, overrides: list[dict[str, str]] | None = None) -> Any:
        """Sign a draft with a fresh authenticator code (and reasons for its warnings)."""
        return self.api.client.post(
            f"/api/v1/prescriptions/{prescription_id}/sign",
            json={"totp_code": self.code(), "overrides": overrides or []},
            headers=self.prescriber,
        )

    def issued(self, **changes: Any) -> dict[str, Any]:
        """A signed prescription (its warnings overridden with a reason)."""
        draft = self.draft(**changes)
        assert draft.status_code == 201, draft.get_json()
        body = draft.get_json()
        overrides = [
            {"key": finding["key"], "reason": "Discussed with the patient; benefits outweigh."}
            for finding in body["safety"]
            if finding["severity"] == "warning"
        ]
        signed = self.sign(body["id"], overrides)
        assert signed.status_code == 200, signed.get_json()
        return dict(signed.get_json())

    def pharmacy_post(self, prescription_id: str, action: str, **body: Any) -> Any:
        return self.api.client.post(
            f"/api/v1/pharmacy/prescriptions/{prescription_id}/{action}",
            json=body,
            headers=self.pharmacist,
        )


def licensed_specialist(api: ApiClient) -> tuple[dict[str, str], str, str]:
    """A specialist with a licence and a confirmed authenticator: headers, email, secret."""
    email = f"prescriber{next(_people)}@clinic.example"
    with api.client.application.app_context():
        user = create_user(email, STAFF_PASSWORD, name="Dr Pat Prescriber", role=Role.SPECIALIST)
        set_queues(user, all_queue_names())
        record_licence(
            user, number="CPSO-98765", authority="College of Physicians",
            system="https://licences.example/cpso",
        )  # fmt: skip
        db.session.commit()
    headers = api.auth(api.login(email, STAFF_PASSWORD))
    enrolment = api.client.post("/api/v1/me/mfa/totp", headers=headers)
    assert enrolment.status_code == 201, enrolment.get_json()
    secret = enrolment.get_json()["secret"]
    confirmed = api.client.post(
        "/api/v1/me/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return headers, email, secret


def pharmacy_with_pharmacist(
    api: ApiClient, name: str = "Main Street Pharmacy"
) -> tuple[str, dict[str, str]]:
    """A pharmacy and the headers of its pharmacist."""
    email = f"pharmacist{next(_people)}@pharmacy.example"
    with api.client.application.app_context():
        pharmacy = create_pharmacy(name, "10 Main Street")
        user = create_user(email, STAFF_PASSWORD, name="Pat Pharmacist", role=Role.PHARMACIST)
        attach_pharmacist(user, pharmacy)
        db.session.commit()
        pharmacy_id = pharmacy.public_id
    return pharmacy_id, api.auth(api.login(email, STAFF_PASSWORD))


def prescribing(api: ApiClient, *, patient_changes: dict[str, Any] | None = None) -> Prescribing:
    """A claimed case of a patient who nominated a pharmacy, and a prescriber to sign."""
    prescriber, email, secret = licensed_specialist(api)
    pharmacy_id, pharmacist = pharmacy_with_pharmacist(api)
    patient_token = api.patient(**(patient_changes or {}))
    patient = api.auth(patient_token)
    nominated = api.client.put(
        "/api/v1/me/pharmacy", json={"pharmacy_id": pharmacy_id}, headers=patient
    )
    assert nominated.status_code == 200, nominated.get_json()
    case_id = routed_case(api, patient_token)
    claim(api, prescriber, case_id)
    return Prescribing(api, prescriber, email, secret, patient, case_id, pharmacist, pharmacy_id)


def render_pdfs(api: ApiClient) -> None:
    """Run the jobs the signing queued (the PDF renderer)."""
    run_pipeline(api.client.application)
