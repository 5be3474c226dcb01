"""Request and response shapes of prescriptions, pharmacies and verification."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from casebox.accounts.schemas import StrictBoolean
from prescriptions import dosage as dosing
from prescriptions.formulary import formulary
from prescriptions.models import Prescription, PrescriptionStatus
from prescriptions.operations import events_of
from prescriptions.verification import signature_valid


class AmountSchema(Schema):
    """How much each time: ``{"value": 1, "unit": "capsule"}`` or ``{"unquantified": ...}``."""

    value = fields.Float(
        validate=validate.Range(min=0, max=1000, min_inclusive=False), allow_nan=False
    )
    unit = fields.String(validate=validate.OneOf(dosing.UNITS))
    unquantified = fields.String(
        validate=validate.OneOf(dosing.UNQUANTIFIED),
        metadata={"description": "For topicals the formulary does not quantify"},
    )

    @validates_schema
    def _one_way(self, data: dict[str, Any], **_: Any) -> None:
        if "unquantified" in data:
            if "value" in data or "unit" in data:
                raise ValidationError(
                    "Give either an amount and unit or an unquantified amount.", "unquantified"
                )
            return
        missing = {
            name: ["Missing data for required field."] for name in ("value", "unit")
            if name not in data
        }  # fmt: skip
        if missing:
            raise ValidationError(missing)
        if data["unit"] in dosing.COUNTED_UNITS:
            step = 0.25 if data["unit"] == "tablet" else 1.0
            if not (data["value"] / step).is_integer():
                whole = "a quarter, a half or whole tablets" if step < 1 else "whole numbers"
                raise ValidationError(f"A {data['unit']} is counted in {whole}.", "value")


class FrequencySchema(Schema):
    """``{"times": 2, "per": "day"}``, ``{"every_hours": 8}``; optional ``as_needed``."""

    times = fields.Integer(validate=validate.Range(min=1, max=24))
    per = fields.String(validate=validate.OneOf(dosing.FREQUENCY_PERIODS))
    every_hours = fields.Integer(validate=validate.Range(min=1, max=168))
    as_needed = StrictBoolean(load_default=False)
    max_per_day = fields.Integer(
        validate=validate.Range(min=1, max=24),
        metadata={"description": "Required when as needed: the most times in a day"},
    )

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        if "every_hours" in data and ("times" in data or "per" in data):
            raise ValidationError(
                "Give either times per day or week, or every N hours.", "every_hours"
            )
        if ("times" in data) != ("per" in data):
            field = "per" if "times" in data else "times"
            raise ValidationError("Give how many times, per day or per week.", field)
        if data.get("per") == "week" and data.get("times", 0) > 7:
            raise ValidationError("More than 7 times a week: give it per day.", "times")
        if data["as_needed"]:
            if "max_per_day" not in data:
                raise ValidationError("When needed, up to how many times a day?", "max_per_day")
            # Every N hours when needed is a minimum spacing; N times a day is a count.
            if data.get("per") == "day" and data["max_per_day"] < data.get("times", 0):
                raise ValidationError("The daily maximum is below the times a day.", "max_per_day")
        elif "max_per_day" in data:
            raise ValidationError(
                "A daily maximum is only for doses taken when needed.", "max_per_day"
            )
        elif "times" not in data and "every_hours" not in data:
            raise ValidationError(
                "Give how often: times per day or week, or every N hours.", "times"
            )


_DURATION_MAX = {"day": 365, "week": 104, "month": 24}


class DurationSchema(Schema):
    """``{"value": 12, "unit": "week"}`` or ``{"until_review": true}``."""

    value = fields.Integer(validate=validate.Range(min=1, max=365))
    unit = fields.String(validate=validate.OneOf(dosing.DURATION_UNITS))
    until_review = StrictBoolean()

    @validates_schema
    def _one_way(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("until_review"):
            if "value" in data or "unit" in data:
                raise ValidationError("Give either a duration or until review.", "until_review")
            return
        missing = {
            name: ["Missing data for required field."] for name in ("value", "unit")
            if name not in data
        }  # fmt: skip
        if missing:
            raise ValidationError(missing)
        most = _DURATION_MAX[data["unit"]]
        if data["value"] > most:
            raise ValidationError(f"At most {most} {data['unit']}s.", "value")


class DosageSchema(Schema):
    """Structured dose instructions; the patient's text and the dose total come from them."""

    amount = fields.Nested(AmountSchema, required=True)
    frequency = fields.Nested(FrequencySchema, required=True)
    duration = fields.Nested(DurationSchema, required=True)
    timing = fields.List(
        fields.String(validate=validate.OneOf(dosing.TIMINGS)),
        load_default=list,
        metadata={"description": "When: morning, midday, evening, bedtime; food"},
    )
    note = fields.String(
        allow_none=True,
        validate=validate.Length(max=dosing.NOTE_MAX),
        metadata={"description": "A short addition, e.g. 'Swallow with a full glass of water.'"},
    )

    @validates_schema
    def _timing(self, data: dict[str, Any], **_: Any) -> None:
        timing = data.get("timing", [])
        if len(set(timing)) != len(timing):
            raise ValidationError("Each timing word once.", "timing")
        if sum(word in dosing.FOOD for word in timing) > 1:
            raise ValidationError("At most one of the words about food.", "timing")
        frequency = data.get("frequency") or {}
        times_of_day = sum(word in dosing.TIMES_OF_DAY for word in timing)
        if frequency.get("per") == "day" and times_of_day > frequency.get("times", 24):
            raise ValidationError("More times of day than times a day.", "timing")

    @post_load
    def _value(self, data: dict[str, Any], **_: Any) -> dosing.Dosage:
        return dosing.dosage_from_json(data)


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
    dosage = fields.Nested(
        DosageSchema,
        required=True,
        metadata={"description": "The patient's instructions and the dose total come from it"},
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
    def _plain(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["pregnancy_tests"] = [
            {**test, "date": test["date"].isoformat()} for test in data["pregnancy_tests"]
        ]
        return data


class DosagePreviewSchema(Schema):
    """A dosage being typed, with what it is of: the text and total are previewed."""

    formulary_id = fields.String(metadata={"description": "To check unquantified amounts"})
    route = fields.String(required=True, validate=validate.Length(min=1, max=20))
    strength = fields.String(load_default="", validate=validate.Length(max=40))
    dosage = fields.Nested(DosageSchema, required=True)


class DosagePreviewResultSchema(Schema):
    text = fields.String(dump_only=True, metadata={"description": "As it will be printed"})
    dose = fields.Raw(
        dump_only=True, allow_none=True, metadata={"description": "The derived total, or null"}
    )


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
    dosage = fields.Raw(
        dump_only=True,
        allow_none=True,
        metadata={"description": "As entered (null on prescriptions written before it)"},
    )
    dose = fields.Function(
        lambda p: (
            None
            if p.dose_amount is None
            else {"amount": p.dose_amount, "unit": p.dose_unit, "per": p.dose_period}
        ),
        dump_only=True,
        allow_none=True,
        metadata={"description": "The most per day or week, derived; null when unquantified"},
    )
    instructions = fields.String(
        dump_only=True, metadata={"description": "Generated from the dosage, in English"}
    )
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
    """What anyone holding the number and the access code may learn: genuine, status, expiry.

    Nothing more for a visitor who is not signed in; a pharmacist also sees what was
    prescribed, by whom (:class:`PharmacistVerificationSchema`).
    """

    number = fields.Function(lambda v: v.prescription.number, dump_only=True)
    status = fields.Function(lambda v: str(v.prescription.status), dump_only=True)
    issued_at = fields.Function(lambda v: v.prescription.issued_at.isoformat(), dump_only=True)
    valid_until = fields.Function(
        lambda v: v.prescription.valid_until.isoformat(),
        metadata={"description": "The expiry: the last day it may be dispensed."},
    )
    signature_valid = fields.Function(
        lambda v: signature_valid(v.prescription),
        metadata={"description": "Whether the stored document's signature verifies."},
    )
    dispensed = fields.Function(
        lambda v: {"count": v.prescription.dispensed_count, "of": v.prescription.dispenses_allowed}
    )
    checked_at = fields.AwareDateTime(dump_only=True)


class PharmacistVerificationSchema(VerificationSchema):
    """The verification as a signed-in pharmacist sees it, to compare with the paper."""

    medicine = fields.Function(lambda v: v.prescription.document["medication"]["name"])
    strength = fields.Function(lambda v: v.prescription.strength, dump_only=True)
    prescriber = fields.Function(lambda v: v.prescription.document["prescriber"]["name"])
