"""Drafting and signing a prescription, and the documents a signed one carries.

Signing runs the safety review again on the stored draft (the patient's record may have
changed since it was drafted): any block refuses, every warning needs the prescriber's
stated reason, and the prescriber's authenticator code is spent last, so a refused
request never uses it up. The signed document is then fixed: its FHIR Bundle is built and
signed (JWS) in the same transaction, and the PDF is rendered by a job once that commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from casebox import services
from casebox.accounts.mfa import verify_second_factor
from casebox.accounts.models import User
from casebox.cases.models import Case
from casebox.database import db, utcnow
from casebox.errors import Conflict, ValidationFailed
from casebox.notifications.models import NotificationKind
from casebox.notifications.operations import notify
from casebox.objects import put_object
from casebox.outbox.events import PRESCRIPTION_ISSUED, emit
from casebox.queues.routing import age_in_years
from casebox.settings import Settings
from prescriptions import operations, safety
from prescriptions.document import (
    MedicationLine,
    Organisation,
    PatientDetails,
    Prescriber,
    PrescriptionDocument,
    document_from_json,
    document_to_json,
)
from prescriptions.dosage import Dosage, dosage_to_json, record_text, total_dose
from prescriptions.fhir import build_bundle
from prescriptions.formulary import Medicine, formulary
from prescriptions.identifiers import (
    access_code_digest,
    new_access_code,
    new_prescription_number,
)
from prescriptions.models import (
    PrescriberLicence,
    Prescription,
    PrescriptionStatus,
)
from prescriptions.pdf import render_prescription_pdf, sign_pdf
from prescriptions.pki import SigningIdentity, ensure_development_pki, load_signing_identity
from prescriptions.signing import load_or_create_signing_key, load_public_keys, public_jwks

ACTIVE = (PrescriptionStatus.ISSUED, PrescriptionStatus.ACCEPTED)


# --------------------------------------------------------------------------- drafting


def _medicine_for(data: dict[str, Any]) -> Medicine:
    medicine = formulary().get(data["formulary_id"])
    if medicine is None:
        raise ValidationFailed(
            "That medicine is not in the formulary.",
            errors={"formulary_id": ["Unknown medicine; search GET /api/v1/formulary?q=."]},
        )
    for form in medicine.forms:
        if form.form == data["form"] and form.route == data["route"]:
            if data["strength"] in form.strengths:
                return medicine
            raise ValidationFailed(
                f"{medicine.name} {form.form} comes in {', '.join(form.strengths)}.",
                errors={"strength": [f"Must be one of: {', '.join(form.strengths)}."]},
            )
    offered = ", ".join(f"{form.form} ({form.route})" for form in medicine.forms)
    raise ValidationFailed(
        f"{medicine.name} is available as {offered}.",
        errors={"form": [f"Must be one of: {offered}."]},
    )


def check_dosage(dosage: Dosage, route: str, medicine: Medicine | None) -> None:
    """Refuse an unquantified amount ("a thin layer") unless the formulary leaves it so."""
    if dosage.amount.unquantified is None:
        return
    usual = (
        next((dose for dose in medicine.doses if dose.route == route), None) if medicine else None
    )
    if route != "topical" or (usual is not None and usual.usual_limit is not None):
        message = "Give the amount each time: this medicine's dose is quantified."
        raise ValidationFailed(message, errors={"dosage": {"amount": {"unquantified": [message]}}})


def dosage_fields(dosage: Dosage, route: str, strength: str) -> dict[str, Any]:
    """The stored dosage and what is derived from it: the English text and the total."""
    total = total_dose(dosage, strength)
    return {
        "dosage": dosage_to_json(dosage),
        "instructions": record_text(dosage, route),
        "dose_amount": total.value if total else None,
        "dose_unit": total.unit if total else None,
        "dose_period": total.per if total else None,
    }


def preview_dosage(data: dict[str, Any]) -> dict[str, Any]:
    """The text a dosage will print as and its dose total, before anything is drafted."""
    medicine = formulary().get(data.get("formulary_id") or "")
    check_dosage(data["dosage"], data["route"], medicine)
    fields = dosage_fields(data["dosage"], data["route"], data["strength"])
    dose = None
    if fields["dose_amount"] is not None:
        dose = {"amount": fields["dose_amount"], "unit": fields["dose_unit"],
                "per": fields["dose_period"]}  # fmt: skip
    return {"text": fields["instructions"], "dose": dose}


def draft_prescription(prescriber: User, case_id: str, data: dict[str, Any]) -> Prescription:
    """Write a draft and show its safety review at once (it is run again when signing)."""
    medicine = _medicine_for(data)
    dosage = data.pop("dosage")
    check_dosage(dosage, data["route"], medicine)
    data.update(dosage_fields(dosage, data["route"], data["strength"]))
    prescription = operations.create_draft(prescriber, case_id, data)
    prescription.safety_findings = [_finding_json(f, {}) for f in review_safety(prescription)]
    db.session.flush()
    return prescription


# --------------------------------------------------------------------------- safety


def _patient_context(prescription: Prescription) -> safety.PatientSafetyContext:
    patient = prescription.patient
    profile = patient.patient
    if profile is None:
        raise Conflict("The patient's date of birth and sex are needed to prescribe.")
    questionnaire = _latest_questionnaire(prescription)
    age = age_in_years(profile.date_of_birth, utcnow().date())
    # Sex is recorded at registration; anyone not recorded male, of child-bearing age,
    # is treated as able to become pregnant unless the prescriber documents otherwise.
    able = str(profile.sex) != "male" and 10 <= age <= 55
    pregnant_or_breastfeeding = questionnaire.get("pregnant_or_breastfeeding")
    others = db.session.scalars(
        select(Prescription.formulary_id).where(
            Prescription.patient_id == prescription.patient_id,
            Prescription.id != prescription.id,
            Prescription.status.in_(ACTIVE),
        )
    ).all()
    return safety.PatientSafetyContext(
        age_years=age,
        can_become_pregnant=able,
        # The questionnaire asks one question for both: a yes is taken for either.
        pregnant=pregnant_or_breastfeeding,
        breastfeeding=pregnant_or_breastfeeding,
        weight_kg=prescription.patient_weight_kg,
        allergies=tuple(questionnaire.get("allergies", ())),
        current_medications=tuple(questionnaire.get("medications", ())),
        active_prescriptions=tuple(others),
        pregnancy_tests=tuple(
            safety.PregnancyTest(
                taken_on=date.fromisoformat(test["date"]),
                negative=test["negative"],
                documented_by=test["documented_by"],
                source=test["source"],
            )
            for test in prescription.pregnancy_tests
        ),
    )


def _latest_questionnaire(prescription: Prescription) -> dict[str, Any]:
    latest = db.session.scalar(
        select(Case)
        .where(Case.patient_id == prescription.patient_id, Case.submitted_at.is_not(None))
        .order_by(Case.submitted_at.desc())
        .limit(1)
    )
    return dict((latest or prescription.case).questionnaire)


def _proposed(prescription: Prescription) -> safety.ProposedPrescription:
    return safety.ProposedPrescription(
        medicine_id=prescription.formulary_id,
        form=prescription.form,
        route=prescription.route,
        strength=prescription.strength,
        dose=None
        if prescription.dose_amount is None or prescription.dose_unit is None
        else safety.DoseAmount(
            value=prescription.dose_amount,
            unit=prescription.dose_unit,
            per=prescription.dose_period,  # type: ignore[arg-type]  # derived: day or week
        ),
        supply_days=prescription.supply_days,
        repeats=prescription.repeats,
        validity_days=prescription.validity_days,
    )


def review_safety(prescription: Prescription) -> list[safety.Finding]:
    """The safety findings for a prescription as it stands, blocks first."""
    return safety.check_prescription(
        formulary(), _patient_context(prescription), _proposed(prescription),
        today=utcnow().date(),
    )  # fmt: skip


def _finding_json(finding: safety.Finding, reasons: dict[str, str]) -> dict[str, Any]:
    reason = reasons.get(finding.key) if finding.severity == "warning" else None
    return {
        "key": finding.key,
        "code": finding.code,
        "severity": finding.severity,
        "message": finding.message,
        "overridden": reason is not None,
        "reason": reason,
    }


def _require_safe(
    findings: list[safety.Finding], overrides: list[dict[str, str]]
) -> dict[str, str]:
    """The prescriber's reason for each warning, or ValidationFailed naming what is missing."""
    reasons = {item["key"]: item["reason"].strip() for item in overrides}
    blocks = [finding for finding in findings if finding.severity == "block"]
    if blocks:
        raise ValidationFailed(
            "The safety checks refuse this prescription: " + " ".join(f.message for f in blocks),
            errors={"safety": [f.message for f in blocks]},
        )
    unexplained = [f for f in findings if f.severity == "warning" and f.key not in reasons]
    if unexplained:
        raise ValidationFailed(
            "Each safety warning needs your reason to go ahead: "
            + " ".join(f.message for f in unexplained),
            errors={"overrides": [f"{f.key}: {f.message}" for f in unexplained]},
        )
    warned = {f.key for f in findings if f.severity == "warning"}
    return {key: reason for key, reason in reasons.items() if key in warned}


