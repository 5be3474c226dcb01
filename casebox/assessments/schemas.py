"""Shapes of assessments on the API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from casebox.assessments.diagnoses import SNOMED_SYSTEM
from casebox.assessments.models import AiAgreement, Certainty, Management
from casebox.followups.schemas import FollowUpInputSchema
from casebox.review.schemas import PersonSchema


class DiagnosisInputSchema(Schema):
    code = fields.String(validate=validate.Length(min=6, max=18))
    text = fields.String(validate=validate.Length(min=1, max=500))

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("code") and not data.get("text"):
            raise ValidationError("Give a coded diagnosis or a free-text one.", "code")


class AssessmentInputSchema(Schema):
    diagnosis = fields.Nested(DiagnosisInputSchema, required=True)
    certainty = fields.Enum(Certainty, by_value=True, required=True)
    management = fields.Enum(Management, by_value=True, required=True)
    information_request = fields.String(validate=validate.Length(max=2000))
    patient_message = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    internal_note = fields.String(validate=validate.Length(max=4000))
    ai_agreement = fields.Enum(AiAgreement, by_value=True, required=True)
    follow_up = fields.Nested(
        FollowUpInputSchema,
        metadata={"description": "Ask to see the same spot again: an interval or a date"},
    )

    @validates_schema
    def _request_when_asking(self, data: dict[str, Any], **_: Any) -> None:
        asking = data.get("management") == Management.MORE_INFORMATION
        if asking and data.get("follow_up"):
            raise ValidationError(
                "Set a follow-up once the case is finished, not while asking for more.",
                "follow_up",
            )
        if asking and not (data.get("information_request") or "").strip():
            raise ValidationError(
                "Say exactly what the patient should send.", "information_request"
            )
        if not asking and data.get("information_request"):
            raise ValidationError(
                "Only a request for more information carries one.", "information_request"
            )


class DiagnosisSchema(Schema):
    code = fields.String(attribute="diagnosis_code", dump_only=True, allow_none=True)
    system = fields.Function(
        lambda a: SNOMED_SYSTEM if a.diagnosis_code else None, dump_only=True, allow_none=True
    )
    display = fields.String(attribute="diagnosis_display", dump_only=True, allow_none=True)
    text = fields.String(attribute="diagnosis_text", dump_only=True, allow_none=True)


class AssessmentSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    case_id = fields.String(attribute="case.public_id", dump_only=True)
    specialist = fields.Nested(PersonSchema, dump_only=True)
    diagnosis = fields.Function(lambda a: DiagnosisSchema().dump(a), dump_only=True)
    certainty = fields.String(dump_only=True)
    management = fields.String(dump_only=True)
    information_request = fields.String(dump_only=True, allow_none=True)
    patient_message = fields.String(dump_only=True)
    internal_note = fields.String(dump_only=True, allow_none=True)
    ai_agreement = fields.String(dump_only=True)
    model = fields.Function(
        lambda a: {"name": a.model_name, "version": a.model_version} if a.model_name else None,
        dump_only=True,
    )
    created_at = fields.AwareDateTime(dump_only=True)
    case_status = fields.String(attribute="case.status", dump_only=True)


class PatientResponseSchema(Schema):
    """What the patient sees of an assessment: the decision and the messages, nothing internal."""

    decision = fields.String(attribute="management", dump_only=True)
    message = fields.String(attribute="patient_message", dump_only=True)
    information_request = fields.String(dump_only=True, allow_none=True)
    responded_at = fields.AwareDateTime(attribute="created_at", dump_only=True)


class DiagnosisArgsSchema(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CodedDiagnosisSchema(Schema):
    code = fields.String(dump_only=True)
    system = fields.Constant(SNOMED_SYSTEM, dump_only=True)
    display = fields.String(dump_only=True)
    group = fields.String(dump_only=True)


class ModelAgreementSchema(Schema):
    model_name = fields.String(dump_only=True)
    model_version = fields.String(dump_only=True)
    assessed = fields.Integer(dump_only=True)
    agreed = fields.Integer(dump_only=True)
    disagreed = fields.Integer(dump_only=True)
    agreement_rate = fields.Float(dump_only=True, allow_none=True)


class ModelAgreementReportSchema(Schema):
    items = fields.List(fields.Nested(ModelAgreementSchema), dump_only=True)
