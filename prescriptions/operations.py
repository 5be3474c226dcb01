"""The verbs of prescribing: draft, sign, cancel; accept, dispense, reject at a pharmacy.

They flush and audit; the request commits. Every change of status is one conditional
UPDATE that names the status (and dispense count) it starts from, so two requests racing
on the same prescription can never both succeed: the second finds nothing to update and
gets a 409. A dispense is also numbered, and the database refuses a number twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, exists, select, update

from casebox import services
from casebox.accounts.models import Role, User
from casebox.assessments.models import Assessment
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus
from casebox.cases.operations import find_case
from casebox.database import db, utcnow
from casebox.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casebox.i18n import gettext
from casebox.notifications.models import NotificationKind
from casebox.notifications.operations import notify
from casebox.review.access import holds_live_claim, staff_may_read
from prescriptions.identifiers import access_code_digest, normalise_prescription_number
from prescriptions.models import (
    Pharmacy,
    PharmacyNomination,
    PharmacyStaff,
    PrescriberLicence,
    Prescription,
    PrescriptionEvent,
    PrescriptionStatus,
)

OPEN = (PrescriptionStatus.ISSUED, PrescriptionStatus.ACCEPTED)


# --------------------------------------------------------------------------- lookups


def _rows_updated(statement: Update) -> int:
    result = cast("CursorResult[Any]", db.session.execute(statement))
    return result.rowcount


def pharmacy_of(pharmacist: User) -> Pharmacy:
    """The pharmacy a pharmacist works for (Forbidden when none is recorded)."""
    staff = db.session.get(PharmacyStaff, pharmacist.id)
    if staff is None:
        raise Forbidden("Your account is not attached to a pharmacy.")
    return staff.pharmacy


def find_pharmacy(public_id: str) -> Pharmacy:
    """A pharmacy by its public id, or a validation error naming the field."""
    pharmacy = db.session.scalar(select(Pharmacy).where(Pharmacy.public_id == public_id))
    if pharmacy is None:
        raise ValidationFailed(
            gettext("No such pharmacy."), errors={"pharmacy_id": [gettext("No such pharmacy.")]}
        )
    return pharmacy


def _may_read(user: User, prescription: Prescription) -> bool:
    if user.role == Role.PATIENT:
        return (
            prescription.patient_id == user.id and prescription.status != PrescriptionStatus.DRAFT
        )
    if user.role == Role.PHARMACIST:
        staff = db.session.get(PharmacyStaff, user.id)
        return (
            staff is not None
            and prescription.pharmacy_id == staff.pharmacy_id
            and prescription.status != PrescriptionStatus.DRAFT
        )
    if prescription.prescriber_id == user.id or user.role == Role.ADMIN:
        return True
    return user.role == Role.SPECIALIST and staff_may_read(user, prescription.case)


def find_prescription(user: User, public_id: str, *, for_update: bool = False) -> Prescription:
    """A prescription the user may see; NotFound exactly as for one that does not exist."""
    query = select(Prescription).where(Prescription.public_id == public_id)
    if for_update:
        query = query.with_for_update()
    prescription = db.session.scalar(query)
    if prescription is None or not _may_read(user, prescription):
        raise NotFound(gettext("No such prescription."))
    return prescription


def view_prescription(user: User, public_id: str) -> Prescription:
    """Read a prescription (audited); an expired one is shown as expired."""
    prescription = find_prescription(user, public_id)
    _expire_if_lapsed(prescription)
    audit("prescription.view", prescription)
    return prescription


def case_prescriptions(user: User, case_id: str) -> list[Prescription]:
    """A case's prescriptions: all of them for staff, the signed ones for its patient."""
    case = find_case(user, case_id)
    query = select(Prescription).where(Prescription.case_id == case.id)
    if user.role == Role.PATIENT:
        query = query.where(Prescription.status != PrescriptionStatus.DRAFT)
    items = list(db.session.scalars(query.order_by(Prescription.created_at, Prescription.id)))
    for prescription in items:
        _expire_if_lapsed(prescription)
    trail.record("prescription.list", object_type="case", object_id=case.public_id,
                 details={"count": len(items)})  # fmt: skip
    return items


def signed_prescriptions_of(case: Case) -> list[Prescription]:
    """A case's prescriptions that were signed, oldest first (part of the patient's response)."""
    return list(
        db.session.scalars(
            select(Prescription)
            .where(Prescription.case_id == case.id, Prescription.status != PrescriptionStatus.DRAFT)
            .order_by(Prescription.issued_at, Prescription.id)
        )
    )


