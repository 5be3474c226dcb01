"""HTTP API of the accounts domain: registration, consent, tokens."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from casebox.accounts import operations
from casebox.accounts.auth import current_api_user, public, requires
from casebox.accounts.consent import current_consent
from casebox.accounts.models import ApiToken, Role, User
from casebox.accounts.schemas import (
    ConsentAcceptanceSchema,
    ConsentStatusSchema,
    ConsentTextSchema,
    RegistrationSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from casebox.api.idempotency import idempotent
from casebox.database import db
from casebox.errors import Conflict, Unauthenticated
from casebox.i18n import gettext

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and consent")


@blp.route("/consent")
class ConsentText(MethodView):
    @public
    @blp.response(200, ConsentTextSchema)
    def get(self) -> Any:
        """The consent text a patient must accept, with its version."""
        return current_consent()


@blp.route("/patients")
class Patients(MethodView):
    @public
    @idempotent
    @blp.arguments(RegistrationSchema)
    @blp.response(201, UserSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register as a patient, accepting the current consent text."""
        return operations.register_patient(
            email=data["email"],
            password=data["password"],
            name=data["name"],
            date_of_birth=data["date_of_birth"],
            sex=data["sex"],
            consent_version=data["consent"]["version"],
        )


@blp.route("/me")
class Me(MethodView):
    @requires()
    @blp.response(200, UserSchema)
    def get(self) -> User:
        """The account behind the current credentials."""
        return current_api_user()


@blp.route("/me/consent")
class MyConsent(MethodView):
    @requires(Role.PATIENT)
    @blp.response(200, ConsentStatusSchema)
    def get(self) -> dict[str, Any]:
        """Whether the patient's consent is in force."""
        return _consent_status(current_api_user())

    @requires(Role.PATIENT)
    @blp.arguments(ConsentAcceptanceSchema)
    @blp.response(200, ConsentStatusSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Give (or give again) consent to the current text."""
        user = current_api_user()
        operations.give_consent(user, data["version"])
        return _consent_status(user)

    @requires(Role.PATIENT)
    @blp.response(200, ConsentStatusSchema)
    def delete(self) -> dict[str, Any]:
        """Withdraw consent; new cases cannot be created or submitted until it is given again."""
        user = current_api_user()
        operations.withdraw_consent(user)
        return _consent_status(user)


def _consent_status(user: User) -> dict[str, Any]:
    record = operations.active_consent(user)
    return {
        "given": record is not None,
        "version": record.version if record else None,
        "accepted_at": record.accepted_at if record else None,
        "current_version": current_consent().version,
    }


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @public
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Exchange email and password for a bearer token (rate-limited)."""
        user = operations.authenticate(data["email"], data["password"], request.remote_addr)
        if user is None:
            db.session.commit()  # keep the audited failure although the request is refused
            raise Unauthenticated(gettext("The email or password is wrong."))
        g.user = user
        plain, row = operations.open_token(user)
        return {"token": plain, "expires_at": row.expires_at}


@blp.route("/auth/tokens/current")
class CurrentToken(MethodView):
    @requires()
    @blp.response(204)
    def delete(self) -> None:
        """Revoke the bearer token used for this request."""
        token: ApiToken | None = g.get("api_token")
        if token is None:
            raise Conflict(gettext("This request was not made with a bearer token."))
        operations.close_token(token)
