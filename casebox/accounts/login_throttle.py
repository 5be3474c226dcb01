"""Rate limits on failed logins, per account and per client address, kept in Redis."""

from __future__ import annotations

import hashlib

from limits import parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from casebox.errors import RateLimited
from casebox.i18n import gettext


def limits_storage_uri(redis_url: str) -> str:
    """Translate a redis-py URL into the form the limits library expects."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


class LoginThrottle:
    """Counts failed logins; refuses further attempts once a window is full."""

    def __init__(self, storage: Storage, per_account: str, per_address: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_account = parse(per_account)
        self._per_address = parse(per_address)

    @classmethod
    def from_redis_url(cls, redis_url: str, per_account: str, per_address: str) -> LoginThrottle:
        """Build a throttle backed by the Redis server at ``redis_url``."""
        storage = storage_from_string(limits_storage_uri(redis_url))
        if not isinstance(storage, Storage):
            raise TypeError("the login throttle needs a synchronous limits storage")
        return cls(storage, per_account, per_address)

    def check(self, email: str, address: str | None) -> None:
        """Raise RateLimited when either window is already full."""
        account_ok = self._limiter.test(self._per_account, "login-account", _key(email))
        address_ok = self._limiter.test(self._per_address, "login-address", address or "-")
        if not (account_ok and address_ok):
            raise RateLimited(
                gettext("Too many failed login attempts. Wait a few minutes and try again.")
            )

    def record_failure(self, email: str, address: str | None) -> None:
        """Count one failed attempt against the account and the address."""
        self._limiter.hit(self._per_account, "login-account", _key(email))
        self._limiter.hit(self._per_address, "login-address", address or "-")

    def reset(self, email: str) -> None:
        """Forget an account's failures after a successful login."""
        self._limiter.clear(self._per_account, "login-account", _key(email))


def _key(email: str) -> str:
    # Hash the address so Redis never holds a readable list of who tried to log in.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()
