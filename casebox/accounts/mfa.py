"""The TOTP second factor: enrolment, confirmation, removal and one-time verification.

Codes follow RFC 6238 as authenticator apps implement it (SHA-1, 6 digits, 30 s) and
are computed with pyotp. A code is accepted for the current time step or one step either
side (clock drift). Accepting a code moves the user's ``totp_last_step`` forward in one
conditional UPDATE (``WHERE totp_last_step < step``): the database lets only one of two
racing requests with the same code through, and a code, or any older one, never opens a
second action. The secret is stored sealed under the data key (:mod:`sealed_secrets`).

Refusals are audited like everything else. A refused request is rolled back, which
would take its audit event with it, so each refusal is also kept in ``g`` and written
again, in a transaction of its own, by :func:`record_refusals_of_failed_request` (the
MFA blueprint runs it after every request). Outside a request the caller's commit
decides. Codes and secrets never reach the audit trail or the logs.
"""

from __future__ import annotations

import hmac
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import pyotp
import segno
from flask import g, has_request_context
from sqlalchemy import ColumnElement, or_, update

from casebox import services
from casebox.accounts.mfa_throttle import second_factor_throttle
from casebox.accounts.models import User
from casebox.accounts.sealed_secrets import open_secret, seal_secret
from casebox.audit import trail
from casebox.database import db, utcnow
from casebox.errors import (
    CaseboxError,
    Conflict,
    RateLimited,
    SecondFactorRejected,
    SecondFactorRequired,
)
from casebox.i18n import N_, gettext

ISSUER = "casebox"
DIGITS = 6
PERIOD_SECONDS = 30
DRIFT_STEPS = 1
_SEALED_PURPOSE = "totp-secret"
_REFUSALS = "casebox_mfa_refusals"

INVALID_CODE = N_("The authenticator code is not valid or was already used.")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TotpEnrolment:
    """What a user needs to add casebox to an authenticator app (shown once)."""

    secret: str
    provisioning_uri: str
    qr_svg: str
    issuer: str = ISSUER
    digits: int = DIGITS
    period: int = PERIOD_SECONDS
    algorithm: str = "SHA1"


@dataclass(frozen=True)
class MfaStatus:
    """Whether a user has a confirmed authenticator app, or one waiting for confirmation."""

    enrolled: bool
    pending: bool
    confirmed_at: datetime | None


def mfa_status(user: User) -> MfaStatus:
    """The user's second-factor state; never the secret."""
    return MfaStatus(
        enrolled=user.totp_confirmed_at is not None,
        pending=user.totp_confirmed_at is None and user.totp_secret_sealed is not None,
        confirmed_at=user.totp_confirmed_at,
    )


def start_totp_enrolment(user: User) -> TotpEnrolment:
    """Give the user a new secret, pending until a code from it is confirmed.

    A pending secret is replaced by a new one; a confirmed one is not (removing it
    takes a code from the app, so a stolen API token cannot swap the second factor).
    """
    secret = pyotp.random_base32()
    sealed = seal_secret(
        services.settings().data_key,
        secret.encode(),
        purpose=_SEALED_PURPOSE,
        owner=user.public_id,
    )
    replaced = db.session.execute(
        update(User)
        .where(User.id == user.id, User.totp_confirmed_at.is_(None))
        .values(totp_secret_sealed=sealed, totp_last_step=None)
        .execution_options(synchronize_session=False)
    )
    if replaced.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        raise Conflict(
            gettext(
                "An authenticator app is already set up. Remove it, with a code from it, "
                "before setting up another."
            )
        )
    db.session.refresh(user)
    trail.record("mfa.totp.enrol", object_type="user", object_id=user.public_id)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )
    return TotpEnrolment(secret=secret, provisioning_uri=uri, qr_svg=_qr_svg(uri))


def confirm_totp(user: User, code: str, *, now: datetime | None = None) -> None:
    """Turn the pending secret on, proven by a current code from the app."""
    if user.totp_confirmed_at is not None:
        raise Conflict(gettext("The authenticator app is already confirmed."))
    if user.totp_secret_sealed is None:
        raise Conflict(
            gettext("Start setting up an authenticator app first (POST /api/v1/me/mfa/totp).")
        )
    moment = now or utcnow()
    _accept_code(
        user,
        code,
        action="mfa.totp.confirm",
        now=moment,
        confirmed=User.totp_confirmed_at.is_(None),
        changes={"totp_confirmed_at": moment},
    )


def disable_totp(user: User, code: str, *, now: datetime | None = None) -> None:
    """Remove the user's authenticator app, proven by a current code from it."""
    if user.totp_confirmed_at is None:
        raise Conflict(gettext("No authenticator app is set up."))
    _accept_code(
        user,
        code,
        action="mfa.totp.disable",
        now=now or utcnow(),
        confirmed=User.totp_confirmed_at.is_not(None),
        changes={"totp_secret_sealed": None, "totp_confirmed_at": None, "totp_last_step": None},
    )


