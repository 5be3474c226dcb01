"""The verbs of annotating a photo and calibrating it. They flush and audit; the request commits.

Staff who may open a photo's case may read its annotations. Only the specialist who
holds the live claim on that case may draw, change or delete them, or set the photo's
calibration: the annotations are part of that review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select

from casebox.accounts.models import Role, User
from casebox.annotations.models import Annotation
from casebox.annotations.shapes import (
    Calibration,
    Measurement,
    Shape,
    measure,
    parse_annotation,
    parse_calibration,
    parse_selector,
)
from casebox.audit import trail
from casebox.cases.models import Photo
from casebox.cases.operations import find_photo_by_id
from casebox.database import db, utcnow
from casebox.errors import Conflict, Forbidden, NotFound
from casebox.review.access import holds_live_claim

MAX_ANNOTATIONS_PER_PHOTO: Final = 500


@dataclass(frozen=True)
class StoredAnnotation:
    """An annotation with its shape and its measurement under the photo's calibration."""

    annotation: Annotation
    shape: Shape
    measurement: Measurement | None


def photo_calibration(photo: Photo) -> Calibration | None:
    """The photo's stored calibration, if a specialist has drawn one."""
    if not photo.calibration:
        return None
    x1, y1, x2, y2 = photo.calibration["line"]
    return Calibration((x1, y1, x2, y2), photo.calibration["length_mm"])


def _stored(annotation: Annotation, calibration: Calibration | None) -> StoredAnnotation:
    photo = annotation.photo
    shape = parse_selector(annotation.selector, width=photo.width, height=photo.height)
    return StoredAnnotation(annotation, shape, measure(shape, calibration))


def _audit(action: str, photo: Photo, **details: Any) -> None:
    trail.record(
        action,
        object_type="photo",
        object_id=photo.public_id,
        details={"case_id": photo.case.public_id, **details},
    )


def _photo_to_change(user: User, photo_id: str) -> Photo:
    if user.role != Role.SPECIALIST:
        raise Forbidden("Only specialists annotate photos.")
    photo = find_photo_by_id(user, photo_id)
    if not holds_live_claim(user, photo.case):
        raise Conflict("Claim this photo's case for review before annotating or calibrating it.")
    return photo


def _annotation_of(photo: Photo, annotation_id: str) -> Annotation:
    annotation = db.session.scalar(
        select(Annotation).where(
            Annotation.photo_id == photo.id, Annotation.public_id == annotation_id
        )
    )
    if annotation is None:
        raise NotFound("No such annotation.")
    return annotation


def list_annotations(user: User, photo_id: str) -> list[StoredAnnotation]:
    """The photo's annotations, oldest first (audited)."""
    photo = find_photo_by_id(user, photo_id)
    annotations = db.session.scalars(
        select(Annotation)
        .where(Annotation.photo_id == photo.id)
        .order_by(Annotation.created_at, Annotation.id)
    ).all()
    _audit("annotation.list", photo, count=len(annotations))
    calibration = photo_calibration(photo)
    return [_stored(annotation, calibration) for annotation in annotations]


def create_annotation(user: User, photo_id: str, document: Mapping[str, Any]) -> StoredAnnotation:
    """Store a new shape on a photo of the case the specialist is reviewing."""
    photo = _photo_to_change(user, photo_id)
    parsed = parse_annotation(document, width=photo.width, height=photo.height)
    count = db.session.scalar(
        select(func.count()).select_from(Annotation).where(Annotation.photo_id == photo.id)
    )
    if (count or 0) >= MAX_ANNOTATIONS_PER_PHOTO:
        raise Conflict(f"A photo can hold at most {MAX_ANNOTATIONS_PER_PHOTO} annotations.")
    annotation = Annotation(
        photo=photo,
        author_id=user.id,
        tool=parsed.shape.tool,
        motivation=parsed.motivation,
        selector=parsed.selector,
        bodies=parsed.bodies,
    )
    db.session.add(annotation)
    db.session.flush()
    _audit("annotation.create", photo, annotation_id=annotation.public_id, tool=annotation.tool)
    return _stored(annotation, photo_calibration(photo))


def replace_annotation(
    user: User, photo_id: str, annotation_id: str, document: Mapping[str, Any]
) -> StoredAnnotation:
    """Replace an annotation's shape, motivation and text (its id and author stay)."""
    photo = _photo_to_change(user, photo_id)
    annotation = _annotation_of(photo, annotation_id)
    parsed = parse_annotation(document, width=photo.width, height=photo.height)
    annotation.tool = parsed.shape.tool
    annotation.motivation = parsed.motivation
    annotation.selector = parsed.selector
    annotation.bodies = parsed.bodies
    annotation.updated_at = utcnow()
    db.session.flush()
    _audit("annotation.update", photo, annotation_id=annotation.public_id, tool=annotation.tool)
    return _stored(annotation, photo_calibration(photo))


def delete_annotation(user: User, photo_id: str, annotation_id: str) -> None:
    """Delete one annotation of a photo of the case the specialist is reviewing."""
    photo = _photo_to_change(user, photo_id)
    annotation = _annotation_of(photo, annotation_id)
    db.session.delete(annotation)
    db.session.flush()
    _audit("annotation.delete", photo, annotation_id=annotation_id, tool=annotation.tool)


def calibrate_photo(user: User, photo_id: str, data: Mapping[str, Any]) -> Photo:
    """Set the line of known length that turns the photo's pixels into millimetres."""
    photo = _photo_to_change(user, photo_id)
    calibration = parse_calibration(data, width=photo.width, height=photo.height)
    photo.calibration = {"line": list(calibration.line), "length_mm": calibration.length_mm}
    db.session.flush()
    _audit("photo.calibrate", photo)
    return photo


def remove_calibration(user: User, photo_id: str) -> None:
    """Forget the photo's calibration: measurements go back to pixels."""
    photo = _photo_to_change(user, photo_id)
    if photo.calibration is None:
        raise NotFound("The photo has no calibration.")
    photo.calibration = None
    db.session.flush()
    _audit("photo.calibration_remove", photo)
