"""The JSON API under /api/v1: blueprints, OpenAPI document and problem+json errors."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from casebox.api.problems import from_casebox_error, from_http_exception, problem
from casebox.errors import CaseboxError

API_PREFIX = "/api/v1"

log = logging.getLogger(__name__)


class CaseboxApi(Api):
    """flask-smorest's Api answering every API error as problem+json."""

    def handle_http_exception(self, error: HTTPException) -> Response:
        """Render framework errors on API paths as problem+json."""
        return from_http_exception(error)


def init_app(app: Flask) -> None:
    """Register the API blueprints, the OpenAPI document and the error handlers."""
    from casebox.accounts.mfa_routes import blp as mfa_blp
    from casebox.accounts.routes import blp as accounts_blp
    from casebox.annotations.routes import blp as annotations_blp
    from casebox.assessments.routes import blp as assessments_blp
    from casebox.cases.routes import blp as cases_blp
    from casebox.comparison.routes import blp as alignments_blp
    from casebox.erasure.routes import blp as erasure_blp
    from casebox.exports.routes import blp as exports_blp
    from casebox.followups.routes import blp as follow_ups_blp
    from casebox.notifications.routes import blp as notifications_blp
    from casebox.queues.routes import blp as queues_blp
    from casebox.review.routes import blp as review_blp
    from casebox.uploads.routes import blp as uploads_blp
    from prescriptions.routes import blp as prescriptions_blp

    app.config.update(
        API_TITLE="casebox API",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Store-and-forward teledermatology. Errors are application/problem+json "
                    "(RFC 9457) with an `errors` map of field messages where that applies."
                )
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    api = CaseboxApi(app)
    api.register_blueprint(accounts_blp)
    api.register_blueprint(mfa_blp)
    api.register_blueprint(cases_blp)
    api.register_blueprint(queues_blp)
    api.register_blueprint(review_blp)
    api.register_blueprint(assessments_blp)
    api.register_blueprint(annotations_blp)
    api.register_blueprint(alignments_blp)
    api.register_blueprint(prescriptions_blp)
    api.register_blueprint(notifications_blp)
    api.register_blueprint(exports_blp)
    api.register_blueprint(uploads_blp)
    api.register_blueprint(erasure_blp)
    api.register_blueprint(follow_ups_blp)
    app.register_error_handler(CaseboxError, _on_casebox_error)
    app.register_error_handler(Exception, _on_unexpected_error)


def _on_casebox_error(error: CaseboxError) -> Any:
    return from_casebox_error(error)


def _on_unexpected_error(error: Exception) -> Any:
    if isinstance(error, HTTPException):
        return from_http_exception(error)
    # The URL rule, not the URL: paths carry identifiers, never log more than needed.
    log.exception("unhandled error on %s %s", request.method, request.url_rule)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "Something went wrong on our side; nothing was saved. Please try again.",
    )
