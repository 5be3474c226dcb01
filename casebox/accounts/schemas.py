"""Request and response shapes of the accounts API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from casebox.accounts.models import Sex
from casebox.accounts.passwords import MAX_LENGTH
from casebox.i18n import N_


class StrictBoolean(fields.Boolean):
    """Only JSON true and false; "yes", 1 and "on" are type errors."""

    truthy: set[object] = {True}  # noqa: RUF012  # marshmallow reads these class attributes
    falsy: set[object] = {False}  # noqa: RUF012


CHOOSE_ONE = N_("Choose one of the offered answers.")


class ConsentAcceptanceSchema(Schema):
    version = fields.String(
        required=True, validate=validate.Length(min=1, max=20, error=N_("Not a valid version."))
    )
    accepted = StrictBoolean(
        required=True, validate=validate.Equal(True, error=N_("Consent must be accepted."))
    )


class RegistrationSchema(Schema):
    email = fields.Email(
        required=True,
        validate=validate.Length(max=254, error=N_("At most 254 characters.")),
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=MAX_LENGTH, error=N_("The password is too long.")),
    )
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200, error=N_("Give a name of 1 to 200 characters.")),
    )
    date_of_birth = fields.Date(required=True, format="%Y-%m-%d")
    sex = fields.Enum(Sex, by_value=True, required=True, error_messages={"unknown": CHOOSE_ONE})
    consent = fields.Nested(ConsentAcceptanceSchema, required=True)


class UserSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    email = fields.Email(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(max=MAX_LENGTH)
    )


class TokenSchema(Schema):
    token = fields.String(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True)


class ConsentTextSchema(Schema):
    version = fields.String(dump_only=True)
    text = fields.String(dump_only=True)
    sha256 = fields.String(dump_only=True)


class ConsentStatusSchema(Schema):
    given = fields.Boolean(dump_only=True)
    version = fields.String(dump_only=True, allow_none=True)
    accepted_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    current_version = fields.String(dump_only=True)


class TotpCodeSchema(Schema):
    code = fields.String(
        required=True,
        load_only=True,
        validate=validate.Regexp(
            r"^\d{3} ?\d{3}$", error=N_("Enter the 6-digit code shown by your authenticator app.")
        ),
        metadata={"description": "The current 6-digit code (a space in the middle is allowed)."},
    )


class TotpEnrolmentSchema(Schema):
    secret = fields.String(
        dump_only=True, metadata={"description": "Base32 secret for manual entry; shown once."}
    )
    provisioning_uri = fields.String(
        dump_only=True, metadata={"description": "otpauth:// URI that the QR code encodes."}
    )
    qr_svg = fields.String(dump_only=True, metadata={"description": "The QR code as SVG."})
    issuer = fields.String(dump_only=True)
    algorithm = fields.String(dump_only=True)
    digits = fields.Integer(dump_only=True)
    period = fields.Integer(dump_only=True)


class MfaStatusSchema(Schema):
    enrolled = fields.Boolean(
        dump_only=True, metadata={"description": "A confirmed authenticator app is set up."}
    )
    pending = fields.Boolean(
        dump_only=True, metadata={"description": "An enrolment waits for its first code."}
    )
    confirmed_at = fields.AwareDateTime(dump_only=True, allow_none=True)
