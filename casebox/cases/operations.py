"""The verbs of the cases domain. They flush and audit; the request commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from casebox import services
from casebox.accounts.models import Role, User
from casebox.accounts.operations import active_consent
from casebox.assessments.models import Assessment, Management
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus, Photo, PhotoStatus, PhotoView
from casebox.database import db, new_public_id, utcnow
from casebox.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casebox.followups.models import FollowUp, FollowUpStatus
from casebox.i18n import gettext
from casebox.objects import delete_object_on_commit, put_object
from casebox.outbox.events import CASE_SUBMITTED, PHOTO_UPLOADED, emit
from casebox.photos.intake import inspect_upload
from casebox.review.access import claimed_by_someone_else, staff_may_read


def _require_consent(patient: User) -> None:
    if active_consent(patient) is None:
        raise Forbidden(
            gettext("Consent is withdrawn. Give consent again to create or submit cases.")
        )


def create_case(patient: User, *, body_site: str, questionnaire: dict[str, Any]) -> Case:
    """Open a draft case for the patient."""
    _require_consent(patient)
    case = Case(patient_id=patient.id, body_site=body_site, questionnaire=questionnaire)
    db.session.add(case)
    db.session.flush()
    trail.record("case.create", object_type="case", object_id=case.public_id)
    return case


def change_answers(
    patient: User, case_id: str, *, body_site: str, questionnaire: dict[str, Any]
) -> Case:
    """Correct the body site or the answers of a case not yet sent."""
    case = find_case(patient, case_id, for_update=True)
    if case.status != CaseStatus.DRAFT:
        raise Conflict(f"Only a case not yet sent can be changed; it is {case.status}.")
    case.body_site = body_site
    case.questionnaire = questionnaire
    case.updated_at = utcnow()
    trail.record("case.update", object_type="case", object_id=case.public_id)
    return case


def find_case(user: User, public_id: str, *, for_update: bool = False) -> Case:
    """The case if this user may see it; otherwise NotFound, exactly as for a missing id.

    A specialist cannot open a case another specialist is reviewing (Conflict).
    """
    query = select(Case).where(Case.public_id == public_id).options(selectinload(Case.photos))
    if for_update:
        query = query.with_for_update()
    case = db.session.scalar(query)
    if case is None or not _may_read(user, case):
        raise NotFound(gettext("No such case."))
    if user.role == Role.SPECIALIST and claimed_by_someone_else(user, case):
        holder = case.claimed_by.name if case.claimed_by else "Another specialist"
        raise Conflict(f"{holder} is reviewing this case; it opens again when they return it.")
    return case


def _may_read(user: User, case: Case) -> bool:
    if user.role == Role.PATIENT:
        return case.patient_id == user.id
    return staff_may_read(user, case)


def view_case(user: User, public_id: str) -> Case:
    """Read a case and audit the read."""
    case = find_case(user, public_id)
    trail.record("case.view", object_type="case", object_id=case.public_id)
    return case


@dataclass(frozen=True)
class CasePage:
    """One page of a listing."""

    items: list[Case]
    page: int
    per_page: int
    total: int


def list_own_cases(patient: User, *, page: int, per_page: int) -> CasePage:
    """The patient's own cases, newest first."""
    total = db.session.scalar(select(func.count()).where(Case.patient_id == patient.id)) or 0
    items = db.session.scalars(
        select(Case)
        .where(Case.patient_id == patient.id)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    trail.record(
        "case.list",
        object_type="user",
        object_id=patient.public_id,
        details={"page": page, "count": len(items)},
    )
    return CasePage(list(items), page, per_page, total)


# A patient adds photos to a draft, and to a case whose specialist asked for more.
PHOTOS_OPEN = (CaseStatus.DRAFT, CaseStatus.MORE_INFO_REQUESTED)


def require_photos_open(case: Case, action: str = "added") -> None:
    """Conflict unless the patient may add (or delete) photos of this case now."""
    if case.status not in PHOTOS_OPEN:
        raise Conflict(
            gettext(
                "Photos can only be added while the case is a draft or the specialist "
                "asks for more information; it is %(status)s.",
                status=case.status,
            )
            if action == "added"
            else gettext(
                "Photos can only be deleted while the case is a draft or the specialist "
                "asks for more information; it is %(status)s.",
                status=case.status,
            )
        )


def information_requested_at(case: Case) -> datetime | None:
    """When the specialist last asked the patient for more information on this case."""
    return db.session.scalar(
        select(func.max(Assessment.created_at)).where(
            Assessment.case_id == case.id, Assessment.management == Management.MORE_INFORMATION
        )
    )


def add_photo(
    patient: User, case_id: str, *, view: PhotoView, data: bytes, low_data: bool = False
) -> Photo:
    """Check an upload, store its sanitized original encrypted, and queue normalization.

    ``low_data``: the phone downsized the photo before sending it; the case records it.
    """
    case = find_case(patient, case_id, for_update=True)
    require_photos_open(case, "added")
    inspected = inspect_upload(data, max_pixels=services.settings().max_image_pixels)
    photo = Photo(
        public_id=new_public_id(),
        case=case,
        view=view,
        media_type=inspected.media_type,
        size_bytes=len(inspected.data),
        width=inspected.width,
        height=inspected.height,
    )
    photo.original_key = f"cases/{case.public_id}/photos/{photo.public_id}/original"
    photo.original_sha256 = put_object(photo.original_key, inspected.data)
    db.session.add(photo)
    db.session.flush()
    case.updated_at = utcnow()
    if low_data:
        case.low_data = True
    emit(PHOTO_UPLOADED, photo_id=photo.public_id)
    trail.record(
        "photo.upload",
        object_type="photo",
        object_id=photo.public_id,
        details={"case_id": case.public_id, "view": str(view), "low_data": low_data},
    )
    return photo


def find_photo(case: Case, photo_id: str) -> Photo:
    """A photo of this case, or NotFound."""
    for photo in case.photos:
        if photo.public_id == photo_id:
            return photo
    raise NotFound(gettext("No such photo."))


def find_photo_by_id(user: User, photo_id: str) -> Photo:
    """A photo addressed by its own id, if the user may open its case (as find_case)."""
    case_id = db.session.scalar(
        select(Case.public_id)
        .join(Photo, Photo.case_id == Case.id)
        .where(Photo.public_id == photo_id)
    )
    try:
        case = find_case(user, case_id or "")
    except NotFound:
        # The same answer as for a photo that does not exist: existence is not revealed.
        raise NotFound(gettext("No such photo.")) from None
    return find_photo(case, photo_id)


def read_review_image(photo: Photo) -> bytes:
    """The verified bytes of a photo's review derivative (Conflict until it exists)."""
    if not photo.review_key or not photo.review_sha256:
        raise Conflict(f"The review image is not available; the photo is {photo.status}.")
    return services.object_store().get(photo.review_key, sha256=photo.review_sha256)


def delete_photo(patient: User, case_id: str, photo_id: str) -> None:
    """Remove a photo from a draft case; its objects go once the deletion commits."""
    case = find_case(patient, case_id, for_update=True)
    photo = find_photo(case, photo_id)
    require_photos_open(case, "deleted")
    if case.status == CaseStatus.MORE_INFO_REQUESTED:
        asked = information_requested_at(case)
        if asked is not None and photo.created_at <= asked:
            raise Conflict(
                gettext(
                    "The specialist has already seen this photo; only photos added since "
                    "they asked for more information can be deleted."
                )
            )
    for key in (photo.original_key, photo.review_key, photo.thumb_key):
        if key:
            delete_object_on_commit(key)
    case.photos.remove(photo)
    case.updated_at = utcnow()
    trail.record(
        "photo.delete",
        object_type="photo",
        object_id=photo.public_id,
        details={"case_id": case.public_id},
    )


def submit_case(patient: User, case_id: str, *, accept_quality_warnings: bool = False) -> Case:
    """Hand a draft case to the pipeline; submitting again changes nothing.

    Every photo must have passed the quality check. Photos with warnings go
    only when the patient explicitly accepts them, and that choice is recorded.
    """
    case = find_case(patient, case_id, for_update=True)
    if case.status != CaseStatus.DRAFT:
        return case
    return send_for_review(patient, case, accept_quality_warnings=accept_quality_warnings)


def send_for_review(patient: User, case: Case, *, accept_quality_warnings: bool) -> Case:
    """Check the photos and hand the (locked) case to the pipeline, which routes it.

    The submit of a draft, and the resubmit of a case answering a request for more
    information. Raises before writing anything when the case cannot go yet.
    """
    _require_consent(patient)
    _check_photos_ready(case.photos)
    warned = _photos_with_warnings(case.photos)
    if warned and not accept_quality_warnings:
        messages = [_advice(reason) for _, reasons in warned for reason in reasons]
        raise ValidationFailed(
            gettext(
                "Some photos have quality warnings. Retake them, or send them anyway with "
                '"accept_quality_warnings": true.'
            ),
            errors={"accept_quality_warnings": messages},
        )
    if not any(photo.view == PhotoView.CLOSE_UP for photo in case.photos):
        raise ValidationFailed(
            gettext("Add at least one close-up photo before submitting."),
            errors={"photos": [gettext("At least one photo with view 'close_up' is required.")]},
        )
    if warned:
        case.quality_override = [
            {"photo_id": photo.public_id, "codes": [reason["code"] for reason in reasons]}
            for photo, reasons in warned
        ]
    case.status = CaseStatus.SUBMITTED
    case.submitted_at = utcnow()
    if case.follow_up_of_id is not None:
        _complete_follow_up(case)
    emit(CASE_SUBMITTED, case_id=case.public_id)
    trail.record(
        "case.submit",
        object_type="case",
        object_id=case.public_id,
        details={"photos": len(case.photos), "quality_override": bool(warned)},
    )
    return case


def _complete_follow_up(case: Case) -> None:
    """The follow-up whose pre-created case this is has been answered."""
    done = db.session.execute(
        update(FollowUp)
        .where(
            FollowUp.follow_up_case_id == case.id,
            FollowUp.status.in_([FollowUpStatus.SCHEDULED, FollowUpStatus.DUE]),
        )
        .values(status=FollowUpStatus.COMPLETED)
        .returning(FollowUp.public_id)
    ).scalar()
    if done is not None:
        trail.record("follow_up.complete", object_type="follow_up", object_id=done,
                     details={"case_id": case.public_id})  # fmt: skip


def _advice(reason: dict[str, str]) -> str:
    """A stored quality reason's sentence (English) in the reader's language."""
    english = reason.get("message") or ""
    return gettext(english) if english else english


def _check_photos_ready(photos: list[Photo]) -> None:
    if any(photo.status == PhotoStatus.PROCESSING for photo in photos):
        raise Conflict(gettext("Your photos are still being checked. Try again in a few seconds."))
    rejected = [photo for photo in photos if photo.status == PhotoStatus.REJECTED]
    if rejected:
        raise ValidationFailed(
            gettext("Some photos cannot be used. Delete them and take them again."),
            errors={
                "photos": [
                    gettext("Photo %(photo)s:", photo=photo.public_id)
                    + " "
                    + " ".join(_advice(r) for r in photo.quality_reasons or [])
                    for photo in rejected
                ]
            },
        )


def _photos_with_warnings(photos: list[Photo]) -> list[tuple[Photo, list[dict[str, str]]]]:
    warned = []
    for photo in photos:
        warnings = [r for r in photo.quality_reasons or [] if r.get("severity") == "warn"]
        if warnings:
            warned.append((photo, warnings))
    return warned


def view_photo(user: User, case_id: str, photo_id: str) -> Photo:
    """A photo's status, quality metrics and reasons (audited)."""
    case = find_case(user, case_id)
    photo = find_photo(case, photo_id)
    trail.record("photo.read", object_type="photo", object_id=photo.public_id,
                 details={"case_id": case.public_id})  # fmt: skip
    return photo


@dataclass(frozen=True)
class ImageContent:
    """Bytes of one image variant, ready to send."""

    data: bytes
    media_type: str
    filename: str


def read_photo_image(user: User, case_id: str, photo_id: str, variant: str) -> ImageContent:
    """Decrypt and verify one variant of a photo, auditing the view."""
    case = find_case(user, case_id)
    photo = find_photo(case, photo_id)
    key: str | None
    sha256: str | None
    if variant == "original":
        key, sha256, media_type = photo.original_key, photo.original_sha256, photo.media_type
    else:
        key = photo.review_key if variant == "review" else photo.thumb_key
        sha256 = photo.review_sha256 if variant == "review" else photo.thumb_sha256
        media_type = "image/jpeg"
    if not key or not sha256:
        raise Conflict(f"The {variant} image is not available; the photo is {photo.status}.")
    data = services.object_store().get(key, sha256=sha256)
    trail.record(
        "photo.view",
        object_type="photo",
        object_id=photo.public_id,
        details={"case_id": case.public_id, "variant": variant},
    )
    extension = media_type.split("/")[1].replace("jpeg", "jpg")
    return ImageContent(data, media_type, f"photo-{photo.public_id}-{variant}.{extension}")
