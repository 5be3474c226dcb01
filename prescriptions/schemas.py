"""Request and response shapes of prescriptions, pharmacies and verification."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from casebox.accounts.schemas import StrictBoolean
from prescriptions.formulary import formulary
from prescriptions.models import Prescription, PrescriptionStatus
from prescriptions.operations import events_of

TEXT = validate.Length(min=1, max=1000)


class DoseSchema(Schema):
    amount = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=20))
    per = fields.String(required=True, validate=validate.OneOf(("day", "week")))


class PregnancyTestSchema(Schema):
    date = fields.Date(required=True)
    negative = StrictBoolean(required=True)
    documented_by = fields.String(
        required=True,
        validate=validate.Length(min=2, max=200),
        metadata={"description": "Who recorded the result, e.g. 'City Lab, serum hCG'"},
    )
    source = fields.String(
        required=True, validate=validate.OneOf(("laboratory", "clinic", "self_reported"))
    )


class DraftSchema(Schema):
    """A prescription as the prescriber writes it (checked for safety when signed)."""

    formulary_id = fields.String(required=True, metadata={"description": "GET /formulary"})
    form = fields.String(required=True, validate=validate.Length(min=1, max=40))
    route = fields.String(required=True, validate=validate.Length(min=1, max=20))
    strength = fields.String(required=True, validate=validate.Length(min=1, max=40))
    dose = fields.Nested(DoseSchema, required=True)
    instructions = fields.String(
        required=True,
        validate=TEXT,
        metadata={"description": "For the patient: 'Take one capsule twice a day with food.'"},
    )
    quantity = fields.String(required=True, validate=validate.Length(min=1, max=60))
    supply_days = fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    repeats = fields.Integer(load_default=0, validate=validate.Range(min=0, max=12))
    substitution_allowed = StrictBoolean(load_default=True)
    validity_days = fields.Integer(validate=validate.Range(min=1, max=365))
    pharmacy_id = fields.String(metadata={"description": "Default: the patient's nomination"})
    pregnancy_tests = fields.List(fields.Nested(PregnancyTestSchema), load_default=list)
    patient_weight_kg = fields.Float(
        validate=validate.Range(min=0.5, max=500),
        metadata={"description": "Needed where the dose is limited per kg (isotretinoin)"},
    )

    @post_load
    def _flatten_dose(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        dose = data.pop("dose")
        data.update(dose_amount=dose["amount"], dose_unit=dose["unit"], dose_period=dose["per"])
        data["pregnancy_tests"] = [
            {**test, "date": test["date"].isoformat()} for test in data["pregnancy_tests"]
        ]
        return data


class OverrideSchema(Schema):
    key = fields.String(required=True, metadata={"description": "The warning's key"})
    reason = fields.String(required=True, validate=validate.Length(min=5, max=500))


class SignSchema(Schema):
    totp_code = fields.String(
        required=True, validate=validate.Regexp(r"^\d{6}$", error="Six digits.")
    )
    overrides = fields.List(fields.Nested(OverrideSchema), load_default=list)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class DispenseSchema(Schema):
    dispense_number = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "1 for the first supply, 2 for the first repeat, ..."},
    )


class AddressSchema(Schema):
    pharmacy_id = fields.String(required=True)


class InboxArgsSchema(Schema):
    status = fields.Enum(PrescriptionStatus, by_value=True)


class VerifyArgsSchema(Schema):
    number = fields.String(required=True, validate=validate.Length(max=40))
    code = fields.String(required=True, validate=validate.Length(max=100))


class PharmacySchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    name = fields.String(dump_only=True)
    address = fields.String(dump_only=True)
    phone = fields.String(dump_only=True, allow_none=True)


class FindingSchema(Schema):
    key = fields.String(dump_only=True, metadata={"description": "Name it to override"})
    code = fields.String(dump_only=True)
    severity = fields.String(dump_only=True, metadata={"enum": ["block", "warning"]})
    message = fields.String(dump_only=True)
    overridden = fields.Boolean(dump_only=True)
    reason = fields.String(dump_only=True, allow_none=True)


class EventSchema(Schema):
    action = fields.String(dump_only=True)
    at = fields.AwareDateTime(attribute="occurred_at", dump_only=True)
    by = fields.Function(lambda e: e.actor.name if e.actor else None, dump_only=True)
    pharmacy = fields.Function(lambda e: e.pharmacy.name if e.pharmacy else None, dump_only=True)
    reason = fields.String(dump_only=True, allow_none=True)
    dispense_number = fields.Integer(dump_only=True, allow_none=True)


class PrescriptionSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    number = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    case_id = fields.Function(lambda p: p.case.public_id, dump_only=True)
    prescriber = fields.Function(lambda p: p.prescriber.name, dump_only=True)
    patient = fields.Method(
        "_patient",
        dump_only=True,
        metadata={"description": "Who it is for, so a pharmacy can check who collects it"},
    )
    pharmacy = fields.Nested(PharmacySchema, dump_only=True, allow_none=True)
    formulary_id = fields.String(dump_only=True)
    medicine = fields.Method("_medicine", dump_only=True)
    form = fields.String(dump_only=True)
    route = fields.String(dump_only=True)
    strength = fields.String(dump_only=True)
    dose = fields.Function(
        lambda p: {"amount": p.dose_amount, "unit": p.dose_unit, "per": p.dose_period},
        dump_only=True,
    )
    instructions = fields.String(dump_only=True)
    quantity = fields.String(dump_only=True)
    supply_days = fields.Integer(dump_only=True)
    repeats = fields.Integer(dump_only=True)
    substitution_allowed = fields.Boolean(dump_only=True)
    validity_days = fields.Integer(dump_only=True)
    dispensed = fields.Function(
        lambda p: {"count": p.dispensed_count, "of": p.dispenses_allowed}, dump_only=True
    )
    safety = fields.List(fields.Nested(FindingSchema), attribute="safety_findings", dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    issued_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    valid_until = fields.Date(dump_only=True, allow_none=True)
    links = fields.Method("_links", dump_only=True)

    def _patient(self, prescription: Prescription) -> dict[str, str | None]:
        profile = prescription.patient.patient
        born = profile.date_of_birth.isoformat() if profile else None
        return {"name": prescription.patient.name, "date_of_birth": born}

    def _medicine(self, prescription: Prescription) -> str:
        medicine = formulary().get(prescription.formulary_id)
        return medicine.name if medicine else prescription.formulary_id

    def _links(self, prescription: Prescription) -> dict[str, str]:
        own = f"/api/v1/prescriptions/{prescription.public_id}"
        if prescription.status == PrescriptionStatus.DRAFT:
            return {"self": own}
        return {"self": own, "fhir": f"{own}/fhir", "pdf": f"{own}/pdf"}


class PrescriptionDetailSchema(PrescriptionSchema):
    history = fields.Method("_history", dump_only=True)

    def _history(self, prescription: Prescription) -> list[dict[str, Any]]:
        return list(EventSchema(many=True).dump(events_of(prescription)))


class VerificationSchema(Schema):
    """What anyone holding the number and the access code may learn."""

    number = fields.Function(lambda v: v.prescription.number, dump_only=True)
    status = fields.Function(lambda v: str(v.prescription.status), dump_only=True)
    medicine = fields.Function(lambda v: v.prescription.document["medication"]["name"])
    strength = fields.Function(lambda v: v.prescription.strength, dump_only=True)
    prescriber = fields.Function(lambda v: v.prescription.document["prescriber"]["name"])
    issued_at = fields.Function(lambda v: v.prescription.issued_at.isoformat(), dump_only=True)
    valid_until = fields.Function(lambda v: v.prescription.valid_until.isoformat())
    dispensed = fields.Function(
        lambda v: {"count": v.prescription.dispensed_count, "of": v.prescription.dispenses_allowed}
    )
    checked_at = fields.AwareDateTime(dump_only=True)
