"""Request and response shapes of the cases API."""

from __future__ import annotations

import math
from typing import Any

from marshmallow import Schema, fields, validate

from casebox.accounts.schemas import CHOOSE_ONE, StrictBoolean
from casebox.cases.body_sites import BODY_SITES
from casebox.cases.models import PhotoView
from casebox.i18n import N_, gettext

DURATIONS = ("days", "weeks", "months", "years", "since_birth")
FITZPATRICK_TYPES = ("I", "II", "III", "IV", "V", "VI")
IMAGE_VARIANTS = ("original", "review", "thumb")
# What a patient reads when an answer is out of bounds (marshmallow's own say "Length").
ENTRY_LENGTH = N_("Each line may have 1 to 200 characters.")
AT_MOST_50 = N_("Give at most 50 lines.")


class BodySiteSchema(Schema):
    code = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    region = fields.String(dump_only=True)
    side = fields.String(dump_only=True, allow_none=True)
    model_location = fields.String(dump_only=True)


class QuestionnaireSchema(Schema):
    duration = fields.String(required=True, validate=validate.OneOf(DURATIONS, error=CHOOSE_ONE))
    changed_size = StrictBoolean(required=True)
    changed_shape = StrictBoolean(required=True)
    changed_colour = StrictBoolean(required=True)
    itch = StrictBoolean(required=True)
    bleeding = StrictBoolean(required=True)
    pain = StrictBoolean(required=True)
    scaly = StrictBoolean(required=True)
    previous_skin_cancer = StrictBoolean(required=True)
    family_history_melanoma = StrictBoolean(required=True)
    fitzpatrick = fields.String(
        required=True, validate=validate.OneOf(FITZPATRICK_TYPES, error=CHOOSE_ONE)
    )
    medications = fields.List(
        fields.String(validate=validate.Length(min=1, max=200, error=ENTRY_LENGTH)),
        required=True,
        validate=validate.Length(max=50, error=AT_MOST_50),
    )
    allergies = fields.List(
        fields.String(validate=validate.Length(min=1, max=200, error=ENTRY_LENGTH)),
        required=True,
        validate=validate.Length(max=50, error=AT_MOST_50),
    )
    pregnant_or_breastfeeding = StrictBoolean(required=True)
    description = fields.String(
        required=True,
        validate=validate.Length(max=4000, error=N_("Write at most 4000 characters.")),
    )


class CaseCreateSchema(Schema):
    body_site = fields.String(
        required=True,
        validate=validate.OneOf(
            sorted(BODY_SITES), error=N_("Unknown body site; see /api/v1/body-sites.")
        ),
    )
    questionnaire = fields.Nested(QuestionnaireSchema, required=True)


class PhotoUploadFormSchema(Schema):
    view = fields.Enum(PhotoView, by_value=True, required=True)


class PhotoUploadFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


def _local_message(reason: dict[str, str]) -> str:
    """A stored quality reason's sentence (English) in the reader's language."""
    english = reason.get("message") or ""
    return gettext(english) if english else english


class QualityReasonSchema(Schema):
    code = fields.String(dump_only=True)
    severity = fields.String(dump_only=True, metadata={"enum": ["reject", "warn"]})
    message = fields.Function(
        _local_message,
        dump_only=True,
        metadata={"type": "string", "description": "What to do, in the reader's language."},
    )


def calibration_document(photo: Any) -> dict[str, Any] | None:
    calibration = photo.calibration
    if not calibration:
        return None
    x1, y1, x2, y2 = calibration["line"]
    pixels = math.hypot(x2 - x1, y2 - y1)
    return {**calibration, "mm_per_pixel": calibration["length_mm"] / pixels}


class PhotoSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    view = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    media_type = fields.String(dump_only=True)
    size_bytes = fields.Integer(dump_only=True)
    width = fields.Integer(dump_only=True)
    height = fields.Integer(dump_only=True)
    sha256 = fields.String(attribute="original_sha256", dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    quality_metrics = fields.Dict(
        keys=fields.String(), values=fields.Float(), dump_only=True, allow_none=True
    )
    calibration = fields.Function(calibration_document, dump_only=True, allow_none=True)
    quality_reasons = fields.List(
        fields.Nested(QualityReasonSchema), dump_only=True, allow_none=True
    )
    links = fields.Method("_links", dump_only=True)

    def _links(self, photo: Any) -> dict[str, str]:
        own = f"/api/v1/cases/{photo.case.public_id}/photos/{photo.public_id}"
        return {"self": own, **{v: f"{own}/image?variant={v}" for v in IMAGE_VARIANTS}}


class CaseSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    status = fields.String(dump_only=True)
    body_site = fields.String(dump_only=True)
    questionnaire = fields.Nested(QuestionnaireSchema, dump_only=True)
    photos = fields.List(fields.Nested(PhotoSchema), dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
    submitted_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    low_data = fields.Boolean(dump_only=True)


class TriageSchema(Schema):
    queue = fields.String(dump_only=True, allow_none=True)
    priority = fields.String(dump_only=True, allow_none=True)
    sla_due_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    routing_reasons = fields.List(fields.String(), dump_only=True, allow_none=True)
    failure_reason = fields.String(dump_only=True, allow_none=True)
    quality_override = fields.List(fields.Dict(), dump_only=True, allow_none=True)


class StaffCaseSchema(CaseSchema):
    """The case as staff see it: with the routing decision (patients never see it)."""

    triage = fields.Function(lambda case: TriageSchema().dump(case), dump_only=True)


class CaseSummarySchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    status = fields.String(dump_only=True)
    body_site = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    submitted_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema), dump_only=True)
    page = fields.Integer(dump_only=True)
    per_page = fields.Integer(dump_only=True)
    total = fields.Integer(dump_only=True)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ImageArgsSchema(Schema):
    variant = fields.String(load_default="original", validate=validate.OneOf(IMAGE_VARIANTS))


class SubmitSchema(Schema):
    accept_quality_warnings = StrictBoolean(load_default=False)


class SubmitResultSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    status = fields.String(dump_only=True)


class CaseHistorySchema(Schema):
    items = fields.List(fields.Dict(), dump_only=True)
