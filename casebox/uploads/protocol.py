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
from casebox.i18n import gettext

TUS_VERSION: Final = "1.0.0"
TUS_EXTENSIONS: Final = "creation,expiration,termination"
CHUNK_MEDIA_TYPE: Final = "application/offset+octet-stream"
# Header pointing to the photo a finished upload became (a casebox extension).
PHOTO_HEADER: Final = "Casebox-Photo"


def require_tus_version(headers: Headers) -> None:
    """Refuse (412) a tus request without ``Tus-Resumable: 1.0.0``."""
    version = headers.get("Tus-Resumable")
    if version != TUS_VERSION:
        named = (
            gettext("The request has no Tus-Resumable header.")
            if version is None
            else gettext("The request names an unsupported tus version.")
        )
        speaks = gettext(
            "This server speaks tus %(version)s (send 'Tus-Resumable: %(version)s').",
            version=TUS_VERSION,
        )
        raise TusVersionUnsupported(f"{named} {speaks}")


def require_chunk_media_type(mimetype: str) -> None:
    """Refuse (415) a PATCH whose body is not application/offset+octet-stream."""
    if mimetype != CHUNK_MEDIA_TYPE:
        raise UnsupportedMediaType(
            gettext(
                "Send the bytes of a chunk with 'Content-Type: %(type)s'.", type=CHUNK_MEDIA_TYPE
            )
        )


def byte_count(headers: Headers, name: str) -> int:
    """A non-negative integer header (Upload-Length, Upload-Offset); 422 if missing or bad."""
    value = headers.get(name)
    if value is None:
        raise ValidationFailed(
            gettext("The %(name)s header is required.", name=name),
            errors={name: [gettext("Required.")]},
        )
    if not value.isdigit() or len(value) > 18:
        raise ValidationFailed(
            gettext("The %(name)s header must be a whole number of bytes.", name=name),
            errors={name: [gettext("Must be a non-negative integer.")]},
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
            raise _bad_metadata(gettext("Each pair must be a key, a space and a base64 value."))
        if key in pairs:
            raise _bad_metadata(gettext("The key '%(key)s' appears twice.", key=key))
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, ValueError):
            raise _bad_metadata(
                gettext("The value of '%(key)s' is not base64-encoded UTF-8.", key=key)
            ) from None
    return pairs


def encode_metadata(pairs: Mapping[str, str]) -> str:
    """The ``Upload-Metadata`` header for these pairs."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items()
    )


def _bad_metadata(message: str) -> ValidationFailed:
    return ValidationFailed(
        gettext("The Upload-Metadata header is malformed: %(problem)s", problem=message),
        errors={"Upload-Metadata": [message]},
    )
