"""Stored prescriptions, the pharmacies they are addressed to and who works where."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.accounts.models import User
from casebox.cases.models import Case
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class Pharmacy(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A pharmacy organisation that receives prescriptions."""

    __tablename__ = "pharmacies"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PharmacyStaff(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A pharmacist's pharmacy: they see only what is addressed to it."""

    __tablename__ = "pharmacy_staff"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"), index=True)

    pharmacy: Mapped[Pharmacy] = relationship()


class PharmacyNomination(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """The pharmacy a patient wants their prescriptions sent to."""

    __tablename__ = "pharmacy_nominations"

    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    pharmacy: Mapped[Pharmacy] = relationship()


class PrescriberLicence(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """The licence that entitles a specialist to prescribe; printed and signed."""

    __tablename__ = "prescriber_licences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(60))
    authority: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(200))


class PrescriptionStatus(enum.StrEnum):
    """Where a prescription is in its life. Rejection by a pharmacy returns it to issued."""

    DRAFT = "draft"
    ISSUED = "issued"
    ACCEPTED = "accepted"
    DISPENSED = "dispensed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Prescription(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One medicine prescribed from a case, from draft to its last dispense."""

    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    pharmacy_id: Mapped[int | None] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    status: Mapped[PrescriptionStatus] = mapped_column(
        Enum(PrescriptionStatus, native_enum=False, length=16), default=PrescriptionStatus.DRAFT
    )
    # What is prescribed, as the prescriber entered it.
    formulary_id: Mapped[str] = mapped_column(String(80))
    form: Mapped[str] = mapped_column(String(40))
    route: Mapped[str] = mapped_column(String(20))
    strength: Mapped[str] = mapped_column(String(40))
    # The structured dose instructions (prescriptions.dosage JSON; None on older rows), and
    # what is derived from them: the English text for the patient and the most taken per
    # day or week, checked against the formulary's limits (None when unquantified).
    dosage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dose_amount: Mapped[float | None] = mapped_column()
    dose_unit: Mapped[str | None] = mapped_column(String(20))
    dose_period: Mapped[str | None] = mapped_column(String(10))
    instructions: Mapped[str] = mapped_column(Text)
    quantity: Mapped[str] = mapped_column(String(60))
    supply_days: Mapped[int] = mapped_column()
    repeats: Mapped[int] = mapped_column(default=0)
    substitution_allowed: Mapped[bool] = mapped_column(default=True)
    validity_days: Mapped[int] = mapped_column()
    patient_weight_kg: Mapped[float | None] = mapped_column()
    # Documented pregnancy tests, for medicines under a pregnancy prevention programme.
    pregnancy_tests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The safety review: every finding at signing, and the prescriber's reasons for warnings.
    safety_findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overrides: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Set when signed: the document as signed, its FHIR Bundle, and the rendered PDF.
    access_code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fhir_bundle: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    dispensed_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[date | None] = mapped_column(Date)

    case: Mapped[Case] = relationship()
    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    prescriber: Mapped[User] = relationship(foreign_keys=[prescriber_id])
    pharmacy: Mapped[Pharmacy | None] = relationship()

    @property
    def dispenses_allowed(self) -> int:
        """The first dispense and every repeat."""
        return self.repeats + 1


class PrescriptionEvent(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One step in a prescription's life, shown to prescriber, patient and pharmacy."""

    __tablename__ = "prescription_events"
    # Each dispense of a prescription is numbered: the database refuses a second one.
    __table_args__ = (UniqueConstraint("prescription_id", "dispense_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(
        ForeignKey("prescriptions.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pharmacy_id: Mapped[int | None] = mapped_column(ForeignKey("pharmacies.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    dispense_number: Mapped[int | None] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()
    pharmacy: Mapped[Pharmacy | None] = relationship()
