"""Pipeline steps on cases and photos, run by workers. They flush; the job commits."""

from __future__ import annotations

import dataclasses
import io
import logging

from PIL import Image
from sqlalchemy import select

from casebox import services
from casebox.accounts.models import PatientProfile
from casebox.analysis.operations import analyze_case
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus, Photo, PhotoStatus
from casebox.database import db, utcnow
from casebox.errors import PhotoRejected
from casebox.objects import put_object
from casebox.photos.derivatives import make_derivatives
from casebox.photos.quality import assess_quality
from casebox.queues.routing import route

log = logging.getLogger(__name__)


def normalize_photo(photo_id: str) -> PhotoStatus | None:
    """Make the review and thumbnail derivatives of a photo; safe to repeat."""
    photo = db.session.scalar(select(Photo).where(Photo.public_id == photo_id).with_for_update())
    if photo is None:  # deleted before the job ran: nothing to do
        return None
    return _normalize(photo)


def _normalize(photo: Photo) -> PhotoStatus:
    if photo.status != PhotoStatus.PROCESSING:
        return photo.status
    original = services.object_store().get(photo.original_key, sha256=photo.original_sha256)
    try:
        derivatives = make_derivatives(original, max_pixels=services.settings().max_image_pixels)
    except PhotoRejected as rejection:
        photo.status = PhotoStatus.REJECTED
        log.info("photo %s rejected during normalization: %s", photo.public_id, rejection.reason)
        return photo.status
    base = photo.original_key.rsplit("/", 1)[0]
    photo.review_key = f"{base}/review"
    photo.review_sha256 = put_object(photo.review_key, derivatives.review)
    photo.thumb_key = f"{base}/thumb"
    photo.thumb_sha256 = put_object(photo.thumb_key, derivatives.thumb)
    photo.width, photo.height = derivatives.width, derivatives.height
    report = assess_quality(
        Image.open(io.BytesIO(derivatives.review)),
        original_size=(derivatives.width, derivatives.height),
        thresholds=services.settings().quality,
    )
    photo.quality_metrics = report.metrics
    photo.quality_reasons = [dataclasses.asdict(reason) for reason in report.reasons]
    photo.status = PhotoStatus.REJECTED if report.verdict == "rejected" else PhotoStatus.READY
    trail.record(
        "photo.normalize",
        object_type="photo",
        object_id=photo.public_id,
        details={"verdict": report.verdict, "reasons": [r.code for r in report.reasons]},
    )
    return photo.status


UNPROCESSABLE_MESSAGE = "We could not process this photo. Please delete it and take it again."


def mark_photo_unprocessable(photo_id: str, reason: str) -> None:
    """Reject a photo whose processing failed for good, so the patient can retake it."""
    photo = db.session.scalar(select(Photo).where(Photo.public_id == photo_id).with_for_update())
    if photo is None or photo.status != PhotoStatus.PROCESSING:
        return
    photo.status = PhotoStatus.REJECTED
    photo.quality_reasons = [
        {"code": "unprocessable", "severity": "reject", "message": UNPROCESSABLE_MESSAGE}
    ]
    trail.record("photo.processing_failed", object_type="photo", object_id=photo.public_id,
                 outcome="failure", details={"reason": reason[:200]})  # fmt: skip


def _locked_case(case_id: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.public_id == case_id).with_for_update())


def start_processing(case_id: str) -> bool:
    """Mark a submitted case as processing; False when there is nothing to do."""
    case = _locked_case(case_id)
    if case is None or case.status not in (CaseStatus.SUBMITTED, CaseStatus.PROCESSING):
        return False
    case.status = CaseStatus.PROCESSING
    return True


def finish_processing(case_id: str) -> CaseStatus | None:
    """Normalize any photo still pending, then route the case; safe to repeat."""
    case = _locked_case(case_id)
    if case is None or case.status != CaseStatus.PROCESSING:
        return case.status if case else None
    for photo in case.photos:
        _normalize(photo)
    profile = case.patient.patient
    if profile is None:  # only patients own cases, and every patient has a profile
        raise RuntimeError("case owner has no patient profile")
    score = analyze_case(case, profile)
    return _route(case, profile, score)


def mark_processing_failed(case_id: str, reason: str) -> None:
    """Record that processing failed for good, so staff can see and act on it."""
    case = _locked_case(case_id)
    if case is None or case.status not in (CaseStatus.SUBMITTED, CaseStatus.PROCESSING):
        return
    case.status = CaseStatus.PROCESSING_FAILED
    case.failure_reason = reason[:500]
    trail.record("case.processing_failed", object_type="case", object_id=case.public_id,
                 outcome="failure", details={"reason": reason[:200]})  # fmt: skip


def _route(case: Case, profile: PatientProfile, malignancy_score: float | None) -> CaseStatus:
    """Decide the queue, priority and SLA of a case being processed."""
    decision = route(
        questionnaire=case.questionnaire,
        date_of_birth=profile.date_of_birth,
        submitted_at=case.submitted_at or utcnow(),
        malignancy_score=malignancy_score,
        rules=services.settings().routing,
    )
    case.status = CaseStatus.AWAITING_REVIEW
    case.queue = decision.queue
    case.priority = decision.priority
    case.sla_due_at = decision.sla_due_at
    case.routing_reasons = decision.reasons
    trail.record(
        "case.route",
        object_type="case",
        object_id=case.public_id,
        details={"queue": decision.queue, "priority": decision.priority},
    )
    return case.status
