"""HTTP API of resumable uploads: tus 1.0.0 under /api/v1/uploads.

tus clients read status codes and headers; every error still carries a
problem+json body for the people who debug them.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError
from werkzeug.http import http_date

from casebox import services
from casebox.accounts.auth import current_api_user, public, requires
from casebox.accounts.models import Role
from casebox.api.idempotency import idempotent
from casebox.errors import ValidationFailed
from casebox.i18n import gettext
from casebox.uploads import operations
from casebox.uploads.models import Upload
from casebox.uploads.protocol import (
    CHUNK_MEDIA_TYPE,
    PHOTO_HEADER,
    TUS_EXTENSIONS,
    TUS_VERSION,
    byte_count,
    encode_metadata,
    parse_metadata,
    require_chunk_media_type,
    require_tus_version,
)
from casebox.uploads.schemas import UploadMetadataSchema, UploadSchema

blp = Blueprint(
    "uploads",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Resumable photo uploads (tus 1.0.0: core, creation, expiration, termination). "
        "Create with POST, send chunks with PATCH, ask for the offset with HEAD after a "
        "dropped connection. Every tus request carries 'Tus-Resumable: 1.0.0'."
    ),
)

_TUS_HEADER = {"in": "header", "name": "Tus-Resumable", "required": True,
               "schema": {"type": "string", "enum": [TUS_VERSION]}}  # fmt: skip
_INTEGER = {"schema": {"type": "integer"}}
_STRING = {"schema": {"type": "string"}}
_OFFSET_HEADERS = {"Upload-Offset": _INTEGER, "Upload-Expires": _STRING, "Tus-Resumable": _STRING}


def _upload_url(upload: Upload) -> str:
    return f"/api/v1/uploads/{upload.public_id}"


def _photo_url(upload: Upload) -> str | None:
    if upload.photo is None:
        return None
    return f"/api/v1/cases/{upload.case.public_id}/photos/{upload.photo.public_id}"


def _state_headers(upload: Upload) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(upload.upload_offset),
        "Upload-Length": str(upload.upload_length),
        "Upload-Expires": http_date(upload.expires_at),
    }
    photo = _photo_url(upload)
    if photo:
        headers[PHOTO_HEADER] = photo
    return headers


def _creation_metadata() -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = UploadMetadataSchema().load(
            parse_metadata(request.headers.get("Upload-Metadata"))
        )
    except ValidationError as error:
        errors = error.normalized_messages()
        names = ", ".join(sorted(errors))
        raise ValidationFailed(
            gettext("Invalid or missing Upload-Metadata keys: %(names)s.", names=names),
            errors=errors,
        ) from None
    return loaded


@blp.route("/uploads")
class Uploads(MethodView):
    @public
    @blp.response(
        204,
        headers={"Tus-Version": _STRING, "Tus-Extension": _STRING, "Tus-Max-Size": _INTEGER},
        description="What this tus server supports (public, for discovery and CORS preflight).",
    )
    def options(self) -> Response:
        """The tus versions, extensions and the largest upload this server takes."""
        response = Response(status=204)
        response.headers["Tus-Version"] = TUS_VERSION
        response.headers["Tus-Extension"] = TUS_EXTENSIONS
        response.headers["Tus-Max-Size"] = str(services.settings().max_upload_bytes)
        return response

    @requires(Role.PATIENT)
    @idempotent
    @blp.doc(
        parameters=[
            _TUS_HEADER,
            {"in": "header", "name": "Upload-Length", "required": True,
             "schema": {"type": "integer", "minimum": 1}},
            {"in": "header", "name": "Upload-Metadata", "required": True, "schema": {
                "type": "string",
                "description": "Comma-separated 'key base64(value)' pairs: case_id and view "
                "(required), low_data ('1' if the phone downsized the photo to at most "
                "2048 px), filename and filetype (accepted, not kept).",
            }},
        ]
    )  # fmt: skip
    @blp.response(201, UploadSchema, headers={"Location": _STRING, "Upload-Expires": _STRING})
    @blp.alt_response(404, description="No such case among yours.")
    @blp.alt_response(409, description="The case is no longer a draft.")
    @blp.alt_response(412, description="Missing or unsupported Tus-Resumable header.")
    @blp.alt_response(413, description="Upload-Length exceeds Tus-Max-Size.")
    def post(self) -> tuple[Upload, int, dict[str, str]]:
        """Start a resumable upload of one photo to a draft case."""
        require_tus_version(request.headers)
        length = byte_count(request.headers, "Upload-Length")
        fields = _creation_metadata()
        upload = operations.create_upload(
            current_api_user(),
            case_id=fields["case_id"],
            view=fields["view"],
            length=length,
            low_data=fields["low_data"] == "1",
        )
        headers = {"Location": _upload_url(upload), "Upload-Expires": http_date(upload.expires_at)}
        return upload, 201, headers


@blp.route("/uploads/<string:upload_id>")
class UploadItem(MethodView):
    @requires(Role.PATIENT)
    @blp.doc(parameters=[_TUS_HEADER])
    @blp.response(200, headers={**_OFFSET_HEADERS, "Upload-Length": _INTEGER,
                                "Upload-Metadata": _STRING, PHOTO_HEADER: _STRING})  # fmt: skip
    @blp.alt_response(404, description="No such upload among yours.")
    @blp.alt_response(410, description="The upload expired unfinished.")
    def head(self, upload_id: str) -> Response:
        """How many bytes the server holds: resume the upload from Upload-Offset."""
        require_tus_version(request.headers)
        upload = operations.view_upload(current_api_user(), upload_id)
        response = Response(status=200, headers=_state_headers(upload))
        response.headers["Upload-Metadata"] = encode_metadata(
            {"case_id": upload.case.public_id, "view": str(upload.view),
             "low_data": "1" if upload.low_data else "0"}
        )  # fmt: skip
        return response

    @requires(Role.PATIENT)
    @blp.response(200, UploadSchema)
    @blp.alt_response(404, description="No such upload among yours.")
    @blp.alt_response(410, description="The upload expired unfinished.")
    def get(self, upload_id: str) -> Upload:
        """The upload's progress as JSON, with the photo it became once complete."""
        return operations.view_upload(current_api_user(), upload_id)

    @requires(Role.PATIENT)
    @blp.doc(
        parameters=[
            _TUS_HEADER,
            {"in": "header", "name": "Upload-Offset", "required": True,
             "schema": {"type": "integer", "minimum": 0}},
        ],
        requestBody={"required": True, "content": {
            CHUNK_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
    )  # fmt: skip
    @blp.response(
        204,
        headers={**_OFFSET_HEADERS, PHOTO_HEADER: _STRING},
        description=f"Bytes appended. With the last byte the photo exists; {PHOTO_HEADER} "
        "names it and GET on the upload returns it.",
    )
    @blp.alt_response(404, description="No such upload among yours.")
    @blp.alt_response(409, description="Upload-Offset is not the server's offset.")
    @blp.alt_response(410, description="The upload expired unfinished.")
    @blp.alt_response(412, description="Missing or unsupported Tus-Resumable header.")
    @blp.alt_response(413, description="The chunk goes past Upload-Length.")
    @blp.alt_response(415, description=f"The body is not {CHUNK_MEDIA_TYPE}.")
    @blp.alt_response(422, description="The finished file is not a photo we accept.")
    def patch(self, upload_id: str) -> Response:
        """Append a chunk at Upload-Offset; a repeated final chunk changes nothing."""
        require_tus_version(request.headers)
        require_chunk_media_type(request.mimetype)
        offset = byte_count(request.headers, "Upload-Offset")
        outcome = operations.receive_chunk(
            current_api_user(),
            upload_id,
            offset=offset,
            body=request.stream,
            content_length=request.content_length,
        )
        headers = _state_headers(outcome.upload)
        del headers["Upload-Length"]
        return Response(status=204, headers=headers)

    @requires(Role.PATIENT)
    @blp.doc(parameters=[_TUS_HEADER])
    @blp.response(204, description="The upload and its bytes are gone; a photo it made stays.")
    @blp.alt_response(404, description="No such upload among yours.")
    def delete(self, upload_id: str) -> None:
        """Abandon an upload (tus termination)."""
        require_tus_version(request.headers)
        operations.terminate_upload(current_api_user(), upload_id)


@blp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    # Offsets change with every chunk; no cache may answer a HEAD (tus requires it).
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 412:
        response.headers["Tus-Version"] = TUS_VERSION
    return response
