"""Password hashing with argon2id and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from casebox.errors import ValidationFailed
from casebox.i18n import gettext
from casebox.settings import Settings

MIN_LENGTH = 12
MAX_LENGTH = 128


class Passwords:
    """Hashes and verifies passwords with the configured argon2id cost."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verifying against this when the account does not exist keeps the
        # response time the same, so timing does not reveal which emails exist.
        self._decoy = self._hasher.hash("decoy password never used")

    def hash(self, password: str) -> str:
        """Hash a password that already passed the policy."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether the password matches; spends the same time when there is no hash."""
        try:
            return self._hasher.verify(stored_hash or self._decoy, password) and bool(stored_hash)
        except (VerificationError, InvalidHashError):
            return False


def check_policy(password: str) -> None:
    """Refuse passwords that are too short or absurdly long."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            gettext("The password must have at least %(count)d characters.", count=MIN_LENGTH),
            errors={
                "password": [gettext("Must have at least %(count)d characters.", count=MIN_LENGTH)]
            },
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            gettext("The password may have at most %(count)d characters.", count=MAX_LENGTH),
            errors={
                "password": [gettext("Must have at most %(count)d characters.", count=MAX_LENGTH)]
            },
        )
