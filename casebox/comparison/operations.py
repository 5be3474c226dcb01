"""The verbs of comparing two photos of one patient: align them, decide, show the difference.

Feature matching takes about half a second and the difference image a fifth, so both
run between two short transactions, like the pipeline jobs: :func:`load_pair` reads
what is needed, the caller ends that read, the pure core computes, and the storing
verb re-checks access before it writes and audits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image
from sqlalchemy import select

from casebox.accounts.models import Role, User
from casebox.audit import trail
from casebox.cases.models import Photo
from casebox.cases.operations import find_photo_by_id, read_review_image
from casebox.comparison.alignment import Alignment, matrix_from_rows
from casebox.comparison.models import PhotoAlignment
from casebox.database import db, utcnow
from casebox.errors import Conflict, Forbidden, NotFound, ValidationFailed

DIFFERENCE_JPEG_QUALITY = 90


@dataclass(frozen=True)
class PhotoPair:
    """The review images and original sizes of a fixed and a moving photo."""

    fixed_photo_id: str
    moving_photo_id: str
    fixed: Image.Image
    fixed_size: tuple[int, int]
    moving: Image.Image
    moving_size: tuple[int, int]


def _review_image(photo: Photo) -> Image.Image:
    image = Image.open(io.BytesIO(read_review_image(photo)))
    image.load()
    return image


def _pair_photos(user: User, fixed_photo_id: str, moving_photo_id: str) -> tuple[Photo, Photo]:
    if fixed_photo_id == moving_photo_id:
        raise ValidationFailed(
            "Choose two different photos to align.",
            errors={"moving_photo_id": ["Must differ from fixed_photo_id."]},
        )
    fixed = find_photo_by_id(user, fixed_photo_id)
    moving = find_photo_by_id(user, moving_photo_id)
    if fixed.case.patient_id != moving.case.patient_id:
        raise ValidationFailed(
            "Only photos of the same patient can be compared.",
            errors={"moving_photo_id": ["Must be a photo of the same patient."]},
        )
    return fixed, moving


def load_pair(user: User, fixed_photo_id: str, moving_photo_id: str) -> PhotoPair:
    """Read two photos of one patient that the specialist may open, for aligning."""
    if user.role != Role.SPECIALIST:
        raise Forbidden("Only specialists align photos.")
    return _read_pair(*_pair_photos(user, fixed_photo_id, moving_photo_id))


def _read_pair(fixed: Photo, moving: Photo) -> PhotoPair:
    return PhotoPair(
        fixed_photo_id=fixed.public_id,
        moving_photo_id=moving.public_id,
        fixed=_review_image(fixed),
        fixed_size=(fixed.width, fixed.height),
        moving=_review_image(moving),
        moving_size=(moving.width, moving.height),
    )


def store_alignment(user: User, pair: PhotoPair, found: Alignment) -> PhotoAlignment:
    """Keep an alignment for the specialist to accept or reject (audited)."""
    fixed, moving = _pair_photos(user, pair.fixed_photo_id, pair.moving_photo_id)
    alignment = PhotoAlignment(
        fixed_photo=fixed,
        moving_photo=moving,
        matrix=[list(row) for row in found.matrix],
        inliers=found.inliers,
        matches=found.matches,
        method=found.method,
        created_by_id=user.id,
    )
    db.session.add(alignment)
    db.session.flush()
    _audit("alignment.create", alignment, inliers=found.inliers, method=found.method)
    return alignment


def _audit(action: str, alignment: PhotoAlignment, **details: object) -> None:
    trail.record(
        action,
        object_type="alignment",
        object_id=alignment.public_id,
        details={
            "fixed_photo_id": alignment.fixed_photo.public_id,
            "moving_photo_id": alignment.moving_photo.public_id,
            **details,
        },
    )


def find_alignment(user: User, alignment_id: str) -> PhotoAlignment:
    """An alignment whose two photos the user may open; NotFound otherwise."""
    alignment = db.session.scalar(
        select(PhotoAlignment).where(PhotoAlignment.public_id == alignment_id)
    )
    if alignment is None:
        raise NotFound("No such alignment.")
    try:
        find_photo_by_id(user, alignment.fixed_photo.public_id)
        find_photo_by_id(user, alignment.moving_photo.public_id)
    except NotFound:
        raise NotFound("No such alignment.") from None
    return alignment


def view_alignment(user: User, alignment_id: str) -> PhotoAlignment:
    """Read an alignment (audited)."""
    alignment = find_alignment(user, alignment_id)
    _audit("alignment.view", alignment)
    return alignment


def decide_alignment(user: User, alignment_id: str, *, accepted: bool) -> PhotoAlignment:
    """Record whether the specialist accepts the alignment; the difference view needs it."""
    if user.role != Role.SPECIALIST:
        raise Forbidden("Only specialists review alignments.")
    alignment = find_alignment(user, alignment_id)
    alignment.accepted = accepted
    alignment.decided_by_id = user.id
    alignment.decided_at = utcnow()
    db.session.flush()
    _audit("alignment.accept" if accepted else "alignment.reject", alignment)
    return alignment


@dataclass(frozen=True)
class DifferenceInput:
    """An accepted alignment and its photos' review images."""

    alignment_id: str
    alignment: Alignment
    pair: PhotoPair


def load_difference(user: User, alignment_id: str) -> DifferenceInput:
    """Read an accepted alignment and its two review images (Conflict until accepted)."""
    stored = find_alignment(user, alignment_id)
    if stored.accepted is not True:
        raise Conflict("The difference view needs an accepted alignment: accept it first.")
    found = Alignment(
        matrix=matrix_from_rows(stored.matrix),
        inliers=stored.inliers,
        matches=stored.matches,
        refined=stored.method.endswith("+ecc"),
        method=stored.method,
    )
    pair = _read_pair(stored.fixed_photo, stored.moving_photo)
    return DifferenceInput(stored.public_id, found, pair)


def record_difference_view(user: User, alignment_id: str) -> None:
    """Audit that the difference image of an alignment was shown."""
    _audit("alignment.difference_view", find_alignment(user, alignment_id))


def encode_difference(image: Image.Image) -> bytes:
    """The difference image as the JPEG the viewer shows."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=DIFFERENCE_JPEG_QUALITY)
    return buffer.getvalue()