def events_of(prescription: Prescription) -> list[PrescriptionEvent]:
    """The prescription's history, oldest first."""
    return list(
        db.session.scalars(
            select(PrescriptionEvent)
            .where(PrescriptionEvent.prescription_id == prescription.id)
            .order_by(PrescriptionEvent.occurred_at, PrescriptionEvent.id)
        )
    )


def audit(action: str, prescription: Prescription, **details: Any) -> None:
    """Record an audit event about a prescription."""
    trail.record(
        action,
        object_type="prescription",
        object_id=prescription.public_id,
        details={"case_id": prescription.case.public_id, **details},
    )


def record_event(
    prescription: Prescription, action: str, actor: User, **fields: Any
) -> PrescriptionEvent:
    """Add a step to the prescription's history; its patient and prescriber are told."""
    event = PrescriptionEvent(
        prescription_id=prescription.id, action=action, actor_id=actor.id, **fields
    )
    db.session.add(event)
    if action != "issued":  # signing sends its own notice (a new prescription)
        _tell_about_change(prescription, actor)
    return event


def _tell_about_change(prescription: Prescription, actor: User | None) -> None:
    link = f"/api/v1/prescriptions/{prescription.public_id}"
    for person in (prescription.patient, prescription.prescriber):
        if person.id != (actor.id if actor else None):
            notify(person, NotificationKind.PRESCRIPTION_UPDATED, link)


# --------------------------------------------------------------------------- prescribing


def require_prescriber(user: User) -> PrescriberLicence:
    """The specialist's recorded licence; without one they cannot prescribe."""
    if user.role != Role.SPECIALIST:
        raise Forbidden("Only specialists prescribe.")
    licence = db.session.get(PrescriberLicence, user.id)
    if licence is None:
        raise Forbidden("No prescriber licence is recorded for your account; ask an admin.")
    return licence


def _may_prescribe_on(user: User, case: Case) -> bool:
    if not case.patient.active:  # closed account: the patient asked for erasure
        return False
    if holds_live_claim(user, case):
        return True
    # After the assessment the claim has ended: its author may still prescribe.
    return case.status == CaseStatus.COMPLETED and bool(
        db.session.scalar(
            select(
                exists().where(Assessment.case_id == case.id, Assessment.specialist_id == user.id)
            )
        )
    )


def create_draft(prescriber: User, case_id: str, data: dict[str, Any]) -> Prescription:
    """Start a prescription on a case the specialist reviews; it is checked when signed."""
    require_prescriber(prescriber)
    case = find_case(prescriber, case_id)
    if not _may_prescribe_on(prescriber, case):
        raise Conflict("Claim the case (or assess it) before prescribing on it.")
    pharmacy_id = data.pop("pharmacy_id", None)
    pharmacy = find_pharmacy(pharmacy_id) if pharmacy_id else _nominated(case.patient_id)
    prescription = Prescription(
        case_id=case.id,
        patient_id=case.patient_id,
        prescriber_id=prescriber.id,
        pharmacy_id=pharmacy.id if pharmacy else None,
        validity_days=data.pop("validity_days", None)
        or services.settings().prescription_validity_days,
        **data,
    )
    db.session.add(prescription)
    db.session.flush()
    audit("prescription.draft", prescription, medicine=prescription.formulary_id)
    return prescription


def _nominated(patient_id: int) -> Pharmacy | None:
    nomination = db.session.get(PharmacyNomination, patient_id)
    return nomination.pharmacy if nomination else None


def discard_draft(prescriber: User, public_id: str) -> None:
    """Delete a draft that was never signed."""
    prescription = own_prescription(prescriber, public_id)
    if prescription.status != PrescriptionStatus.DRAFT:
        raise Conflict("Only a draft can be discarded; cancel a signed prescription instead.")
    audit("prescription.discard", prescription)
    db.session.delete(prescription)
    db.session.flush()


def own_prescription(prescriber: User, public_id: str) -> Prescription:
    """A prescription its prescriber is about to change, locked (Forbidden for others)."""
    prescription = find_prescription(prescriber, public_id, for_update=True)
    if prescription.prescriber_id != prescriber.id:
        raise Forbidden("Only the prescriber can change this prescription.")
    return prescription


