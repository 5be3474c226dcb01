"""How to take each kind of photo, and the faint guide a follow-up photo is taken over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from casebox.cases.models import Case, Photo, PhotoStatus, PhotoView
from casebox.database import db
from casebox.followups.operations import follow_up_answered_by


@dataclass(frozen=True)
class ViewGuidance:
    """What the patient is asked to photograph for one view."""

    view: PhotoView
    title: LazyString
    how: LazyString
    required: bool


VIEW_GUIDANCE: tuple[ViewGuidance, ...] = (
    ViewGuidance(
        PhotoView.REGIONAL,
        _l("Overview photo"),
        _l(
            "Hold the phone 30 to 50 cm away so that the spot and a landmark (a joint, "
            "the navel, an ear) are both in the picture. Use daylight, no flash."
        ),
        required=False,
    ),
    ViewGuidance(
        PhotoView.CLOSE_UP,
        _l("Close-up photo (required)"),
        _l(
            "Hold the phone about 20 cm away, straight above the spot, and tap the screen "
            "on it to focus. Keep it sharp: brace your arm, and take it again if blurred."
        ),
        required=True,
    ),
    ViewGuidance(
        PhotoView.DERMOSCOPIC,
        _l("Dermoscope photo (optional)"),
        _l("Only if you have a dermoscope attachment for your phone."),
        required=False,
    ),
)


def baseline_guide(case: Case) -> dict[str, Any] | None:
    """For a follow-up case: the earlier close-up to line the new photo up with."""
    if case.follow_up_of_id is None:
        return None
    baseline = db.session.get(Case, case.follow_up_of_id)
    if baseline is None or baseline.patient_id != case.patient_id:
        return None
    photo = db.session.scalars(
        select(Photo)
        .where(Photo.case_id == baseline.id, Photo.status == PhotoStatus.READY)
        .order_by(Photo.view != PhotoView.CLOSE_UP, Photo.created_at)
        .limit(1)
    ).first()
    if photo is None:
        return None
    own = f"/api/v1/cases/{baseline.public_id}/photos/{photo.public_id}/image"
    follow_up = follow_up_answered_by(case)
    return {
        "image": f"{own}?variant=review",
        "view": str(photo.view),
        "instructions": follow_up.instructions if follow_up else None,
    }
