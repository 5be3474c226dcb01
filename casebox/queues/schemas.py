"""Response shapes of the queues API."""

from __future__ import annotations

from marshmallow import Schema, fields

from casebox.cases.schemas import CaseSummarySchema


class QueueSummarySchema(Schema):
    name = fields.String(dump_only=True)
    label = fields.String(attribute="rule.label", dump_only=True)
    priority = fields.String(attribute="rule.priority", dump_only=True)
    sla_working_days = fields.Integer(attribute="rule.sla_working_days", dump_only=True)
    waiting = fields.Integer(dump_only=True)
    due_soon = fields.Integer(dump_only=True)
    breached = fields.Integer(dump_only=True)


class QueuedCaseSchema(CaseSummarySchema):
    queue = fields.String(dump_only=True)
    priority = fields.String(dump_only=True)
    sla_due_at = fields.AwareDateTime(dump_only=True)
    routing_reasons = fields.List(fields.String(), dump_only=True)


class QueuePageSchema(Schema):
    queue = fields.String(dump_only=True)
    items = fields.List(fields.Nested(QueuedCaseSchema), dump_only=True)
    page = fields.Integer(dump_only=True)
    per_page = fields.Integer(dump_only=True)
    total = fields.Integer(dump_only=True)
