"""verify_second_factor, which signing calls: the drift window, one use per code, races."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from casebox.accounts.mfa import confirm_totp, start_totp_enrolment, verify_second_factor
from casebox.accounts.models import Role, User
from casebox.accounts.operations import create_user
from casebox.accounts.sealed_secrets import open_secret, seal_secret
from casebox.audit.models import AuditEvent
from casebox.audit.trail import verify_chain
from casebox.database import db
from casebox.errors import (
    IntegrityViolation,
    RateLimited,
    SecondFactorRejected,
    SecondFactorRequired,
)

# Ten seconds into a time step, so that "now" is unambiguous.
NOW = datetime(2026, 12, 8, 10, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)
_emails = itertools.count(1)


def _new_user(app: Flask) -> str:
    with app.app_context():
        user = create_user(
            f"prescriber{next(_emails)}@clinic.example",
            "staff password 123",
            name="Dr Test",
            role=Role.SPECIALIST,
        )
        db.session.commit()
        return user.public_id


def _user(public_id: str) -> User:
    user = db.session.scalar(select(User).where(User.public_id == public_id))
    assert user is not None
    return user


@pytest.fixture
def prescriber(app: Flask) -> Iterator[tuple[str, pyotp.TOTP]]:
    """A specialist with an authenticator app confirmed an hour before NOW."""
    public_id = _new_user(app)
    with app.app_context():
        user = _user(public_id)
        totp = pyotp.TOTP(start_totp_enrolment(user).secret)
        an_hour_ago = NOW - timedelta(hours=1)
        confirm_totp(user, totp.at(an_hour_ago), now=an_hour_ago)
        db.session.commit()
    yield public_id, totp


def _verify(app: Flask, public_id: str, code: str, now: datetime = NOW) -> None:
    """Verify in a unit of work of its own, committed whatever happens (like a request)."""
    with app.app_context():
        try:
            verify_second_factor(_user(public_id), code, now=now)
        finally:
            db.session.commit()


def _failure_reasons(app: Flask) -> list[str]:
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "mfa.verify", AuditEvent.outcome == "failure")
            .order_by(AuditEvent.seq)
        ).all()
        return [event.details["reason"] for event in events]


def test_a_current_code_is_accepted_once(app: Flask, prescriber: tuple[str, pyotp.TOTP]) -> None:
    public_id, totp = prescriber
    code = totp.at(NOW)
    _verify(app, public_id, code)
    with pytest.raises(SecondFactorRejected) as refused:
        _verify(app, public_id, code, now=NOW + timedelta(seconds=5))  # same 30 s window
    assert refused.value.detail == "The authenticator code is not valid or was already used."
    assert refused.value.status == 403
    assert _failure_reasons(app) == ["code_already_used"]


@pytest.mark.parametrize("steps", [-1, 1])
def test_one_step_of_clock_drift_is_accepted(
    app: Flask, prescriber: tuple[str, pyotp.TOTP], steps: int
) -> None:
    public_id, totp = prescriber
    _verify(app, public_id, totp.at(NOW + steps * STEP))
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mfa.verify")
        ).one()
        assert event.outcome == "success"
        assert event.details == {"purpose": "prescription.sign", "drift_steps": steps}


@pytest.mark.parametrize("steps", [-2, 2])
def test_two_steps_of_clock_drift_are_refused(
    app: Flask, prescriber: tuple[str, pyotp.TOTP], steps: int
) -> None:
    public_id, totp = prescriber
    with pytest.raises(SecondFactorRejected):
        _verify(app, public_id, totp.at(NOW + steps * STEP))
    assert _failure_reasons(app) == ["wrong_code"]


def test_an_older_code_is_refused_once_a_newer_one_was_used(
    app: Flask, prescriber: tuple[str, pyotp.TOTP]
) -> None:
    public_id, totp = prescriber
    _verify(app, public_id, totp.at(NOW + STEP))
    with pytest.raises(SecondFactorRejected):
        _verify(app, public_id, totp.at(NOW))
    _verify(app, public_id, totp.at(NOW + 2 * STEP), now=NOW + 2 * STEP)


def test_a_wrong_code_is_refused(app: Flask, prescriber: tuple[str, pyotp.TOTP]) -> None:
    public_id, totp = prescriber
    code = totp.at(NOW)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    fullwidth = "\uff11\uff12\uff13\uff14\uff15\uff16"  # digits, but not ASCII ones
    for attempt in (wrong, "", "1234567", "abcdef", fullwidth):  # a 6th would be throttled
        with pytest.raises(SecondFactorRejected):
            _verify(app, public_id, attempt)
    assert _failure_reasons(app) == ["wrong_code"] * 5


def test_without_a_confirmed_app_nothing_is_accepted(app: Flask) -> None:
    public_id = _new_user(app)
    with pytest.raises(SecondFactorRequired) as refused:
        _verify(app, public_id, "123456")
    assert refused.value.status == 403
    assert refused.value.slug == "second-factor-required"
    with app.app_context():
        totp = pyotp.TOTP(start_totp_enrolment(_user(public_id)).secret)
        db.session.commit()
    # A pending enrolment is not a second factor, even with its right code.
    with pytest.raises(SecondFactorRequired):
        _verify(app, public_id, totp.at(NOW))
    assert _failure_reasons(app) == ["not_enrolled", "not_enrolled"]


def test_too_many_wrong_codes_hold_back_the_right_one(
    app: Flask, prescriber: tuple[str, pyotp.TOTP]
) -> None:
    public_id, totp = prescriber
    wrong = f"{(int(totp.at(NOW)) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(SecondFactorRejected):
            _verify(app, public_id, wrong)
    with pytest.raises(RateLimited):
        _verify(app, public_id, totp.at(NOW))


def test_a_success_clears_earlier_wrong_codes(
    app: Flask, prescriber: tuple[str, pyotp.TOTP]
) -> None:
    public_id, totp = prescriber
    wrong = f"{(int(totp.at(NOW)) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(SecondFactorRejected):
            _verify(app, public_id, wrong)
    _verify(app, public_id, totp.at(NOW))
    for _ in range(4):
        with pytest.raises(SecondFactorRejected):
            _verify(app, public_id, wrong, now=NOW + STEP)
    _verify(app, public_id, totp.at(NOW + STEP), now=NOW + STEP)


def test_racing_requests_with_one_code_let_exactly_one_through(
    app: Flask, prescriber: tuple[str, pyotp.TOTP]
) -> None:
    public_id, totp = prescriber
    code = totp.at(NOW)
    racers = 4
    ready = threading.Barrier(racers)

    def sign(_: int) -> str:
        with app.app_context():
            user = _user(public_id)
            db.session.commit()  # the read happened; the race is on the write
            ready.wait(timeout=10)
            try:
                verify_second_factor(user, code, now=NOW)
            except SecondFactorRejected:
                db.session.commit()  # keep the audited refusal
                return "refused"
            # Hold the row a moment, so the other writers queue behind an open transaction.
            time.sleep(0.2)
            db.session.commit()
            return "accepted"

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes = sorted(pool.map(sign, range(racers)))
    assert outcomes == ["accepted"] + ["refused"] * (racers - 1)
    assert _failure_reasons(app) == ["code_already_used"] * (racers - 1)
    with app.app_context():
        _, broken = verify_chain()
        assert broken is None


def test_a_sealed_secret_opens_only_for_its_owner_and_key() -> None:
    key, other_key = bytes(32), bytes([1]) * 32
    sealed = seal_secret(key, b"JBSWY3DPEHPK3PXP", purpose="totp-secret", owner="user-a")
    assert open_secret(key, sealed, purpose="totp-secret", owner="user-a") == b"JBSWY3DPEHPK3PXP"
    for attempt in (
        lambda: open_secret(key, sealed, purpose="totp-secret", owner="user-b"),
        lambda: open_secret(key, sealed, purpose="other", owner="user-a"),
        lambda: open_secret(other_key, sealed, purpose="totp-secret", owner="user-a"),
        lambda: open_secret(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), purpose="totp-secret",
                            owner="user-a"),
        lambda: open_secret(key, b"\x01short", purpose="totp-secret", owner="user-a"),
    ):  # fmt: skip
        with pytest.raises(IntegrityViolation):
            attempt()
