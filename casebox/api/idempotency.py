"""``Idempotency-Key`` support for POSTs that create something.

The key row is inserted before the view runs, in the same transaction, so a
concurrent duplicate waits for (or conflicts with) the first request, and a
failed request rolls the key back so the client may retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import ParamSpec

from flask import Response, g, request
from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from casebox.database import UTCDateTime, db, utcnow
from casebox.errors import Conflict, ValidationFailed

P = ParamSpec("P")
HEADER = "Idempotency-Key"


class IdempotencyRecord(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A remembered response to a keyed request."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def idempotent(view: Callable[P, Response]) -> Callable[P, Response]:
    """Replay the stored response when the same key is sent again."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise ValidationFailed(
                "The Idempotency-Key header must be 1 to 255 printable characters.",
                errors={HEADER: ["Must be 1 to 255 printable characters."]},
            )
        user = getattr(g, "user", None)
        scope = f"user:{user.public_id}" if user is not None else "anonymous"
        fingerprint = _fingerprint()
        existing = db.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
        if existing is not None:
            return _replay(existing, fingerprint)
        record = IdempotencyRecord(scope=scope, key=key, fingerprint=fingerprint)
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except IntegrityError as exc:
            raise Conflict("A request with this Idempotency-Key is in progress; retry.") from exc
        response = view(*args, **kwargs)
        record.status_code = response.status_code
        record.body = response.get_data(as_text=True)
        record.location = response.headers.get("Location")
        return response

    return wrapper


def _fingerprint() -> str:
    """Hash what the request means; multipart boundaries differ between retries."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    if request.mimetype != "multipart/form-data":
        digest.update(request.get_data(cache=True, parse_form_data=False))
        return digest.hexdigest()
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"form {name}={value}\n".encode())
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        content = hashlib.file_digest(upload.stream, "sha256").hexdigest()  # type: ignore[arg-type]  # spooled file has readinto
        upload.stream.seek(0)
        digest.update(f"file {name}={content}\n".encode())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was already used for a different request.",
            errors={HEADER: ["Already used for a different request."]},
        )
    if record.status_code is None:
        raise Conflict("A request with this Idempotency-Key is in progress; retry.")
    response = Response(record.body, status=record.status_code, mimetype="application/json")
    if record.location:
        response.headers["Location"] = record.location
    response.headers["Idempotent-Replayed"] = "true"
    return response
