"""Alignments of one photo onto another, kept for the specialist's review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.cases.models import Photo
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class PhotoAlignment(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A homography from the moving photo's original pixels to the fixed photo's."""

    __tablename__ = "photo_alignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    fixed_photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), index=True
    )
    moving_photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), index=True
    )
    matrix: Mapped[list[list[float]]] = mapped_column(JSON)
    inliers: Mapped[int] = mapped_column()
    matches: Mapped[int] = mapped_column()
    method: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # None until the specialist has looked at it; the difference view needs True.
    accepted: Mapped[bool | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    fixed_photo: Mapped[Photo] = relationship(foreign_keys=[fixed_photo_id])
    moving_photo: Mapped[Photo] = relationship(foreign_keys=[moving_photo_id])
