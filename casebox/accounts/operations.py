"""The verbs of the accounts domain. They flush and audit; the request commits."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select, update

from casebox import services
from casebox.accounts.consent import consent_for_language, current_consent
from casebox.accounts.models import ApiToken, ConsentRecord, PatientProfile, Role, Sex, User
from casebox.accounts.passwords import check_policy
from casebox.accounts.tokens import issue_token, revoke_token
from casebox.audit import trail
from casebox.database import db, utcnow
from casebox.errors import Conflict, ValidationFailed
from casebox.i18n import gettext

OLDEST_AGE_YEARS = 130


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def create_user(email: str, password: str, *, name: str, role: Role) -> User:
    """Create an account of any role (admin CLI and demo data)."""
    check_policy(password)
    email = normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            gettext("An account with this email already exists."),
            errors={"email": [gettext("An account with this email already exists.")]},
        )
    user = User(
        email=email, name=name, role=role, password_hash=services.passwords().hash(password)
    )
    db.session.add(user)
    db.session.flush()
    trail.record(
        "account.create", object_type="user", object_id=user.public_id, details={"role": str(role)}
    )
    return user


def register_patient(
    *,
    email: str,
    password: str,
    name: str,
    date_of_birth: date,
    sex: Sex,
    consent_version: str,
    consent_language: str = "en",
) -> User:
    """Self-registration: a patient account, its profile and its first consent.

    ``consent_language``: the language of the consent text the patient was shown.
    """
    _check_date_of_birth(date_of_birth)
    _check_consent_version(consent_version)
    user = create_user(email, password, name=name, role=Role.PATIENT)
    db.session.add(PatientProfile(user_id=user.id, date_of_birth=date_of_birth, sex=sex))
    trail.record(
        "account.register",
        object_type="user",
        object_id=user.public_id,
        actor=trail.Actor(id=user.public_id, role=str(Role.PATIENT)),
    )
    give_consent(user, consent_version, language=consent_language)
    return user


def _check_date_of_birth(date_of_birth: date) -> None:
    today = utcnow().date()
    if date_of_birth > today or date_of_birth.year < today.year - OLDEST_AGE_YEARS:
        raise ValidationFailed(
            gettext("The date of birth is not plausible."),
            errors={
                "date_of_birth": [
                    gettext(
                        "Must be in the past and within %(years)d years.", years=OLDEST_AGE_YEARS
                    )
                ]
            },
        )


def _check_consent_version(version: str) -> None:
    current = current_consent().version
    if version != current:
        raise ValidationFailed(
            gettext(
                "Consent must be given to the current text, version %(version)s.", version=current
            ),
            errors={
                "consent": {
                    "version": [gettext("The current version is %(version)s.", version=current)]
                }
            },
        )


def active_consent(user: User) -> ConsentRecord | None:
    """The patient's consent in force, if any."""
    return db.session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == user.id, ConsentRecord.withdrawn_at.is_(None))
        .order_by(ConsentRecord.accepted_at.desc())
        .limit(1)
    )


def give_consent(user: User, version: str, *, language: str = "en") -> ConsentRecord:
    """Record acceptance of the current consent text, with the hash of the wording shown.

    ``language``: the text the patient read (a translation carries the version of the
    English text it translates); the hash proves which wording was accepted.
    """
    _check_consent_version(version)
    existing = active_consent(user)
    if existing is not None and existing.version == version:
        return existing
    text = consent_for_language(language)
    record = ConsentRecord(user_id=user.id, version=text.version, text_sha256=text.sha256)
    db.session.add(record)
    db.session.flush()
    trail.record(
        "consent.accept",
        object_type="user",
        object_id=user.public_id,
        details={"version": text.version, "text_sha256": text.sha256},
        actor=trail.Actor(id=user.public_id, role=str(user.role)),
    )
    return record


def withdraw_consent(user: User) -> None:
    """Withdraw every consent in force; new submissions stop until consent is given again."""
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.user_id == user.id, ConsentRecord.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
    )
    trail.record("consent.withdraw", object_type="user", object_id=user.public_id)


def authenticate(email: str, password: str, address: str | None) -> User | None:
    """Check credentials under the login rate limit; audit success and failure.

    Returns None on failure. The caller must still commit, so that the failure
    is audited even though the request is refused.
    """
    email = normalize_email(email)
    throttle = services.login_throttle()
    throttle.check(email, address)
    user = db.session.scalar(select(User).where(User.email == email))
    valid = services.passwords().verify(user.password_hash if user else None, password)
    if user is None or not valid or not user.active:
        throttle.record_failure(email, address)
        trail.record(
            "auth.login",
            outcome="failure",
            object_type="user",
            object_id=user.public_id if user else None,
            details={"email_sha256": hashlib.sha256(email.encode()).hexdigest()[:16]},
        )
        return None
    throttle.reset(email)
    trail.record(
        "auth.login",
        object_type="user",
        object_id=user.public_id,
        actor=trail.Actor(id=user.public_id, role=str(user.role)),
    )
    return user


def open_token(user: User) -> tuple[str, ApiToken]:
    """Issue an API token for a user who just authenticated."""
    plain, row = issue_token(user, timedelta(hours=services.settings().token_ttl_hours))
    trail.record(
        "token.issue",
        object_type="token",
        object_id=row.public_id,
        actor=trail.Actor(id=user.public_id, role=str(user.role)),
    )
    return plain, row


def close_token(row: ApiToken) -> None:
    """Revoke a token so it can no longer be used."""
    revoke_token(row)
    trail.record("token.revoke", object_type="token", object_id=row.public_id)
