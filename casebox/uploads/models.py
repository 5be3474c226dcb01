"""Resumable uploads in progress and the chunks each has received."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.cases.models import Case, Photo, PhotoView
from casebox.database import UTCDateTime, db, new_public_id, utcnow

_BYTES = BigInteger().with_variant(Integer, "sqlite")


class UploadStatus(enum.StrEnum):
    """Whether an upload is still receiving bytes or became a photo."""

    RECEIVING = "receiving"
    COMPLETE = "complete"


class Upload(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One photo being sent in pieces by its patient (a tus upload resource)."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    view: Mapped[PhotoView] = mapped_column(Enum(PhotoView, native_enum=False, length=16))
    # The phone downsized the photo (at most 2048 px) before sending it.
    low_data: Mapped[bool] = mapped_column(default=False)
    upload_length: Mapped[int] = mapped_column(_BYTES)
    upload_offset: Mapped[int] = mapped_column(_BYTES, default=0)
    status: Mapped[UploadStatus] = mapped_column(
        Enum(UploadStatus, native_enum=False, length=16), default=UploadStatus.RECEIVING
    )
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    case: Mapped[Case] = relationship()
    photo: Mapped[Photo | None] = relationship()
    chunks: Mapped[list[UploadChunk]] = relationship(
        order_by="UploadChunk.start", cascade="all, delete-orphan", passive_deletes=True
    )


class UploadChunk(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """The bytes one PATCH delivered, stored encrypted as one object."""

    __tablename__ = "upload_chunks"
    # Two requests racing for the same offset can never both be kept.
    __table_args__ = (UniqueConstraint("upload_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(_BYTES)
    size: Mapped[int] = mapped_column(_BYTES)
    object_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
