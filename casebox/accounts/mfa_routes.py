"""HTTP API of the second factor: set up, confirm, remove and inspect an authenticator app."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts import mfa
from casebox.accounts.auth import current_api_user, requires
from casebox.accounts.schemas import MfaStatusSchema, TotpCodeSchema, TotpEnrolmentSchema

blp = Blueprint(
    "mfa",
    __name__,
    url_prefix="/api/v1",
    description="Second factor (TOTP authenticator apps); signing a prescription needs one",
)


@blp.route("/me/mfa")
class MyMfa(MethodView):
    @requires()
    @blp.response(200, MfaStatusSchema)
    def get(self) -> mfa.MfaStatus:
        """Whether an authenticator app is set up (confirmed) or waiting for confirmation."""
        return mfa.mfa_status(current_api_user())


@blp.route("/me/mfa/totp")
class MyTotp(MethodView):
    @requires()
    @blp.response(201, TotpEnrolmentSchema)
    @blp.alt_response(409, description="An authenticator app is already confirmed.")
    def post(self) -> mfa.TotpEnrolment:
        """Start setting up an authenticator app: a new secret, its otpauth:// URI and QR code.

        The secret is shown only in this response. It stays pending until confirmed
        with a code; starting again replaces a pending secret.
        """
        return mfa.start_totp_enrolment(current_api_user())

    @requires()
    @blp.arguments(TotpCodeSchema)
    @blp.response(200, MfaStatusSchema)
    @blp.alt_response(403, description="The code is not valid or was already used.")
    @blp.alt_response(409, description="No authenticator app is set up.")
    @blp.alt_response(429, description="Too many wrong codes.")
    def delete(self, data: dict[str, Any]) -> mfa.MfaStatus:
        """Remove the authenticator app; needs a current code from it."""
        user = current_api_user()
        mfa.disable_totp(user, data["code"])
        return mfa.mfa_status(user)


@blp.route("/me/mfa/totp/confirm")
class ConfirmTotp(MethodView):
    @requires()
    @blp.arguments(TotpCodeSchema)
    @blp.response(200, MfaStatusSchema)
    @blp.alt_response(403, description="The code is not valid or was already used.")
    @blp.alt_response(409, description="No enrolment in progress, or already confirmed.")
    @blp.alt_response(429, description="Too many wrong codes.")
    def post(self, data: dict[str, Any]) -> mfa.MfaStatus:
        """Confirm the pending authenticator app with its current code."""
        user = current_api_user()
        mfa.confirm_totp(user, data["code"])
        return mfa.mfa_status(user)


@blp.after_request
def _never_cache(response: Response) -> Response:
    # The enrolment answer carries the secret; no answer here belongs in a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.after_app_request
def _keep_refused_attempts(response: Response) -> Response:
    # Any route may verify a second factor (signing a prescription does); a refusal
    # fails its request, which rolls back, so the refusal's audit event is written again.
    mfa.record_refusals_of_failed_request(response.status_code)
    return response