# --------------------------------------------------------------------------- signing


def sign_prescription(
    prescriber: User, public_id: str, totp_code: str, overrides: list[dict[str, str]]
) -> Prescription:
    """Check, authenticate and sign a draft: it becomes an issued prescription."""
    prescription = operations.own_prescription(prescriber, public_id)
    if prescription.status != PrescriptionStatus.DRAFT:
        raise Conflict(f"The prescription is already {prescription.status}.")
    licence = operations.require_prescriber(prescriber)
    findings = review_safety(prescription)
    reasons = _require_safe(findings, overrides)
    verify_second_factor(prescriber, totp_code, purpose="prescription.sign")

    settings = services.settings()
    issued_at = utcnow()
    access_code = new_access_code()
    prescription.number = new_prescription_number()
    prescription.access_code_sha256 = access_code_digest(access_code)
    prescription.issued_at = issued_at
    prescription.valid_until = operations.validity_end(issued_at, prescription.validity_days)
    prescription.safety_findings = [_finding_json(f, reasons) for f in findings]
    prescription.overrides = [{"key": key, "reason": reason} for key, reason in reasons.items()]
    document = _document(prescription, licence, access_code, settings)
    prescription.document = document_to_json(document)
    prescription.fhir_bundle = build_bundle(
        document,
        base_url=settings.public_url,
        signing_key=load_or_create_signing_key(_jws_key_dir(settings)),
    )
    prescription.status = PrescriptionStatus.ISSUED
    db.session.flush()
    operations.record_event(prescription, "issued", prescriber)
    operations.audit(
        "prescription.sign",
        prescription,
        medicine=prescription.formulary_id,
        overridden=sorted(reasons),
    )
    emit(PRESCRIPTION_ISSUED, prescription_id=prescription.public_id)
    notify(
        prescription.patient,
        NotificationKind.PRESCRIPTION_ISSUED,
        f"/api/v1/prescriptions/{prescription.public_id}",
    )
    return prescription


