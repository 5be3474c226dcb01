"""RFC 9457 problem details for every error the API answers.

Titles, details and field messages are in the request's language: titles and
marshmallow's stock messages are translated here, inside the request; our own details
are translated where they are raised.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json
from werkzeug.exceptions import HTTPException

from casebox.errors import CaseboxError
from casebox.i18n import N_, gettext

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://casebox.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Titles and slugs for framework-level errors that never pass through CaseboxError.
_HTTP_PROBLEMS = {
    400: ("bad-request", N_("Bad request")),
    401: ("unauthenticated", N_("Authentication required")),
    403: ("forbidden", N_("Not allowed")),
    404: ("not-found", N_("Not found")),
    405: ("method-not-allowed", N_("Method not allowed")),
    409: ("conflict", N_("Conflict with the current state")),
    413: ("payload-too-large", N_("Request body too large")),
    415: ("unsupported-media-type", N_("Unsupported media type")),
    422: ("validation-failed", N_("The request is not valid")),
    429: ("rate-limited", N_("Too many requests")),
}

# Our words for Werkzeug's stock descriptions (when nothing more precise was given).
_PLAIN_DETAILS = {
    400: N_("The request could not be understood."),
    404: N_("There is nothing at this address."),
    405: N_("This address does not accept this method."),
    415: N_("The request body is not of a type this address accepts."),
}

# marshmallow's stock field messages that patients can meet, for the catalogue; the
# messages it formats with values (lengths, choices) are replaced by our own in schemas.
MARSHMALLOW_MESSAGES = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Invalid input."),
    N_("Unknown field."),
    N_("Invalid type."),
    N_("Invalid input type."),
    N_("Not a valid string."),
    N_("Not a valid boolean."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Not a valid list."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid email address."),
    N_("Not a valid mapping type."),
    N_("Not a valid UUID."),
    N_("String does not match expected pattern."),
)


def translated(messages: Any) -> Any:
    """A field-error map with each known message in the request's language.

    Messages without a catalogue entry (already translated, or formatted with values)
    come back unchanged; lazy strings become plain ones.
    """
    if isinstance(messages, dict):
        return {key: translated(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [translated(value) for value in messages]
    if isinstance(messages, str):
        return gettext(messages) if messages else messages  # "" would fetch the header
    return str(messages) if messages is not None else None


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": gettext(str(title)) if title else title,
        "status": status,
        "detail": gettext(str(detail)) if detail else detail,
    }
    if errors:
        body["errors"] = translated(errors)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_casebox_error(error: CaseboxError) -> Response:
    """Render one of our own errors."""
    if error.status >= 500:
        # Server-side details (object keys, hosts) stay in the log, not in the answer.
        log.error("%s: %s", type(error).__name__, error.detail)
        detail = gettext(
            "The service could not complete the request; nothing was saved. Try again later."
        )
        return problem(error.status, error.slug, error.title, detail)
    return problem(error.status, error.slug, error.title, error.detail, errors=error.errors)


def from_http_exception(error: HTTPException) -> Response:
    """Render a Werkzeug/webargs HTTP error, turning parser messages into a field map."""
    status = error.code or 500
    slug, title = _HTTP_PROBLEMS.get(status, ("http-error", error.name))
    detail = error.description or title
    if detail == type(error).description and status in _PLAIN_DETAILS:
        detail = _PLAIN_DETAILS[status]  # Werkzeug's stock English, said in the catalogue
    errors = None
    messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    if isinstance(messages, dict):
        errors, detail = _field_errors(messages, detail)
    if status == 413:
        detail = gettext("The request body is larger than this server accepts.")
    headers = {}
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return problem(status, slug, title, detail, errors=errors, headers=headers)


def _field_errors(messages: dict[str, Any], default_detail: str) -> tuple[dict[str, Any], str]:
    """Flatten webargs' {location: {field: [...]}} into {field: [...]} with a summary."""
    errors: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            errors.update(fields)
        else:
            errors[location] = fields
    if any("Invalid JSON" in str(message) for message in errors.values()):
        return {"body": [gettext("Not valid JSON.")]}, gettext(
            "The request body is not valid JSON."
        )
    names = ", ".join(sorted(errors))
    if not names:
        return errors, default_detail
    return errors, gettext("Invalid or missing fields: %(names)s.", names=names)
