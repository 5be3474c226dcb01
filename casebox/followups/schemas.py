"""Shapes of follow-ups and of patients' replies on the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from casebox import clock
from casebox.followups.operations import STATES

# A follow-up is at most two years away.
MAX_DAYS_AHEAD = 730


class FollowUpInputSchema(Schema):
    """A follow-up set from an assessment: an interval or a date, and instructions."""

    interval_days = fields.Integer(
        validate=validate.Range(
            min=1, max=MAX_DAYS_AHEAD, error="Give a number of days from 1 to 730."
        ),
        metadata={"description": "Days from now"},
    )
    due_on = fields.Date(metadata={"description": "A date in the next two years"})
    instructions = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1000, error="Write 1 to 1000 characters."),
        metadata={"example": "Photograph the same spot in 6 weeks, same distance and light."},
    )

    @validates_schema
    def _interval_or_date(self, data: dict[str, Any], **_: Any) -> None:
        if "interval_days" in data and "due_on" in data:
            raise ValidationError("Give an interval or a date, not both.", "due_on")
        if "interval_days" not in data and "due_on" not in data:
            raise ValidationError("Give an interval in days or a date.", "interval_days")
        if not (data.get("instructions") or "").strip():
            raise ValidationError("Tell the patient what to photograph.", "instructions")
        due_on = data.get("due_on")
        if due_on is not None:
            today = clock.now().date()
            if due_on <= today:
                raise ValidationError("Choose a date in the future.", "due_on")
            if due_on > today + timedelta(days=MAX_DAYS_AHEAD):
                raise ValidationError("Choose a date within two years.", "due_on")


class FollowUpSchema(Schema):
    """A follow-up as its patient and the staff see it."""

    id = fields.String(attribute="public_id", dump_only=True)
    due_at = fields.AwareDateTime(dump_only=True)
    instructions = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    follow_up_case_id = fields.Function(
        lambda f: f.follow_up_case.public_id if f.follow_up_case else None,
        dump_only=True,
        allow_none=True,
    )


class StaffFollowUpSchema(FollowUpSchema):
    baseline_case_id = fields.String(attribute="baseline_case.public_id", dump_only=True)
    set_by = fields.Function(
        lambda f: {"id": f.specialist.public_id, "name": f.specialist.name}, dump_only=True
    )
    created_at = fields.AwareDateTime(dump_only=True)


class FollowUpListArgsSchema(Schema):
    state = fields.String(
        load_default="overdue",
        validate=validate.OneOf(STATES, error="One of overdue, due, scheduled."),
    )


class FollowUpRowSchema(Schema):
    id = fields.String(attribute="follow_up.public_id", dump_only=True)
    status = fields.String(attribute="follow_up.status", dump_only=True)
    patient_name = fields.String(dump_only=True)
    age = fields.Integer(dump_only=True, allow_none=True)
    body_site = fields.String(attribute="follow_up.baseline_case.body_site", dump_only=True)
    due_at = fields.AwareDateTime(attribute="follow_up.due_at", dump_only=True)
    days_overdue = fields.Integer(dump_only=True)
    instructions = fields.String(attribute="follow_up.instructions", dump_only=True)
    baseline_case_id = fields.String(attribute="follow_up.baseline_case.public_id", dump_only=True)
    follow_up_case_id = fields.Function(
        lambda row: FollowUpSchema().dump(row.follow_up)["follow_up_case_id"],
        dump_only=True,
        allow_none=True,
    )


class FollowUpListSchema(Schema):
    items = fields.List(fields.Nested(FollowUpRowSchema), dump_only=True)


class ReplyInputSchema(Schema):
    """The patient's answer to a request for more information (photos go up first)."""

    message = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000, error="Write 1 to 4000 characters."),
    )
    accept_quality_warnings = fields.Boolean(load_default=False)

    @validates_schema
    def _not_blank(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("message") or "").strip():
            raise ValidationError("Write your answer to the specialist.", "message")


class ReplySchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    message = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
