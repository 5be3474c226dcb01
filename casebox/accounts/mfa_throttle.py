"""Rate limits on wrong authenticator codes, per user, kept in Redis like the login limits."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import cast

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from casebox import services
from casebox.accounts.login_throttle import limits_storage_uri

# A short window stops guessing bursts; the daily one bounds a slow, patient attacker
# (20 guesses a day at 3 valid codes in a million leaves about 2 % a year).
WRONG_CODE_LIMITS = ("5/15 minutes", "20/day")
_NAMESPACE = "totp-user"
_EXTENSION = "casebox.mfa_throttle"
_creation = threading.Lock()


class SecondFactorThrottle:
    """Counts wrong codes per user; refuses further attempts once any window is full."""

    def __init__(self, storage: Storage, limits: Sequence[str] = WRONG_CODE_LIMITS) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._limits: list[RateLimitItem] = [parse(limit) for limit in limits]

    @classmethod
    def from_redis_url(cls, redis_url: str) -> SecondFactorThrottle:
        """Build a throttle backed by the Redis server at ``redis_url``."""
        storage = storage_from_string(limits_storage_uri(redis_url))
        if not isinstance(storage, Storage):
            raise TypeError("the second-factor throttle needs a synchronous limits storage")
        return cls(storage)

    def allows(self, user_key: str) -> bool:
        """Whether the user may try another code now."""
        return all(self._limiter.test(limit, _NAMESPACE, user_key) for limit in self._limits)

    def record_failure(self, user_key: str) -> None:
        """Count one wrong (or replayed) code against the user."""
        for limit in self._limits:
            self._limiter.hit(limit, _NAMESPACE, user_key)

    def reset(self, user_key: str) -> None:
        """Forget the user's failures after an accepted code."""
        for limit in self._limits:
            self._limiter.clear(limit, _NAMESPACE, user_key)


def second_factor_throttle() -> SecondFactorThrottle:
    """The application's throttle, built on first use from its Redis settings."""
    throttle = current_app.extensions.get(_EXTENSION)
    if throttle is None:
        with _creation:
            throttle = current_app.extensions.get(_EXTENSION)
            if throttle is None:
                redis_url = services.settings().effective_redis_url
                throttle = SecondFactorThrottle.from_redis_url(redis_url)
                current_app.extensions[_EXTENSION] = throttle
    return cast("SecondFactorThrottle", throttle)
