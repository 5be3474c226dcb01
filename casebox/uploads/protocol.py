"""The tus 1.0.0 headers: what a request must carry and how its metadata is read.

See https://tus.io/protocols/resumable-upload (core, creation, expiration, termination).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Final

from werkzeug.datastructures import Headers

from casebox.errors import TusVersionUnsupported, UnsupportedMediaType, ValidationFailed

TUS_VERSION: Final = "1.0.0"
TUS_EXTENSIONS: Final = "creation,expiration,termination"
CHUNK_MEDIA_TYPE: Final = "application/offset+octet-stream"
# Header pointing to the photo a finished upload became (a casebox extension).
PHOTO_HEADER: Final = "Casebox-Photo"


def require_tus_version(headers: Headers) -> None:
    """Refuse (412) a tus request without ``Tus-Resumable: 1.0.0``."""
    version = headers.get("Tus-Resumable")
    if version != TUS_VERSION:
        named = "no Tus-Resumable header" if version is None else "an unsupported tus version"
        raise TusVersionUnsupported(
            f"The request has {named}; this server speaks tus {TUS_VERSION} "
            f"(send 'Tus-Resumable: {TUS_VERSION}')."
        )


def require_chunk_media_type(mimetype: str) -> None:
    """Refuse (415) a PATCH whose body is not application/offset+octet-stream."""
    if mimetype != CHUNK_MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"Send the bytes of a chunk with 'Content-Type: {CHUNK_MEDIA_TYPE}'."
        )


def byte_count(headers: Headers, name: str) -> int:
    """A non-negative integer header (Upload-Length, Upload-Offset); 422 if missing or bad."""
    value = headers.get(name)
    if value is None:
        raise ValidationFailed(f"The {name} header is required.", errors={name: ["Required."]})
    if not value.isdigit() or len(value) > 18:
        raise ValidationFailed(
            f"The {name} header must be a whole number of bytes.",
            errors={name: ["Must be a non-negative integer."]},
        )
    return int(value)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode ``Upload-Metadata``: comma-separated ``key base64(value)`` pairs."""
    if not header:
        return {}
    pairs: dict[str, str] = {}
    for item in header.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not key or not key.isascii() or not key.isprintable() or " " in encoded.strip():
            raise _bad_metadata("Each pair must be a key, a space and a base64 value.")
        if key in pairs:
            raise _bad_metadata(f"The key '{key}' appears twice.")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, ValueError):
            raise _bad_metadata(f"The value of '{key}' is not base64-encoded UTF-8.") from None
    return pairs


def encode_metadata(pairs: Mapping[str, str]) -> str:
    """The ``Upload-Metadata`` header for these pairs."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items()
    )


def _bad_metadata(message: str) -> ValidationFailed:
    return ValidationFailed(
        f"The Upload-Metadata header is malformed: {message}",
        errors={"Upload-Metadata": [message]},
    )
