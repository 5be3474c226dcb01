"""Running the lesion model on a case's photos and storing what it said."""

from __future__ import annotations

import io
from typing import cast

from PIL import Image
from sqlalchemy import select

from casebox import services
from casebox.accounts.models import PatientProfile
from casebox.analysis.lesion_model import lesion_model
from casebox.analysis.models import PhotoAnalysis
from casebox.audit import trail
from casebox.cases.body_sites import BODY_SITES
from casebox.cases.models import Case, Photo, PhotoStatus, PhotoView
from casebox.database import db
from casebox.queues.routing import age_in_years
from models import LesionMetadata, LesionModel
from models.inference import Location, Sex

ANALYZED_VIEWS = (PhotoView.CLOSE_UP, PhotoView.DERMOSCOPIC)


def analyze_case(case: Case, profile: PatientProfile) -> float | None:
    """Analyze each ready close-up and dermoscopic photo once; return the highest score."""
    settings = services.settings()
    model = lesion_model(settings.models_dir, settings.lesion_model)
    submitted = (case.submitted_at or case.created_at).date()
    metadata = LesionMetadata(
        sex=cast("Sex", str(profile.sex)),
        location=cast("Location", str(BODY_SITES[case.body_site].model_location)),
        age_years=float(age_in_years(profile.date_of_birth, submitted)),
    )
    scores = []
    for photo in case.photos:
        if photo.view not in ANALYZED_VIEWS or photo.status != PhotoStatus.READY:
            continue
        existing = db.session.scalar(
            select(PhotoAnalysis).where(
                PhotoAnalysis.photo_id == photo.id,
                PhotoAnalysis.model_sha256 == model.manifest.sha256,
            )
        )
        if existing is None:
            existing = _analyze_photo(photo, model, metadata)
        scores.append(existing.malignancy_score)
    return max(scores) if scores else None


def _analyze_photo(photo: Photo, model: LesionModel, metadata: LesionMetadata) -> PhotoAnalysis:
    if not photo.review_key or not photo.review_sha256:
        raise RuntimeError("a ready photo has no review image")
    review = services.object_store().get(photo.review_key, sha256=photo.review_sha256)
    prediction = model.predict(Image.open(io.BytesIO(review)).convert("RGB"), metadata)
    analysis = PhotoAnalysis(
        photo_id=photo.id,
        model_name=prediction.model_name,
        model_version=prediction.model_version,
        model_sha256=prediction.model_sha256,
        probabilities=dict(prediction.probabilities),
        malignancy_score=prediction.malignancy_score,
        # The model learnt from dermoscopy; other photos are outside what it knows.
        out_of_distribution=photo.view != PhotoView.DERMOSCOPIC,
    )
    db.session.add(analysis)
    db.session.flush()
    trail.record(
        "photo.analyze",
        object_type="photo",
        object_id=photo.public_id,
        details={"model": prediction.model_name, "version": prediction.model_version},
    )
    return analysis


def analyses_of(case: Case) -> list[PhotoAnalysis]:
    """Every stored analysis of the case's photos, oldest first."""
    photo_ids = [photo.id for photo in case.photos]
    if not photo_ids:
        return []
    return list(
        db.session.scalars(
            select(PhotoAnalysis)
            .where(PhotoAnalysis.photo_id.in_(photo_ids))
            .order_by(PhotoAnalysis.id)
        )
    )