def address_to_pharmacy(prescriber: User, public_id: str, pharmacy_id: str) -> Prescription:
    """Send the prescription to another pharmacy (before any pharmacy has accepted it)."""
    prescription = own_prescription(prescriber, public_id)
    pharmacy = find_pharmacy(pharmacy_id)
    changed = _rows_updated(
        update(Prescription)
        .where(
            Prescription.id == prescription.id,
            Prescription.status.in_((PrescriptionStatus.DRAFT, PrescriptionStatus.ISSUED)),
        )
        .values(pharmacy_id=pharmacy.id)
    )
    if not changed:
        raise Conflict(f"The prescription is {prescription.status}; its pharmacy is fixed.")
    db.session.refresh(prescription)
    audit("prescription.address", prescription, pharmacy_id=pharmacy.public_id)
    return prescription


def cancel_prescription(prescriber: User, public_id: str, reason: str) -> Prescription:
    """Cancel a signed prescription before a pharmacy has accepted it."""
    prescription = own_prescription(prescriber, public_id)
    _transition(
        prescription,
        (PrescriptionStatus.ISSUED,),
        PrescriptionStatus.CANCELLED,
        refusal="Only a prescription no pharmacy has accepted yet can be cancelled.",
    )
    record_event(prescription, "cancelled", prescriber, reason=reason)
    audit("prescription.cancel", prescription)
    return prescription


def _transition(
    prescription: Prescription,
    sources: tuple[PrescriptionStatus, ...],
    target: PrescriptionStatus,
    *,
    refusal: str,
    **values: Any,
) -> None:
    """Move the prescription from one of ``sources`` to ``target`` atomically, or Conflict."""
    changed = _rows_updated(
        update(Prescription)
        .where(Prescription.id == prescription.id, Prescription.status.in_(sources))
        .values(status=target, **values)
    )
    db.session.refresh(prescription)
    if not changed:
        raise Conflict(f"{refusal} It is {prescription.status}.")


# --------------------------------------------------------------------------- expiry


def _today() -> date:
    return utcnow().date()


def _expire_if_lapsed(prescription: Prescription) -> None:
    if (
        prescription.status in OPEN
        and prescription.valid_until is not None
        and prescription.valid_until < _today()
    ):
        expired = _rows_updated(
            update(Prescription)
            .where(Prescription.id == prescription.id, Prescription.status.in_(OPEN))
            .values(status=PrescriptionStatus.EXPIRED)
        )
        db.session.refresh(prescription)
        if expired:
            _tell_about_change(prescription, None)


# --------------------------------------------------------------------------- pharmacy


def pharmacy_inbox(pharmacist: User, status: PrescriptionStatus | None) -> list[Prescription]:
    """The prescriptions addressed to the pharmacist's pharmacy, newest first (audited)."""
    pharmacy = pharmacy_of(pharmacist)
    query = select(Prescription).where(
        Prescription.pharmacy_id == pharmacy.id,
        Prescription.status != PrescriptionStatus.DRAFT,
    )
    if status is not None:
        query = query.where(Prescription.status == status)
    items = list(db.session.scalars(query.order_by(Prescription.issued_at.desc())))
    for prescription in items:
        _expire_if_lapsed(prescription)
    if status is not None:
        items = [item for item in items if item.status == status]
    trail.record("pharmacy.inbox", object_type="pharmacy", object_id=pharmacy.public_id,
                 details={"count": len(items)})  # fmt: skip
    return items


def _addressed_to_me(pharmacist: User, public_id: str) -> tuple[Prescription, Pharmacy]:
    pharmacy = pharmacy_of(pharmacist)
    prescription = find_prescription(pharmacist, public_id)
    _expire_if_lapsed(prescription)
    if prescription.status == PrescriptionStatus.EXPIRED:
        raise Conflict(f"The prescription expired on {prescription.valid_until}.")
    return prescription, pharmacy


def accept_prescription(pharmacist: User, public_id: str) -> Prescription:
    """Take a prescription on for dispensing at this pharmacy."""
    prescription, pharmacy = _addressed_to_me(pharmacist, public_id)
    _transition(
        prescription,
        (PrescriptionStatus.ISSUED,),
        PrescriptionStatus.ACCEPTED,
        refusal="Only an issued prescription can be accepted.",
    )
    record_event(prescription, "accepted", pharmacist, pharmacy_id=pharmacy.id)
    audit("prescription.accept", prescription, pharmacy_id=pharmacy.public_id)
    return prescription


