"""The verbs of resumable uploads. They flush and audit; the request commits.

:func:`receive_chunk` is the one exception to "one transaction per request": it ends
the (read-only) transaction that authenticated the request before it reads the chunk
from the network, and does its writes in a second one, so a phone that takes a minute
to send a chunk holds no database lock meanwhile.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Final

from sqlalchemy import select
from werkzeug.exceptions import ClientDisconnected

from casebox import services
from casebox.accounts.models import User
from casebox.accounts.operations import active_consent
from casebox.audit import trail
from casebox.cases.models import PhotoView
from casebox.cases.operations import add_photo, find_case, require_photos_open
from casebox.database import db, utcnow
from casebox.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    StorageError,
    UploadExpired,
    ValidationFailed,
)
from casebox.i18n import gettext
from casebox.objects import delete_object_on_commit, put_object
from casebox.photos.intake import sniff_file_type
from casebox.uploads.models import Upload, UploadChunk, UploadStatus

# An unfinished upload is removed this long after it was created.
UPLOAD_TTL: Final = timedelta(hours=24)
_READ_SIZE: Final = 64 * 1024
# Enough leading bytes to recognise JPEG, PNG and HEIC (the 'ftyp' box) on the first chunk.
_SNIFF_BYTES: Final = 4096
_MIN_SNIFF_BYTES: Final = 64


def _size_limit_error(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        gettext("A photo may be at most %(megabytes)d MB.", megabytes=limit // (1024 * 1024))
    )


def create_upload(
    patient: User, *, case_id: str, view: PhotoView, length: int, low_data: bool
) -> Upload:
    """Open an upload of ``length`` bytes for one of the patient's draft cases."""
    limit = services.settings().max_upload_bytes
    if length > limit:
        raise _size_limit_error(limit)
    if length == 0:
        raise ValidationFailed(
            gettext("The file is empty. Please choose the photo again."),
            errors={"Upload-Length": [gettext("Must be at least 1.")]},
        )
    if active_consent(patient) is None:
        raise Forbidden(
            gettext("Consent is withdrawn. Give consent again to create or submit cases.")
        )
    case = find_case(patient, case_id)
    require_photos_open(case)
    upload = Upload(
        patient_id=patient.id,
        case=case,
        view=view,
        low_data=low_data,
        upload_length=length,
        expires_at=utcnow() + UPLOAD_TTL,
    )
    db.session.add(upload)
    db.session.flush()
    trail.record(
        "upload.create",
        object_type="upload",
        object_id=upload.public_id,
        details={"case_id": case.public_id, "view": str(view), "length": length,
                 "low_data": low_data},
    )  # fmt: skip
    return upload


def find_upload(patient: User, upload_id: str, *, for_update: bool = False) -> Upload:
    """The patient's own upload; NotFound for anyone else's, exactly as for a missing id."""
    query = select(Upload).where(Upload.public_id == upload_id)
    if for_update:
        query = query.with_for_update()
    upload = db.session.scalar(query)
    if upload is None or upload.patient_id != patient.id:
        raise NotFound(gettext("No such upload."))
    return upload


def _require_live(upload: Upload, now: datetime | None = None) -> None:
    if upload.status == UploadStatus.RECEIVING and upload.expires_at <= (now or utcnow()):
        raise UploadExpired(
            gettext("This upload was not finished within 24 hours; start it again.")
        )


def view_upload(patient: User, upload_id: str) -> Upload:
    """An upload's offset and status, and its photo once finished (audited)."""
    upload = find_upload(patient, upload_id)
    _require_live(upload)
    trail.record(
        "upload.view",
        object_type="upload",
        object_id=upload.public_id,
        details={"offset": upload.upload_offset, "status": str(upload.status)},
    )
    return upload


@dataclass(frozen=True)
class ChunkOutcome:
    """What a PATCH did: the upload after it, and whether its sender went away mid-chunk."""

    upload: Upload
    received: int
    interrupted: bool = False
    replayed: bool = False


def receive_chunk(
    patient: User, upload_id: str, *, offset: int, body: IO[bytes], content_length: int | None
) -> ChunkOutcome:
    """Append the bytes of one PATCH at ``offset``; the last byte turns the upload into a photo.

    Bytes of a request cut short are kept, so the client resumes after the last byte
    that arrived. A repeated final PATCH of a finished upload changes nothing.
    """
    upload = find_upload(patient, upload_id)
    _require_live(upload)
    if upload.status == UploadStatus.COMPLETE:
        if offset + (content_length or 0) == upload.upload_length:
            trail.record("upload.replay", object_type="upload", object_id=upload.public_id)
            return ChunkOutcome(upload, received=0, replayed=True)
        raise Conflict(gettext("This upload is already complete."))
    if offset != upload.upload_offset:
        raise Conflict(
            gettext(
                "The upload holds %(held)d bytes, not %(offset)d; "
                "ask with HEAD for the offset and continue from there.",
                held=upload.upload_offset,
                offset=offset,
            )
        )
    remaining = upload.upload_length - offset
    if content_length is not None and content_length > remaining:
        raise PayloadTooLarge(
            gettext(
                "The chunk would end after the declared Upload-Length; %(remaining)d bytes remain.",
                remaining=remaining,
            )
        )
    public_id = upload.public_id
    # Nothing was written: end the transaction before the slow part, the network read.
    db.session.rollback()
    data, interrupted = _read_body(body, remaining)
    if offset == 0 and len(data) >= _MIN_SNIFF_BYTES:
        sniff_file_type(data[:_SNIFF_BYTES])  # a PDF is refused now, not after 20 MB
    return _append_chunk(patient, public_id, offset, data, interrupted=interrupted)


