"""Stored model output: decision support for the specialist, never a diagnosis."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.cases.models import Photo
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class PhotoAnalysis(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One model's output on one photo; at most one per photo and model file."""

    __tablename__ = "photo_analyses"
    __table_args__ = (UniqueConstraint("photo_id", "model_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(40))
    model_sha256: Mapped[str] = mapped_column(String(64))
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON)
    malignancy_score: Mapped[float] = mapped_column(Float)
    out_of_distribution: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    photo: Mapped[Photo] = relationship()
