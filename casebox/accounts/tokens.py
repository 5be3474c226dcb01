"""API bearer tokens: issued once in plain text, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from casebox.accounts.models import ApiToken, User
from casebox.database import db, utcnow

TOKEN_PREFIX = "cbx_"  # noqa: S105  # a public marker, not a secret


def _digest(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough; a slow KDF
    # would only make every API request slower.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, ttl: timedelta) -> tuple[str, ApiToken]:
    """Create a token for the user; returns the plain token (shown once) and its row."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_sha256=_digest(plain), expires_at=utcnow() + ttl)
    db.session.add(row)
    db.session.flush()
    return plain, row


def find_live_token(plain: str) -> ApiToken | None:
    """The unexpired, unrevoked token row for a presented token, if any."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(plain)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def revoke_token(row: ApiToken) -> None:
    """Revoke a token now."""
    row.revoked_at = utcnow()