def _read_body(body: IO[bytes], remaining: int) -> tuple[bytes, bool]:
    """Read at most ``remaining`` bytes; (bytes, True) if the client went away first."""
    parts: list[bytes] = []
    received = 0
    while True:
        try:
            piece = body.read(min(_READ_SIZE, remaining + 1 - received))
        except ClientDisconnected:
            return b"".join(parts), True
        if not piece:
            return b"".join(parts), False
        parts.append(piece)
        received += len(piece)
        if received > remaining:
            raise PayloadTooLarge(
                gettext(
                    "The chunk goes past the declared Upload-Length; %(remaining)d bytes remain.",
                    remaining=remaining,
                )
            )


def _append_chunk(
    patient: User, upload_id: str, offset: int, data: bytes, *, interrupted: bool
) -> ChunkOutcome:
    chunk: UploadChunk | None = None
    if data:
        # Stored before the row is locked; a rollback below deletes it again.
        key = f"uploads/{upload_id}/{offset:012d}-{uuid.uuid4().hex}"
        chunk = UploadChunk(start=offset, size=len(data), object_key=key,
                            sha256=put_object(key, data))  # fmt: skip
    upload = find_upload(patient, upload_id, for_update=True)
    if upload.status != UploadStatus.RECEIVING or upload.upload_offset != offset:
        raise Conflict(
            gettext(
                "Another request added bytes to this upload first; "
                "ask with HEAD for the offset and continue from there."
            )
        )
    if chunk is not None:
        upload.chunks.append(chunk)
        upload.upload_offset = offset + chunk.size
    upload.updated_at = utcnow()
    trail.record(
        "upload.chunk",
        object_type="upload",
        object_id=upload.public_id,
        details={"offset": offset, "received": len(data), "interrupted": interrupted},
    )
    if upload.upload_offset == upload.upload_length:
        _finish(patient, upload)
    return ChunkOutcome(upload, received=len(data), interrupted=interrupted)


def _finish(patient: User, upload: Upload) -> None:
    """Turn the assembled bytes into a photo, exactly as a multipart upload would be."""
    photo = add_photo(
        patient, upload.case.public_id, view=upload.view, data=_assemble(upload),
        low_data=upload.low_data,
    )  # fmt: skip
    upload.status = UploadStatus.COMPLETE
    upload.photo = photo
    for chunk in upload.chunks:
        delete_object_on_commit(chunk.object_key)
    upload.chunks.clear()
    trail.record(
        "upload.complete",
        object_type="upload",
        object_id=upload.public_id,
        details={"case_id": upload.case.public_id, "photo_id": photo.public_id},
    )


def _assemble(upload: Upload) -> bytes:
    store = services.object_store()
    parts: list[bytes] = []
    position = 0
    for chunk in sorted(upload.chunks, key=lambda c: c.start):
        if chunk.start != position:
            raise StorageError(f"upload {upload.public_id} has a gap at byte {position}")
        parts.append(store.get(chunk.object_key, sha256=chunk.sha256))
        position += chunk.size
    if position != upload.upload_length:
        raise StorageError(f"upload {upload.public_id} holds {position} bytes, not its length")
    return b"".join(parts)


def terminate_upload(patient: User, upload_id: str) -> None:
    """Forget an upload and remove its bytes once this commits (a photo it made stays)."""
    upload = find_upload(patient, upload_id, for_update=True)
    _discard(upload)
    trail.record(
        "upload.terminate",
        object_type="upload",
        object_id=upload_id,
        details={"offset": upload.upload_offset, "status": str(upload.status)},
    )


def discard_patients_uploads(patient: User, *, reason: str) -> int:
    """Forget every upload of ``patient`` still receiving bytes (audited); returns how many."""
    uploads = db.session.scalars(
        select(Upload)
        .where(Upload.patient_id == patient.id, Upload.status == UploadStatus.RECEIVING)
        .with_for_update()
    ).all()
    for upload in uploads:
        _discard(upload)
        trail.record(
            "upload.terminate",
            object_type="upload",
            object_id=upload.public_id,
            details={"offset": upload.upload_offset, "reason": reason},
        )
    return len(uploads)


def _discard(upload: Upload) -> None:
    for chunk in upload.chunks:
        delete_object_on_commit(chunk.object_key)
    db.session.delete(upload)


def purge_expired_uploads(now: datetime | None = None) -> int:
    """Remove uploads past their expiry time with their bytes; returns how many.

    Finished uploads go too (their photos stay). The caller commits.
    """
    expired = db.session.scalars(
        select(Upload).where(Upload.expires_at <= (now or utcnow())).with_for_update()
    ).all()
    for upload in expired:
        _discard(upload)
        trail.record(
            "upload.expire",
            object_type="upload",
            object_id=upload.public_id,
            details={"offset": upload.upload_offset, "status": str(upload.status)},
        )
    return len(expired)
