"""Shapes of the queues API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from casebox.cases.schemas import CaseSummarySchema, PageArgsSchema
from casebox.queues.rules import PRIORITY_RANK
from casebox.review.schemas import ClaimSchema


class QueueSummarySchema(Schema):
    name = fields.String(dump_only=True)
    label = fields.String(attribute="rule.label", dump_only=True)
    priority = fields.String(attribute="rule.priority", dump_only=True)
    sla_working_days = fields.Integer(attribute="rule.sla_working_days", dump_only=True)
    waiting = fields.Integer(dump_only=True, metadata={"description": "Not being reviewed now"})
    in_review = fields.Integer(dump_only=True)
    due_soon = fields.Integer(dump_only=True, metadata={"description": "Due within 24 hours"})
    breached = fields.Integer(dump_only=True)


class QueueArgsSchema(PageArgsSchema):
    priority = fields.String(validate=validate.OneOf(list(PRIORITY_RANK)))
    sla = fields.String(validate=validate.OneOf(["breached", "due_soon", "ok"]))
    claim = fields.String(validate=validate.OneOf(["unclaimed", "mine", "others"]))
    body_site = fields.String(validate=validate.Length(max=40))


class QueuePatientSchema(Schema):
    age = fields.Integer(attribute="patient_age", dump_only=True, allow_none=True)
    sex = fields.String(attribute="patient_sex", dump_only=True, allow_none=True)


class QueuedClaimSchema(ClaimSchema):
    mine = fields.Boolean(dump_only=True)


class QueuedCaseSchema(CaseSummarySchema):
    queue = fields.String(dump_only=True)
    priority = fields.String(dump_only=True)
    sla_due_at = fields.AwareDateTime(dump_only=True)
    sla_state = fields.String(dump_only=True, metadata={"enum": ["breached", "due_soon", "ok"]})
    routing_reasons = fields.List(fields.String(), dump_only=True)
    patient = fields.Function(lambda item: QueuePatientSchema().dump(item), dump_only=True)
    claim = fields.Function(
        lambda item: (
            None if item.claim is None else {**ClaimSchema().dump(item.claim), "mine": item.mine}
        ),
        dump_only=True,
    )


class QueuePageSchema(Schema):
    queue = fields.String(dump_only=True)
    items = fields.List(fields.Nested(QueuedCaseSchema), dump_only=True)
    page = fields.Integer(dump_only=True)
    per_page = fields.Integer(dump_only=True)
    total = fields.Integer(dump_only=True)
