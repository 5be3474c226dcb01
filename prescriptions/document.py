"""What a signed prescription says: the one value the FHIR Bundle and the PDF are made from.

Pure data, no database: the prescribing operations build a :class:`PrescriptionDocument`
from the stored rows when the prescriber signs, and both renderings (FHIR R4 document
Bundle, PDF) are functions of it alone, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Prescriber:
    """The signing specialist and the licence that entitles them to prescribe."""

    id: str  # casebox public id of the user
    name: str
    licence_number: str  # e.g. a college registration number
    licence_authority: str  # who issued it, e.g. "College of Physicians and Surgeons of Ontario"
    licence_system: str  # identifier system URI for FHIR, e.g. "https://cpso.on.ca/licence"


@dataclass(frozen=True)
class PatientDetails:
    id: str  # casebox public id
    name: str
    date_of_birth: date
    sex: str  # "female" | "male" | "other" | "unknown"


@dataclass(frozen=True)
class Organisation:
    """The clinic issuing the prescription, or the pharmacy it is addressed to."""

    id: str
    name: str
    address: str
    phone: str | None = None


@dataclass(frozen=True)
class MedicationLine:
    """The medicine, its strength and form, and how to take it."""

    formulary_id: str
    name: str  # display name, e.g. "Doxycycline"
    rxnorm_code: str | None  # RxNorm ingredient RXCUI, when known
    atc_code: str | None
    form: str  # e.g. "capsule", "cream"
    route: str  # e.g. "oral", "topical"
    strength: str  # e.g. "100 mg", "0.05%"
    instructions: (
        str  # patient-friendly, generated from the dosage: "Take 1 capsule twice a day, ..."
    )
    quantity: str  # e.g. "84 capsules", "30 g"
    repeats: int  # additional dispenses allowed after the first
    substitution_allowed: bool
    supply_days: int | None = None
    # The structured dose instructions the text was made from (prescriptions.dosage JSON);
    # None on documents signed before prescriptions had them.
    dosage: dict[str, Any] | None = None


@dataclass(frozen=True)
class PrescriptionDocument:
    """Everything a pharmacy must see to dispense, as signed."""

    prescription_id: str  # readable, ISO 7064 MOD 97-10 checked, e.g. "RX-12345-67890-12"
    access_code: str  # random 256-bit, URL-safe; together with the id it opens verification
    verification_url: str  # where a pharmacy checks it (carries id and access code)
    issued_at: datetime  # timezone-aware, UTC
    valid_until: date
    prescriber: Prescriber
    patient: PatientDetails
    clinic: Organisation
    pharmacy: Organisation | None
    medication: MedicationLine
    warnings_overridden: tuple[str, ...] = ()  # reasons recorded for overridden warnings


def document_to_json(doc: PrescriptionDocument) -> dict[str, Any]:
    """The document as JSON-ready data, stored with the prescription when it is signed."""
    data: dict[str, Any] = asdict(doc)
    data["issued_at"] = doc.issued_at.isoformat()
    data["valid_until"] = doc.valid_until.isoformat()
    data["patient"]["date_of_birth"] = doc.patient.date_of_birth.isoformat()
    data["warnings_overridden"] = list(doc.warnings_overridden)
    return data


def document_from_json(data: dict[str, Any]) -> PrescriptionDocument:
    """The stored document back as a value (the inverse of :func:`document_to_json`)."""
    patient = dict(data["patient"])
    patient["date_of_birth"] = date.fromisoformat(patient["date_of_birth"])
    pharmacy = data.get("pharmacy")
    return PrescriptionDocument(
        prescription_id=data["prescription_id"],
        access_code=data["access_code"],
        verification_url=data["verification_url"],
        issued_at=datetime.fromisoformat(data["issued_at"]),
        valid_until=date.fromisoformat(data["valid_until"]),
        prescriber=Prescriber(**data["prescriber"]),
        patient=PatientDetails(**patient),
        clinic=Organisation(**data["clinic"]),
        pharmacy=Organisation(**pharmacy) if pharmacy else None,
        medication=MedicationLine(**data["medication"]),
        warnings_overridden=tuple(data.get("warnings_overridden", ())),
    )
