"""The one exception hierarchy of casebox.

Every error a user can cause is a :class:`CaseboxError`. The API turns each one
into an ``application/problem+json`` response (RFC 9457) whose ``type`` is
``https://casebox.invalid/problems/<slug>``. Messages never carry personal
health information: they name fields and rules, not values.

Titles are marked English (``N_``) and translated when the problem is rendered; details
are translated where they are raised (``gettext``, in the request's language).
"""

from __future__ import annotations

from typing import Any, ClassVar

from casebox.i18n import N_


class CaseboxError(Exception):
    """Base of every error casebox raises on purpose."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = N_("Bad request")

    def __init__(self, detail: str, *, errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class ValidationFailed(CaseboxError):
    """The request body or parameters do not satisfy the schema or a rule."""

    status = 422
    slug = "validation-failed"
    title = N_("The request is not valid")


class Unauthenticated(CaseboxError):
    """No valid credentials were presented."""

    status = 401
    slug = "unauthenticated"
    title = N_("Authentication required")


class Forbidden(CaseboxError):
    """Authenticated, but the role may not use this function."""

    status = 403
    slug = "forbidden"
    title = N_("Not allowed")


class SecondFactorRequired(Forbidden):
    """The operation needs a confirmed authenticator app, and the user has none."""

    slug = "second-factor-required"
    title = N_("Second factor required")


class SecondFactorRejected(Forbidden):
    """The authenticator code is wrong, outside the accepted window or already used."""

    slug = "second-factor-rejected"
    title = N_("Second factor not accepted")


class ReauthenticationFailed(Forbidden):
    """The password given to confirm a grave action (such as erasure) is wrong."""

    slug = "reauthentication-failed"
    title = N_("Password not accepted")


class NotFound(CaseboxError):
    """The object does not exist or the caller may not know that it exists."""

    status = 404
    slug = "not-found"
    title = N_("Not found")


class Conflict(CaseboxError):
    """The object's state does not allow the operation."""

    status = 409
    slug = "conflict"
    title = N_("Conflict with the current state")


class PayloadTooLarge(CaseboxError):
    """The request body exceeds the configured limit."""

    status = 413
    slug = "payload-too-large"
    title = N_("Request body too large")


class UnsupportedMediaType(CaseboxError):
    """The request body is not of a type this route accepts."""

    status = 415
    slug = "unsupported-media-type"
    title = N_("Unsupported media type")


class PhotoRejected(CaseboxError):
    """An uploaded file is not a usable photo (format, size, corruption)."""

    status = 422
    slug = "photo-rejected"
    title = N_("The photo cannot be accepted")

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, errors={"file": [detail]})
        self.reason = reason


class RateLimited(CaseboxError):
    """Too many attempts in a time window."""

    status = 429
    slug = "rate-limited"
    title = N_("Too many requests")


class StorageError(CaseboxError):
    """The object store failed or returned data that does not verify."""

    status = 503
    slug = "storage-unavailable"
    title = N_("Storage is unavailable")


class ObjectNotFound(StorageError):
    """A key that should exist is missing from the object store."""


class IntegrityViolation(StorageError):
    """Stored bytes do not match their recorded checksum or fail decryption."""

    slug = "integrity-violation"
    title = N_("Stored data failed verification")


class ConfigurationError(CaseboxError):
    """The settings are unsafe or inconsistent; the process must not start."""

    status = 500
    slug = "configuration"
    title = N_("Configuration error")


class TusVersionUnsupported(CaseboxError):
    """A resumable upload request names no tus version, or one this server does not speak."""

    status = 412
    slug = "tus-version-unsupported"
    title = N_("Unsupported tus version")


class UploadExpired(CaseboxError):
    """A resumable upload was not finished in time; its bytes are being removed."""

    status = 410
    slug = "upload-expired"
    title = N_("The upload has expired")
