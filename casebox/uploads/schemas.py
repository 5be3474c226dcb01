"""Shapes of the uploads API: the creation metadata and an upload's status."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from casebox.cases.models import PhotoView
from casebox.cases.schemas import PhotoSchema


class UploadMetadataSchema(Schema):
    """The decoded Upload-Metadata pairs of a creation request."""

    class Meta:
        unknown = EXCLUDE  # tus clients add their own pairs (e.g. "name", "relativePath")

    case_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    view = fields.Enum(PhotoView, by_value=True, required=True)
    # Accepted for tus clients that always send them; the bytes decide the type, and the
    # name is not kept (it may carry a person's name).
    filename = fields.String(validate=validate.Length(max=255))
    filetype = fields.String(validate=validate.Length(max=100))
    low_data = fields.String(load_default="0", validate=validate.OneOf(["0", "1"]))


class UploadSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": ["receiving", "complete"]})
    case_id = fields.Function(lambda upload: upload.case.public_id, dump_only=True)
    view = fields.String(dump_only=True)
    low_data = fields.Boolean(dump_only=True)
    offset = fields.Integer(attribute="upload_offset", dump_only=True)
    length = fields.Integer(attribute="upload_length", dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True)
    photo = fields.Nested(PhotoSchema, dump_only=True, allow_none=True)
    links = fields.Method("_links", dump_only=True)

    def _links(self, upload: Any) -> dict[str, str]:
        links = {"self": f"/api/v1/uploads/{upload.public_id}"}
        if upload.photo is not None:
            case_url = f"/api/v1/cases/{upload.case.public_id}"
            links["photo"] = f"{case_url}/photos/{upload.photo.public_id}"
        return links
