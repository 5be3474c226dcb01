"""The signed prescription as a FHIR R4 document Bundle, built with the fhir.resources models.

FHIR version: fhir.resources 8 models R5 at its top level and ships ``R4B`` (FHIR 4.3.0)
and ``STU3`` subpackages, with no R4 (4.0.1) one. R4B is the R4 line: it changed nothing
in Bundle, Composition, MedicationRequest, Medication, Patient, Practitioner,
Organization or Provenance that this document uses, so the Bundle is also valid R4.

The document is a pure function of a :class:`PrescriptionDocument` and the installation's
base URL, apart from the ES256 signature value (ECDSA is randomised): every ``fullUrl``
is a ``urn:uuid:`` derived from the base URL and the prescription id, so rendering the
same document again gives the same Bundle and the same signed bytes. What exactly is
signed is defined in :mod:`prescriptions.signing`.

The access code and verification URL are left out on purpose: the Bundle carries its own
signature, and the code opens the public verification page, so it should not travel in
every copy of the document.
"""

from __future__ import annotations

import base64
import html
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.address import Address
from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.composition import Composition, CompositionAttester, CompositionSection
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.dosage import Dosage, DosageDoseAndRate
from fhir.resources.R4B.duration import Duration
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.medication import Medication, MedicationIngredient
from fhir.resources.R4B.medicationrequest import (
    MedicationRequest,
    MedicationRequestDispenseRequest,
    MedicationRequestSubstitution,
)
from fhir.resources.R4B.narrative import Narrative
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.practitioner import Practitioner, PractitionerQualification
from fhir.resources.R4B.provenance import Provenance, ProvenanceAgent
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.ratio import Ratio
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.signature import Signature
from fhir.resources.R4B.timing import Timing, TimingRepeat

from prescriptions.document import MedicationLine, Organisation, PrescriptionDocument
from prescriptions.dosage import dosage_from_json
from prescriptions.signing import SIGNATURE_FORMAT, SigningKey, bundle_signing_input

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
URI_IDENTIFIER = "urn:ietf:rfc:3986"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
AUTHOR_SIGNATURE = "1.2.840.10065.1.12.1.1"
PRESCRIPTION_DOCUMENT = "57833-6"
MEDICATION_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
TARGET_FORMAT = "application/fhir+json"

