"""Shapes of claims on the API."""

from __future__ import annotations

from marshmallow import Schema, fields


class PersonSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    name = fields.String(dump_only=True)


class ClaimSchema(Schema):
    case_id = fields.String(dump_only=True)
    specialist = fields.Nested(PersonSchema, dump_only=True)
    claimed_at = fields.AwareDateTime(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True)


class ReassignSchema(Schema):
    specialist_id = fields.String(required=True)
