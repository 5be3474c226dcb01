"""Running the lesion model on a case's photos and storing what it said."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
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
from models import LesionMetadata, LesionModel, Prediction
from models.inference import Location, Sex

ANALYZED_VIEWS = (PhotoView.CLOSE_UP, PhotoView.DERMOSCOPIC)


@dataclass(frozen=True)
class PhotoToAnalyze:
    """A ready photo's review image, as read in a short transaction."""

    public_id: str
    view: PhotoView
    review_key: str
    review_sha256: str


@dataclass(frozen=True)
class AnalysisPlan:
    """What the model still has to see in a case, and what it is told about the patient."""

    metadata: LesionMetadata
    photos: tuple[PhotoToAnalyze, ...]


@dataclass(frozen=True)
class PhotoPrediction:
    """The model's output on one review image, computed outside any transaction."""

    review_sha256: str
    prediction: Prediction


def plan_analysis(case: Case, profile: PatientProfile) -> AnalysisPlan:
    """The case's analyzable photos that have no analysis by the configured model yet."""
    model = _configured_model()
    photos = tuple(
        PhotoToAnalyze(photo.public_id, photo.view, *_review_of(photo))
        for photo in _analyzable(case)
        if _stored_analysis(photo, model) is None
    )
    return AnalysisPlan(metadata=lesion_metadata(case, profile), photos=photos)


def predict(plan: AnalysisPlan) -> dict[str, PhotoPrediction]:
    """Run the model on each planned photo; touches no database."""
    model = _configured_model()
    return {
        photo.public_id: PhotoPrediction(
            photo.review_sha256,
            _run_model(model, photo.review_key, photo.review_sha256, plan.metadata),
        )
        for photo in plan.photos
    }


def analyze_case(
    case: Case, profile: PatientProfile, predictions: Mapping[str, PhotoPrediction]
) -> float | None:
    """Store one analysis per analyzable photo and model; return the highest score.

    A prediction is used only if it was made from the photo's current review image by
    the configured model; any photo without one is analyzed here.
    """
    model = _configured_model()
    metadata = lesion_metadata(case, profile)
    scores = []
    for photo in _analyzable(case):
        analysis = _stored_analysis(photo, model)
        if analysis is None:
            review_key, review_sha256 = _review_of(photo)
            made = predictions.get(photo.public_id)
            if made and made.review_sha256 == review_sha256 and _by(made.prediction, model):
                prediction = made.prediction
            else:
                prediction = _run_model(model, review_key, review_sha256, metadata)
            analysis = _store(photo, prediction)
        scores.append(analysis.malignancy_score)
    return max(scores) if scores else None


def lesion_metadata(case: Case, profile: PatientProfile) -> LesionMetadata:
    """What the questionnaire and profile tell the model: sex, body site and age."""
    submitted = (case.submitted_at or case.created_at).date()
    return LesionMetadata(
        sex=cast("Sex", str(profile.sex)),
        location=cast("Location", str(BODY_SITES[case.body_site].model_location)),
        age_years=float(age_in_years(profile.date_of_birth, submitted)),
    )


def _configured_model() -> LesionModel:
    settings = services.settings()
    return lesion_model(settings.models_dir, settings.lesion_model)


def _analyzable(case: Case) -> list[Photo]:
    return [p for p in case.photos if p.view in ANALYZED_VIEWS and p.status == PhotoStatus.READY]


def _review_of(photo: Photo) -> tuple[str, str]:
    if not photo.review_key or not photo.review_sha256:
        raise RuntimeError("a ready photo has no review image")
    return photo.review_key, photo.review_sha256


def _stored_analysis(photo: Photo, model: LesionModel) -> PhotoAnalysis | None:
    return db.session.scalar(
        select(PhotoAnalysis).where(
            PhotoAnalysis.photo_id == photo.id,
            PhotoAnalysis.model_sha256 == model.manifest.sha256,
        )
    )


def _by(prediction: Prediction, model: LesionModel) -> bool:
    return prediction.model_sha256 == model.manifest.sha256


def _run_model(
    model: LesionModel, review_key: str, review_sha256: str, metadata: LesionMetadata
) -> Prediction:
    review = services.object_store().get(review_key, sha256=review_sha256)
    return model.predict(Image.open(io.BytesIO(review)), metadata)  # predict converts to RGB


def _store(photo: Photo, prediction: Prediction) -> PhotoAnalysis:
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