# The namespace of every casebox prescription document's UUIDs (uuid5 names below).
_NAMESPACE = uuid.UUID("5f0c7d2e-6a1b-4c8e-9a53-2b7f4d9e8c11")
# SNOMED CT route of administration for the formulary's routes.
_ROUTES = {
    "oral": ("26643006", "Oral route"),
    "topical": ("6064005", "Topical route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "nasal": ("46713006", "Nasal route"),
}
_UCUM_UNITS = {"g": "g", "mg": "mg", "kg": "kg", "mL": "mL", "ml": "mL", "L": "L", "l": "L",
               "microgram": "ug"}  # fmt: skip
_UCUM_PERIODS = {"day": "d", "week": "wk", "month": "mo"}
# FHIR EventTiming codes of the timing words that have one (the rest travel as text).
_EVENT_TIMING = {"morning": "MORN", "midday": "NOON", "evening": "EVE", "bedtime": "HS",
                 "with_food": "C", "before_food": "AC", "after_food": "PC"}  # fmt: skip
_QUANTITY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(\S.*?)\s*")


def build_bundle(
    doc: PrescriptionDocument, *, base_url: str, signing_key: SigningKey
) -> dict[str, Any]:
    """The prescription as a signed FHIR document Bundle, as JSON-ready data."""
    parts = _Parts(doc, base_url)
    resources = _resources(doc, parts)
    unsigned = _bundle(doc, parts, resources, signature_data=None)
    jws = signing_key.sign_detached(bundle_signing_input(unsigned))
    return _bundle(doc, parts, resources, signature_data=base64.b64encode(jws.encode("ascii")))


def document_urn(prescription_id: str, part: str, *, base_url: str) -> str:
    """The ``urn:uuid:`` of one part ("bundle", "patient", ...) of a prescription's document."""
    name = f"{_normalise_base(base_url)}|{prescription_id}|{part}"
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


class _Parts:
    """The fullUrls and identifier systems of one prescription's document."""

    def __init__(self, doc: PrescriptionDocument, base_url: str) -> None:
        self.base = _normalise_base(base_url)
        self.prescription_id = doc.prescription_id

    def urn(self, part: str) -> str:
        return document_urn(self.prescription_id, part, base_url=self.base)

    def ref(self, part: str, display: str | None = None) -> Reference:
        return Reference(reference=self.urn(part), display=display)

    def system(self, kind: str) -> str:
        return f"{self.base}/fhir/sid/{kind}"


def _resources(doc: PrescriptionDocument, parts: _Parts) -> list[tuple[str, Resource]]:
    """Every resource but the Provenance, in document order, with its part name."""
    entries: list[tuple[str, Resource]] = [
        ("composition", _composition(doc, parts)),
        ("medication-request", _medication_request(doc, parts)),
        ("medication", _medication(doc.medication, parts)),
        ("patient", _patient(doc, parts)),
        ("practitioner", _practitioner(doc, parts)),
        ("clinic", _organization(doc.clinic, parts, "clinic", pharmacy=False)),
    ]
    if doc.pharmacy is not None:
        entries.append(("pharmacy", _organization(doc.pharmacy, parts, "pharmacy", pharmacy=True)))
    return entries


def _bundle(
    doc: PrescriptionDocument,
    parts: _Parts,
    resources: Sequence[tuple[str, Resource]],
    signature_data: bytes | None,
) -> dict[str, Any]:
    provenance = _provenance(doc, parts, [part for part, _ in resources], signature_data)
    entries = [*resources, ("provenance", provenance)]
    bundle = Bundle(
        id=_id(parts.urn("bundle")),
        identifier=Identifier(system=URI_IDENTIFIER, value=parts.urn("bundle")),
        type="document",
        timestamp=_issued(doc),
        entry=[BundleEntry(fullUrl=parts.urn(part), resource=res) for part, res in entries],
    )
    return bundle.model_dump(mode="json")


def _composition(doc: PrescriptionDocument, parts: _Parts) -> Composition:
    medication = doc.medication
    return Composition(
        id=_id(parts.urn("composition")),
        identifier=_prescription_identifier(doc, parts),
        status="final",
        type=CodeableConcept(
            coding=[
                Coding(
                    system=LOINC, code=PRESCRIPTION_DOCUMENT, display="Prescription for medication"
                )
            ],
            text="Prescription",
        ),
        subject=parts.ref("patient", doc.patient.name),
        date=_issued(doc),
        author=[parts.ref("practitioner", doc.prescriber.name)],
        title=f"Prescription {doc.prescription_id}",
        attester=[
            CompositionAttester(
                mode="legal",
                time=_issued(doc),
                party=parts.ref("practitioner", doc.prescriber.name),
            )
        ],
        custodian=parts.ref("clinic", doc.clinic.name),
        section=[
            CompositionSection(
                title="Prescribed medication",
                text=_narrative(
                    f"{_medication_text(medication)}. {medication.instructions} "
                    f"Quantity: {medication.quantity}. Repeats: {medication.repeats}. "
                    f"Substitution {'' if medication.substitution_allowed else 'not '}allowed. "
                    f"Valid until {doc.valid_until.isoformat()}."
                ),
                entry=[parts.ref("medication-request")],
            )
        ],
    )


def _medication_request(doc: PrescriptionDocument, parts: _Parts) -> MedicationRequest:
    medication = doc.medication
    dispense: dict[str, Any] = {
        # FHIR dateTime takes a date (valid through that day); the model's hint says datetime.
        "validityPeriod": Period(start=_issued(doc), end=doc.valid_until),  # type: ignore[arg-type]
        "numberOfRepeatsAllowed": medication.repeats,
        "quantity": _quantity(medication.quantity),
    }
    if medication.supply_days is not None:
        dispense["expectedSupplyDuration"] = Duration(
            value=Decimal(medication.supply_days), unit="days", system=UCUM, code="d"
        )
    if doc.pharmacy is not None:
        dispense["performer"] = parts.ref("pharmacy", doc.pharmacy.name)
    return MedicationRequest(
        id=_id(parts.urn("medication-request")),
        identifier=[_prescription_identifier(doc, parts)],
        status="active",
        intent="order",
        category=[
            CodeableConcept(
                coding=[
                    Coding(
                        system=MEDICATION_REQUEST_CATEGORY, code="community", display="Community"
                    )
                ]
            )
        ],
        medicationReference=parts.ref("medication", _medication_text(medication)),
        subject=parts.ref("patient", doc.patient.name),
        authoredOn=_issued(doc),
        requester=parts.ref("practitioner", doc.prescriber.name),
        note=[
            Annotation(text=f"Safety warning overridden by the prescriber: {reason}")
            for reason in doc.warnings_overridden
        ]
        or None,
        dosageInstruction=[_dosage(medication)],
        dispenseRequest=MedicationRequestDispenseRequest(**dispense),
        substitution=MedicationRequestSubstitution(allowedBoolean=medication.substitution_allowed),
    )


def _dosage(medication: MedicationLine) -> Dosage:
    """The dose instructions: the generated text and, when recorded, their structure."""
    text: dict[str, Any] = {
        "text": medication.instructions,
        "patientInstruction": medication.instructions,
        "route": _route(medication.route),
    }
    if medication.dosage is None:  # signed before dosages were structured
        return Dosage(**text)
    dosage = dosage_from_json(medication.dosage)
    frequency, duration, amount = dosage.frequency, dosage.duration, dosage.amount
    repeat: dict[str, Any] = {}
    if frequency.every_hours is not None:
        repeat.update(frequency=1, period=Decimal(frequency.every_hours), periodUnit="h")
    elif frequency.times is not None and frequency.per is not None:
        repeat.update(
            frequency=frequency.times, period=Decimal(1), periodUnit=_UCUM_PERIODS[frequency.per]
        )
    if duration.value is not None and duration.unit is not None:
        repeat["boundsDuration"] = Duration(
            value=Decimal(duration.value), unit=f"{duration.unit}s", system=UCUM,
            code=_UCUM_PERIODS[duration.unit],
        )  # fmt: skip
    when = [_EVENT_TIMING[word] for word in dosage.timing if word in _EVENT_TIMING]
    if when:
        repeat["when"] = when
    additional = [
        CodeableConcept(text=text)
        for text in (
            "on an empty stomach" if "empty_stomach" in dosage.timing else None,
            "until the next review" if duration.until_review else None,
            dosage.note,
        )
        if text
    ]
    dose = _dose_quantity(amount.value, amount.unit)
    maximum = None
    if frequency.as_needed and frequency.max_per_day and dose is not None:
        assert amount.value is not None
        maximum = Ratio(
            numerator=_dose_quantity(amount.value * frequency.max_per_day, amount.unit),
            denominator=Quantity(value=Decimal(1), unit="day", system=UCUM, code="d"),
        )
    return Dosage(
        **text,
        timing=Timing(repeat=TimingRepeat(**repeat)) if repeat else None,
        asNeededBoolean=frequency.as_needed,
        additionalInstruction=additional or None,
        doseAndRate=[DosageDoseAndRate(doseQuantity=dose)] if dose is not None else None,
        maxDosePerPeriod=maximum,
    )


def _dose_quantity(value: float | None, unit: str | None) -> Quantity | None:
    """One administration's amount, UCUM coded for mg, g, microgram and mL."""
    if value is None or unit is None:
        return None
    number = Decimal(f"{value:g}")
    code = _UCUM_UNITS.get(unit)
    if code is None:  # a counted unit: tablet, capsule, fingertip unit ...
        return Quantity(value=number, unit=unit.replace("_", " "))
    return Quantity(value=number, unit=unit, system=UCUM, code=code)


def _medication(medication: MedicationLine, parts: _Parts) -> Medication:
    codings = []
    if medication.rxnorm_code:
        codings.append(Coding(system=RXNORM, code=medication.rxnorm_code, display=medication.name))
    if medication.atc_code:
        codings.append(Coding(system=ATC, code=medication.atc_code, display=medication.name))
    ingredient = None
    if medication.rxnorm_code:
        # The RxNorm code is the ingredient's RXCUI; R4 strength is a Ratio, and ours is
        # free text, so the strength travels in the code's text instead.
        ingredient = [
            MedicationIngredient(
                itemCodeableConcept=CodeableConcept(
                    coding=[
                        Coding(system=RXNORM, code=medication.rxnorm_code, display=medication.name)
                    ],
                    text=medication.name,
                ),
                isActive=True,
            )
        ]
    return Medication(
        id=_id(parts.urn("medication")),
        identifier=[Identifier(system=parts.system("formulary"), value=medication.formulary_id)],
        code=CodeableConcept(coding=codings or None, text=_medication_text(medication)),
        form=CodeableConcept(text=medication.form),
        ingredient=ingredient,
    )


def _patient(doc: PrescriptionDocument, parts: _Parts) -> Patient:
    patient = doc.patient
    return Patient(
        id=_id(parts.urn("patient")),
        identifier=[Identifier(system=parts.system("patient"), value=patient.id)],
        name=[HumanName(text=patient.name)],
        gender=patient.sex,
        birthDate=patient.date_of_birth,
    )


def _practitioner(doc: PrescriptionDocument, parts: _Parts) -> Practitioner:
    prescriber = doc.prescriber
    licence = Identifier(
        use="official",
        system=prescriber.licence_system,
        value=prescriber.licence_number,
        assigner=Reference(display=prescriber.licence_authority),
    )
    return Practitioner(
        id=_id(parts.urn("practitioner")),
        identifier=[licence, Identifier(system=parts.system("practitioner"), value=prescriber.id)],
        name=[HumanName(text=prescriber.name)],
        qualification=[
            PractitionerQualification(
                identifier=[licence],
                code=CodeableConcept(text="Licence to prescribe"),
                issuer=Reference(display=prescriber.licence_authority),
            )
        ],
    )


def _organization(
    organisation: Organisation, parts: _Parts, part: str, *, pharmacy: bool
) -> Organization:
    return Organization(
        id=_id(parts.urn(part)),
        identifier=[Identifier(system=parts.system("organization"), value=organisation.id)],
        active=True,
        type=[
            CodeableConcept(
                coding=[
                    Coding(system=ORGANIZATION_TYPE, code="prov", display="Healthcare Provider")
                ],
                text="Pharmacy" if pharmacy else "Clinic",
            )
        ],
        name=organisation.name,
        telecom=[ContactPoint(system="phone", value=organisation.phone)]
        if organisation.phone
        else None,
        address=[Address(text=organisation.address)],
    )


def _provenance(
    doc: PrescriptionDocument, parts: _Parts, targets: Sequence[str], signature_data: bytes | None
) -> Provenance:
    return Provenance(
        id=_id(parts.urn("provenance")),
        target=[parts.ref(part) for part in targets],
        recorded=_issued(doc),
        agent=[
            ProvenanceAgent(
                type=CodeableConcept(
                    coding=[Coding(system=PARTICIPANT_TYPE, code="author", display="Author")]
                ),
                who=parts.ref("practitioner", doc.prescriber.name),
                onBehalfOf=parts.ref("clinic", doc.clinic.name),
            )
        ],
        signature=[
            Signature(
                type=[
                    Coding(
                        system=SIGNATURE_TYPE, code=AUTHOR_SIGNATURE, display="Author's Signature"
                    )
                ],
                when=_issued(doc),
                who=parts.ref("practitioner", doc.prescriber.name),
                targetFormat=TARGET_FORMAT,
                sigFormat=SIGNATURE_FORMAT,
                data=signature_data,
            )
        ],
    )


def _prescription_identifier(doc: PrescriptionDocument, parts: _Parts) -> Identifier:
    return Identifier(
        use="official", system=parts.system("prescription"), value=doc.prescription_id
    )


def _quantity(text: str) -> Quantity:
    """``"84 capsules"`` or ``"30 g"`` as a Quantity (UCUM coded when the unit is one)."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError("the quantity must be a number and a unit, e.g. '30 g'")
    value, unit = match.groups()
    code = _UCUM_UNITS.get(unit)
    if code is None:
        return Quantity(value=Decimal(value), unit=unit)
    return Quantity(value=Decimal(value), unit=unit, system=UCUM, code=code)


def _route(route: str) -> CodeableConcept:
    known = _ROUTES.get(route)
    if known is None:
        return CodeableConcept(text=route)
    code, display = known
    return CodeableConcept(coding=[Coding(system=SNOMED, code=code, display=display)], text=route)


def _medication_text(medication: MedicationLine) -> str:
    return f"{medication.name} {medication.strength} {medication.form}"


def _narrative(text: str) -> Narrative:
    return Narrative(
        status="generated",
        div=f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{html.escape(text)}</p></div>',
    )


def _issued(doc: PrescriptionDocument) -> datetime:
    if doc.issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    return doc.issued_at.astimezone(UTC)


def _id(urn: str) -> str:
    return urn.removeprefix("urn:uuid:")


def _normalise_base(base_url: str) -> str:
    return base_url.rstrip("/")