def _document(
    prescription: Prescription, licence: PrescriberLicence, access_code: str, settings: Settings
) -> PrescriptionDocument:
    medicine = formulary()[prescription.formulary_id]
    profile = prescription.patient.patient
    if profile is None:
        raise Conflict("The patient's date of birth and sex are needed on a prescription.")
    assert prescription.number is not None and prescription.issued_at is not None
    assert prescription.valid_until is not None
    clinic = settings.clinic
    return PrescriptionDocument(
        prescription_id=prescription.number,
        access_code=access_code,
        verification_url=verification_url(settings, prescription.number, access_code),
        issued_at=prescription.issued_at,
        valid_until=prescription.valid_until,
        prescriber=Prescriber(
            id=prescription.prescriber.public_id,
            name=prescription.prescriber.name,
            licence_number=licence.number,
            licence_authority=licence.authority,
            licence_system=licence.system,
        ),
        patient=PatientDetails(
            id=prescription.patient.public_id,
            name=prescription.patient.name,
            date_of_birth=profile.date_of_birth,
            sex=str(profile.sex),
        ),
        clinic=Organisation(
            id="clinic", name=clinic.name, address=clinic.address, phone=clinic.phone
        ),
        # Where it is sent is routing, not content: after a rejection the prescriber sends
        # it elsewhere without signing again, so the signed document names no pharmacy.
        pharmacy=None,
        medication=MedicationLine(
            formulary_id=medicine.id,
            name=medicine.name,
            rxnorm_code=medicine.rxnorm_ingredients[0] if medicine.rxnorm_ingredients else None,
            atc_code=medicine.atc[0] if medicine.atc else None,
            form=prescription.form,
            route=prescription.route,
            strength=prescription.strength,
            instructions=prescription.instructions,
            dosage=prescription.dosage,
            quantity=prescription.quantity,
            repeats=prescription.repeats,
            substitution_allowed=prescription.substitution_allowed,
            supply_days=prescription.supply_days,
        ),
        warnings_overridden=tuple(item["reason"] for item in prescription.overrides),
    )


