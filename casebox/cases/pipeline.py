"""Pipeline steps on cases and photos, run by workers.

The image and model work runs outside any database transaction: a step first reads
what it needs (``pending_photo``, ``analysis_plan``), the job commits to end that
short transaction, the work runs, and then a second short transaction locks the row,
checks it still needs the result and stores it (``store_normalized``,
``finish_processing``). On SQLite every transaction holds the database's one write
lock, and on PostgreSQL the audit trail's head row is locked until commit, so a job
that computed inside its transaction would stall every other worker meanwhile.
Steps flush; the job commits.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from casebox import services
from casebox.accounts.models import PatientProfile
from casebox.analysis.operations import AnalysisPlan, PhotoPrediction, analyze_case, plan_analysis
from casebox.audit import trail
from casebox.cases.models import Case, CaseStatus, Photo, PhotoStatus
from casebox.database import db, utcnow
from casebox.errors import PhotoRejected
from casebox.i18n import N_
from casebox.objects import put_object
from casebox.photos.derivatives import Derivatives, make_derivatives
from casebox.photos.quality import QualityReport, assess_quality
from casebox.queues.routing import route
from casebox.review.claims import reserve_for_return

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingPhoto:
    """What normalizing a photo needs, read in a short transaction."""

    public_id: str
    original_key: str
    original_sha256: str


@dataclass(frozen=True)
class Normalized:
    """The derivatives and quality report of a photo, or why it could not be decoded."""

    derivatives: Derivatives | None
    report: QualityReport | None
    rejection: PhotoRejected | None = None


def pending_photo(photo_id: str) -> PendingPhoto | None:
    """The photo if it still waits for normalization, else None."""
    photo = db.session.scalar(select(Photo).where(Photo.public_id == photo_id))
    if photo is None or photo.status != PhotoStatus.PROCESSING or _withdrawn(photo):
        return None
    return PendingPhoto(photo.public_id, photo.original_key, photo.original_sha256)


def develop(pending: PendingPhoto) -> Normalized:
    """Decode the original, make the derivatives and check quality; touches no database."""
    original = services.object_store().get(pending.original_key, sha256=pending.original_sha256)
    try:
        derivatives = make_derivatives(original, max_pixels=services.settings().max_image_pixels)
    except PhotoRejected as rejection:
        return Normalized(derivatives=None, report=None, rejection=rejection)
    report = assess_quality(
        derivatives.review_image,
        original_size=(derivatives.width, derivatives.height),
        thresholds=services.settings().quality,
    )
    return Normalized(derivatives=derivatives, report=report)


def store_normalized(pending: PendingPhoto, result: Normalized) -> PhotoStatus | None:
    """Store a developed photo unless it was deleted or finished meanwhile; safe to repeat."""
    photo = db.session.scalar(
        select(Photo).where(Photo.public_id == pending.public_id).with_for_update()
    )
    if photo is None:  # deleted while the image work ran: nothing was written
        return None
    if photo.status != PhotoStatus.PROCESSING or photo.original_key != pending.original_key:
        return photo.status  # another run stored its result first
    if _withdrawn(photo):  # the patient asked for erasure while the image work ran
        return None
    if result.derivatives is None or result.report is None:
        photo.status = PhotoStatus.REJECTED
        reason = result.rejection.reason if result.rejection else "unknown"
        log.info("photo %s rejected during normalization: %s", photo.public_id, reason)
        return photo.status
    derivatives, report = result.derivatives, result.report
    base = photo.original_key.rsplit("/", 1)[0]
    photo.review_key = f"{base}/review"
    photo.review_sha256 = put_object(photo.review_key, derivatives.review)
    photo.thumb_key = f"{base}/thumb"
    photo.thumb_sha256 = put_object(photo.thumb_key, derivatives.thumb)
    photo.width, photo.height = derivatives.width, derivatives.height
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


def _withdrawn(photo: Photo) -> bool:
    """Whether the photo's case was withdrawn (erasure): nothing more is done with it."""
    return photo.case.status == CaseStatus.WITHDRAWN


def normalize_photo(photo_id: str) -> PhotoStatus | None:
    """All three steps in the current transaction (demo seeding and tests; jobs split them)."""
    pending = pending_photo(photo_id)
    if pending is None:
        photo = db.session.scalar(select(Photo).where(Photo.public_id == photo_id))
        return photo.status if photo else None
    return store_normalized(pending, develop(pending))


UNPROCESSABLE_MESSAGE = N_("We could not process this photo. Please delete it and take it again.")


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


def photos_to_normalize(case_id: str) -> list[str]:
    """Ids of the case's photos still waiting for normalization (normally none)."""
    case = db.session.scalar(select(Case).where(Case.public_id == case_id))
    if case is None or case.status != CaseStatus.PROCESSING:
        return []
    return [photo.public_id for photo in case.photos if photo.status == PhotoStatus.PROCESSING]


def case_analysis_plan(case_id: str) -> AnalysisPlan | None:
    """The photos of a processing case the model has still to see, with their metadata."""
    case = db.session.scalar(select(Case).where(Case.public_id == case_id))
    if case is None or case.status != CaseStatus.PROCESSING:
        return None
    return plan_analysis(case, _profile(case))


def finish_processing(
    case_id: str, predictions: Mapping[str, PhotoPrediction] | None = None
) -> CaseStatus | None:
    """Store the analyses, normalize and analyze anything still missing, route; repeatable.

    ``predictions`` (by photo id) are used when they were made from the photo's current
    review image by the configured model; whatever is missing is computed here.
    """
    case = _locked_case(case_id)
    if case is None or case.status != CaseStatus.PROCESSING:
        return case.status if case else None
    for photo in case.photos:
        if photo.status == PhotoStatus.PROCESSING:
            normalize_photo(photo.public_id)
    profile = _profile(case)
    score = analyze_case(case, profile, predictions or {})
    return _route(case, profile, score)


def _profile(case: Case) -> PatientProfile:
    profile = case.patient.patient
    if profile is None:  # only patients own cases, and every patient has a profile
        raise RuntimeError("case owner has no patient profile")
    return profile


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
    if case.preferred_specialist_id is not None:
        reserve_for_return(case)  # back to the specialist who asked, if they can take it
    return case.status
