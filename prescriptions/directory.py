"""Who takes part in prescribing: pharmacies, the pharmacists of each, prescriber licences."""

from __future__ import annotations

from casebox.accounts.models import Role, User
from casebox.audit import trail
from casebox.database import db
from casebox.errors import ValidationFailed
from prescriptions.models import Pharmacy, PharmacyStaff, PrescriberLicence


def create_pharmacy(name: str, address: str, phone: str | None = None) -> Pharmacy:
    """Register a pharmacy that can receive prescriptions."""
    if not name.strip() or not address.strip():
        raise ValidationFailed(
            "A pharmacy needs a name and an address.",
            errors={"name": ["Required."], "address": ["Required."]},
        )
    pharmacy = Pharmacy(name=name.strip(), address=address.strip(), phone=phone or None)
    db.session.add(pharmacy)
    db.session.flush()
    trail.record("pharmacy.create", object_type="pharmacy", object_id=pharmacy.public_id)
    return pharmacy


def attach_pharmacist(user: User, pharmacy: Pharmacy) -> None:
    """Make a pharmacist a member of a pharmacy (their only one)."""
    if user.role != Role.PHARMACIST:
        raise ValidationFailed(
            "Only pharmacists work at a pharmacy.", errors={"role": ["Must be pharmacist."]}
        )
    staff = db.session.get(PharmacyStaff, user.id)
    if staff is None:
        db.session.add(PharmacyStaff(user_id=user.id, pharmacy_id=pharmacy.id))
    else:
        staff.pharmacy_id = pharmacy.id
    db.session.flush()
    trail.record("pharmacy.staff", object_type="pharmacy", object_id=pharmacy.public_id,
                 details={"user_id": user.public_id})  # fmt: skip


def record_licence(user: User, *, number: str, authority: str, system: str) -> PrescriberLicence:
    """Record the licence that lets a specialist prescribe (printed on every prescription)."""
    if user.role != Role.SPECIALIST:
        raise ValidationFailed(
            "Only specialists hold a prescriber licence.", errors={"role": ["Must be specialist."]}
        )
    if not number.strip() or not authority.strip() or not system.strip():
        raise ValidationFailed(
            "A licence needs its number, the issuing authority and its identifier system.",
            errors={"licence": ["number, authority and system are required."]},
        )
    licence = db.session.get(PrescriberLicence, user.id)
    if licence is None:
        licence = PrescriberLicence(user_id=user.id)
        db.session.add(licence)
    licence.number, licence.authority, licence.system = number, authority, system
    db.session.flush()
    trail.record("prescriber.licence", object_type="user", object_id=user.public_id)
    return licence