def reset_totp(user: User) -> None:
    """Remove a user's authenticator without a code (an admin's action, for a lost phone)."""
    user.totp_secret_sealed = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.flush()
    trail.record("mfa.totp.reset", object_type="user", object_id=user.public_id)


def verify_second_factor(
    user: User, code: str, *, purpose: str = "prescription.sign", now: datetime | None = None
) -> None:
    """Accept one authenticator code for one action, or raise.

    Raises SecondFactorRequired (403) when the user has no confirmed app,
    SecondFactorRejected (403) when the code is wrong, outside the drift window or
    already used, and RateLimited (429) after too many wrong codes. ``purpose`` names
    the action in the audit trail; ``now`` lets tests choose the time.
    """
    details = {"purpose": purpose}
    if user.totp_confirmed_at is None or user.totp_secret_sealed is None:
        _refuse(
            user,
            "mfa.verify",
            "not_enrolled",
            details,
            SecondFactorRequired(
                gettext(
                    "This needs a confirmed authenticator app. "
                    "Set one up with POST /api/v1/me/mfa/totp and confirm it."
                )
            ),
        )
    _accept_code(
        user,
        code,
        action="mfa.verify",
        now=now or utcnow(),
        confirmed=User.totp_confirmed_at.is_not(None),
        details=details,
    )


def _accept_code(
    user: User,
    code: str,
    *,
    action: str,
    now: datetime,
    confirmed: ColumnElement[bool],
    changes: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Check the code, then take its time step (and apply ``changes``) in one UPDATE."""
    details = details or {}
    throttle = second_factor_throttle()
    if not throttle.allows(user.public_id):
        _refuse(
            user,
            action,
            "rate_limited",
            details,
            RateLimited(
                gettext("Too many wrong authenticator codes. Wait a few minutes and try again.")
            ),
        )
    sealed = user.totp_secret_sealed
    if sealed is None:  # callers check the state first; a concurrent removal gets here
        _refuse_code(user, action, "not_enrolled", details)
    secret = open_secret(
        services.settings().data_key, sealed, purpose=_SEALED_PURPOSE, owner=user.public_id
    ).decode()
    current = _time_step(now)
    step = _matching_step(secret, code, current)
    if step is None:
        throttle.record_failure(user.public_id)
        _refuse_code(user, action, "wrong_code", details)
    taken = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            confirmed,
            User.totp_secret_sealed == sealed,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values({"totp_last_step": step, **(changes or {})})
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        # The step (or a later one) was taken already, or the secret changed meanwhile.
        throttle.record_failure(user.public_id)
        _refuse_code(user, action, "code_already_used", details)
    db.session.refresh(user)
    throttle.reset(user.public_id)
    trail.record(
        action,
        object_type="user",
        object_id=user.public_id,
        details={**details, "drift_steps": step - current},
    )


def _time_step(now: datetime) -> int:
    return int(now.timestamp()) // PERIOD_SECONDS


def _matching_step(secret: str, code: str, current: int) -> int | None:
    """The time step within the drift window whose code this is, if any."""
    code = code.replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS)
    matches = [
        step
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    return max(matches) if matches else None


def _refuse_code(user: User, action: str, reason: str, details: dict[str, Any]) -> NoReturn:
    _refuse(
        user,
        action,
        reason,
        details,
        SecondFactorRejected(
            INVALID_CODE,
            errors={"code": [N_("Not valid or already used. Enter the next code from your app.")]},
        ),
    )


def _refuse(
    user: User, action: str, reason: str, details: dict[str, Any], error: CaseboxError
) -> NoReturn:
    """Audit a refused attempt (kept even if the request rolls back) and raise ``error``."""
    event: dict[str, Any] = {
        "action": action,
        "outcome": "failure",
        "object_type": "user",
        "object_id": user.public_id,
        "details": {**details, "reason": reason},
        "actor": trail.Actor(id=user.public_id, role=str(user.role)),
    }
    trail.record(**event)
    if has_request_context():
        g.setdefault(_REFUSALS, []).append(event)
    raise error


def record_refusals_of_failed_request(status_code: int) -> None:
    """Write this request's refused attempts again after a failed request rolled back."""
    refusals: list[dict[str, Any]] = g.pop(_REFUSALS, [])
    if not refusals or status_code < 400:
        return  # none, or the request succeeded and commits them itself
    db.session.rollback()
    try:
        for event in refusals:
            trail.record(**event)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record %d refused second-factor attempts", len(refusals))


def _qr_svg(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", scale=4, border=4, xmldecl=False, title="casebox authenticator setup"
    )
    return buffer.getvalue().decode()