def verification_url(settings: Settings, number: str, access_code: str) -> str:
    """Where a pharmacy (or the patient) checks a prescription: the QR code's content."""
    return f"{settings.public_url}/verify/{number}?code={access_code}"


# --------------------------------------------------------------------------- documents


def _jws_key_dir(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "prescriptions"


def published_keys(settings: Settings) -> dict[str, Any]:
    """The JWKS of every key that has signed prescriptions here."""
    directory = _jws_key_dir(settings)
    load_or_create_signing_key(directory)
    return public_jwks(load_public_keys(directory))


def fhir_document(user: User, public_id: str) -> dict[str, Any]:
    """The signed FHIR Bundle of an issued prescription (audited)."""
    prescription = operations.find_prescription(user, public_id)
    if prescription.fhir_bundle is None:
        raise Conflict("A draft has no FHIR document; sign it first.")
    operations.audit("prescription.fhir", prescription)
    return dict(prescription.fhir_bundle)


@dataclass(frozen=True)
class PdfContent:
    """The signed PDF's bytes and a file name."""

    data: bytes
    filename: str


def pdf_document(user: User, public_id: str) -> PdfContent:
    """The signed PDF of an issued prescription (audited); Conflict until it is rendered."""
    prescription = operations.find_prescription(user, public_id)
    if not prescription.pdf_key or not prescription.pdf_sha256:
        raise Conflict("The PDF is being prepared; try again in a few seconds.")
    data = services.object_store().get(prescription.pdf_key, sha256=prescription.pdf_sha256)
    operations.audit("prescription.pdf", prescription)
    return PdfContent(data, f"prescription-{prescription.number}.pdf")


def signing_identity(settings: Settings) -> SigningIdentity:
    """The clinic's PDF signing certificate: the configured one, or the development CA's."""
    if settings.pdf_signing_key and settings.pdf_signing_cert:
        return load_signing_identity(
            settings.pdf_signing_key, settings.pdf_signing_cert, settings.pdf_signing_chain
        )
    if settings.is_production:
        raise Conflict("Configure CASEBOX_PDF_SIGNING_KEY and _CERT to sign prescriptions.")
    return ensure_development_pki(settings.data_dir / "pki", clinic_name=settings.clinic.name)


def pdf_to_render(prescription_id: str) -> PrescriptionDocument | None:
    """The signed document of a prescription whose PDF is still missing, if any."""
    prescription = db.session.scalar(
        select(Prescription).where(Prescription.public_id == prescription_id)
    )
    if prescription is None or prescription.document is None or prescription.pdf_key:
        return None
    return document_from_json(prescription.document)


def make_pdf(document: PrescriptionDocument, settings: Settings) -> bytes:
    """Render the document and sign it as the clinic (PAdES). No database involved."""
    return sign_pdf(
        render_prescription_pdf(document),
        signing_identity(settings),
        reason=f"Prescription {document.prescription_id}",
        location=settings.clinic.name,
    )


def store_pdf(prescription_id: str, pdf: bytes) -> str | None:
    """Keep the signed PDF unless another run stored one first; returns the key stored."""
    prescription = db.session.scalar(
        select(Prescription).where(Prescription.public_id == prescription_id).with_for_update()
    )
    if prescription is None or prescription.pdf_key:
        return None
    key = f"prescriptions/{prescription.public_id}.pdf"
    prescription.pdf_sha256 = put_object(key, pdf)
    prescription.pdf_key = key
    operations.audit("prescription.pdf_render", prescription)
    return key
