"""Errors only the tus protocol gives; they render as problem+json like every CaseboxError."""

from __future__ import annotations

from casebox.errors import CaseboxError


class TusVersionUnsupported(CaseboxError):
    """The request names no tus version, or one this server does not speak."""

    status = 412
    slug = "tus-version-unsupported"
    title = "Unsupported tus version"


class UploadExpired(CaseboxError):
    """The upload was not finished in time; its bytes are being removed."""

    status = 410
    slug = "upload-expired"
    title = "The upload has expired"
