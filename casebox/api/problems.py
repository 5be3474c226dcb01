"""RFC 9457 problem details for every error the API answers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json
from werkzeug.exceptions import HTTPException

from casebox.errors import CaseboxError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://casebox.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Titles and slugs for framework-level errors that never pass through CaseboxError.
_HTTP_PROBLEMS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict with the current state"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "The request is not valid"),
    429: ("rate-limited", "Too many requests"),
}


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
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_casebox_error(error: CaseboxError) -> Response:
    """Render one of our own errors."""
    if error.status >= 500:
        # Server-side details (object keys, hosts) stay in the log, not in the answer.
        log.error("%s: %s", type(error).__name__, error.detail)
        detail = "The service could not complete the request; nothing was saved. Try again later."
        return problem(error.status, error.slug, error.title, detail)
    return problem(error.status, error.slug, error.title, error.detail, errors=error.errors)


def from_http_exception(error: HTTPException) -> Response:
    """Render a Werkzeug/webargs HTTP error, turning parser messages into a field map."""
    status = error.code or 500
    slug, title = _HTTP_PROBLEMS.get(status, ("http-error", error.name))
    detail = error.description or title
    errors = None
    messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    if isinstance(messages, dict):
        errors, detail = _field_errors(messages, detail)
    if status == 413:
        detail = "The request body is larger than this server accepts."
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
        return {"body": ["Not valid JSON."]}, "The request body is not valid JSON."
    names = ", ".join(sorted(errors))
    return errors, f"Invalid or missing fields: {names}." if names else default_detail
