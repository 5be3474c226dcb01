"""Request and response shapes of photo alignments."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields

from casebox.accounts.schemas import StrictBoolean


class AlignmentRequestSchema(Schema):
    fixed_photo_id = fields.String(
        required=True, metadata={"description": "The reference (baseline) photo"}
    )
    moving_photo_id = fields.String(
        required=True, metadata={"description": "The photo laid over it (follow-up)"}
    )


class AlignmentDecisionSchema(Schema):
    accepted = StrictBoolean(required=True)


class AlignmentSchema(Schema):
    """A homography from the moving photo's original pixels to the fixed photo's."""

    id = fields.String(attribute="public_id", dump_only=True)
    fixed_photo_id = fields.Function(lambda a: a.fixed_photo.public_id, dump_only=True)
    moving_photo_id = fields.Function(lambda a: a.moving_photo.public_id, dump_only=True)
    matrix = fields.List(fields.List(fields.Float()), dump_only=True)
    inliers = fields.Integer(dump_only=True)
    matches = fields.Integer(dump_only=True)
    method = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    accepted = fields.Boolean(
        dump_only=True,
        allow_none=True,
        metadata={"description": "null until the specialist accepts or rejects it"},
    )
    decided_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    links = fields.Method("_links", dump_only=True)

    def _links(self, alignment: Any) -> dict[str, str]:
        own = url_for("alignments.AlignmentItem", alignment_id=alignment.public_id)
        return {"self": own, "difference": f"{own}/difference"}
