"""HTTP API of erasure: a patient asks for it; admins see the pending and past purges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_login import current_user, logout_user
from flask_smorest import Blueprint

from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.models import Role
from casebox.database import db
from casebox.erasure import operations
from casebox.erasure.models import ErasureRequest
from casebox.erasure.schemas import (
    ErasureInputSchema,
    ErasureListArgsSchema,
    ErasureRequestSchema,
    ErasureSchema,
)
from casebox.errors import ReauthenticationFailed

blp = Blueprint("erasure", __name__, url_prefix="/api/v1", description="Erasure of your records")


@blp.route("/me/erasure")
class MyErasure(MethodView):
    @requires(Role.PATIENT)
    @blp.arguments(ErasureInputSchema)
    @blp.response(200, ErasureSchema)
    @blp.alt_response(403, description="The password is wrong; nothing was changed.")
    @blp.alt_response(422, description='The body is missing the password or "confirm": "ERASE".')
    @blp.alt_response(429, description="Too many wrong passwords (the login's limit).")
    def post(self, data: dict[str, Any]) -> ErasureRequest:
        """Ask for the erasure of your records. This cannot be undone.

        At once: your cases not yet completed are withdrawn, reminders and messages stop,
        uploads in progress are discarded, consent is withdrawn, unsigned prescriptions are
        cancelled, and your account is closed (every token and session ends). Signed
        prescriptions stay valid at the pharmacy. Your clinical records are kept for the
        clinic's retention period and purged on ``purge_due_at``. Asking again (only
        possible within a session that started before) returns the same request.
        """
        user = current_api_user()
        try:
            erasure = operations.request_erasure(
                user, data["password"], source="api", address=request.remote_addr
            )
        except ReauthenticationFailed:
            db.session.commit()  # keep the audited refusal; nothing else was written
            raise
        if current_user.is_authenticated:
            logout_user()
        return erasure


@blp.route("/admin/erasure-requests")
class ErasureRequests(MethodView):
    @requires(Role.ADMIN)
    @blp.arguments(ErasureListArgsSchema, location="query")
    @blp.response(200, ErasureRequestSchema(many=True))
    def get(self, args: dict[str, Any]) -> Sequence[ErasureRequest]:
        """Erasure requests, the next purge first: dates and counts, no clinical content."""
        return operations.list_requests(args["status"], limit=args["limit"])


@blp.after_request
def _never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