def reject_prescription(pharmacist: User, public_id: str, reason: str) -> Prescription:
    """Refuse a prescription: it returns to issued, no longer addressed to this pharmacy."""
    prescription, pharmacy = _addressed_to_me(pharmacist, public_id)
    changed = _rows_updated(
        update(Prescription)
        .where(
            Prescription.id == prescription.id,
            Prescription.pharmacy_id == pharmacy.id,
            Prescription.status.in_(OPEN),
            Prescription.dispensed_count == 0,
        )
        .values(status=PrescriptionStatus.ISSUED, pharmacy_id=None)
    )
    db.session.refresh(prescription)
    if not changed:
        raise Conflict("A prescription can be rejected only before anything is dispensed.")
    record_event(prescription, "rejected", pharmacist, pharmacy_id=pharmacy.id, reason=reason)
    audit("prescription.reject", prescription, pharmacy_id=pharmacy.public_id)
    return prescription


def dispense_prescription(pharmacist: User, public_id: str, dispense_number: int) -> Prescription:
    """Record dispense ``dispense_number`` (1 is the first supply, 2 the first repeat...).

    Naming the number makes a repeated request (a double click, a retry) harmless: it
    finds the count already moved on and is refused instead of dispensing again.
    """
    prescription, pharmacy = _addressed_to_me(pharmacist, public_id)
    if not 1 <= dispense_number <= prescription.dispenses_allowed:
        raise ValidationFailed(
            f"This prescription allows {prescription.dispenses_allowed} dispense(s).",
            errors={"dispense_number": [f"Must be 1 to {prescription.dispenses_allowed}."]},
        )
    last = dispense_number == prescription.dispenses_allowed
    changed = _rows_updated(
        update(Prescription)
        .where(
            Prescription.id == prescription.id,
            Prescription.pharmacy_id == pharmacy.id,
            Prescription.status == PrescriptionStatus.ACCEPTED,
            Prescription.dispensed_count == dispense_number - 1,
        )
        .values(
            dispensed_count=dispense_number,
            status=PrescriptionStatus.DISPENSED if last else PrescriptionStatus.ACCEPTED,
        )
    )
    db.session.refresh(prescription)
    if not changed:
        raise Conflict(
            f"Dispense {dispense_number} cannot be recorded: the prescription is "
            f"{prescription.status} with {prescription.dispensed_count} of "
            f"{prescription.dispenses_allowed} dispensed."
        )
    record_event(
        prescription, "dispensed", pharmacist, pharmacy_id=pharmacy.id,
        dispense_number=dispense_number,
    )  # fmt: skip
    db.session.flush()
    audit("prescription.dispense", prescription, dispense_number=dispense_number)
    return prescription


# --------------------------------------------------------------------------- nomination


def nominate_pharmacy(patient: User, pharmacy_id: str) -> Pharmacy:
    """Choose the pharmacy the patient's new prescriptions are sent to."""
    pharmacy = find_pharmacy(pharmacy_id)
    nomination = db.session.get(PharmacyNomination, patient.id)
    if nomination is None:
        db.session.add(PharmacyNomination(patient_id=patient.id, pharmacy_id=pharmacy.id))
    else:
        nomination.pharmacy_id = pharmacy.id
    db.session.flush()
    trail.record("pharmacy.nominate", object_type="pharmacy", object_id=pharmacy.public_id)
    return pharmacy


def nominated_pharmacy(patient: User) -> Pharmacy | None:
    """The patient's nominated pharmacy, if any."""
    return _nominated(patient.id)


def list_pharmacies() -> list[Pharmacy]:
    """Every pharmacy, by name."""
    return list(db.session.scalars(select(Pharmacy).order_by(Pharmacy.name)))


@dataclass(frozen=True)
class Verification:
    """What the public verification page may say about a prescription."""

    prescription: Prescription
    checked_at: datetime


def verify_prescription(number: str, access_code: str) -> Verification:
    """Look a prescription up by its number and access code (both must match)."""
    canonical = normalise_prescription_number(number)
    prescription = None
    if canonical is not None:
        prescription = db.session.scalar(
            select(Prescription).where(
                Prescription.number == canonical,
                Prescription.access_code_sha256 == access_code_digest(access_code),
            )
        )
    if prescription is None:
        raise NotFound(gettext("No prescription matches this number and access code."))
    _expire_if_lapsed(prescription)
    audit("prescription.verify", prescription)
    return Verification(prescription, utcnow())


def validity_end(issued_at: datetime, validity_days: int) -> date:
    """The last day a prescription issued at ``issued_at`` may be dispensed."""
    return (issued_at + timedelta(days=validity_days)).date()
