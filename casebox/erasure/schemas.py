"""Request and response shapes of the erasure API: dates and numbers, no clinical content."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

CONFIRMATION = "ERASE"
STATUSES = ("pending", "purging", "purged")


class ErasureInputSchema(Schema):
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"description": "Your password, to confirm it is you."},
    )
    confirm = fields.String(
        required=True,
        validate=validate.Equal(CONFIRMATION, error=f"Type {CONFIRMATION} to confirm."),
        metadata={"description": f'Exactly "{CONFIRMATION}".'},
    )


class ErasureSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    status = fields.String(
        dump_only=True,
        metadata={"description": "pending (records kept until purge_due_at), purging, purged."},
    )
    requested_at = fields.AwareDateTime(dump_only=True)
    retention_days = fields.Integer(dump_only=True)
    purge_due_at = fields.AwareDateTime(
        dump_only=True, metadata={"description": "When the records will be purged."}
    )
    purged_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class ErasureRequestSchema(ErasureSchema):
    """What staff see of a request: whose (by account id), how asked, and the numbers."""

    user_id = fields.String(attribute="user.public_id", dump_only=True)
    source = fields.String(dump_only=True)
    counts = fields.Dict(
        keys=fields.String(),
        dump_only=True,
        metadata={"description": "How many things the request stopped and the purge deleted."},
    )


class ErasureListArgsSchema(Schema):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(["pending", "purged"]),
        metadata={"description": "pending (not yet purged, purging included) or purged."},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
