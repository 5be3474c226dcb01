"""Cases (one lesion, one questionnaire) and their photos."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.accounts.models import User
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class CaseStatus(enum.StrEnum):
    """Where a case is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    PROCESSING_FAILED = "processing_failed"
    AWAITING_REVIEW = "awaiting_review"
    IN_REVIEW = "in_review"
    MORE_INFO_REQUESTED = "more_info_requested"
    COMPLETED = "completed"
    # The patient asked for erasure before the case was completed: nothing more is done
    # with it, and its records wait for the purge (casebox.erasure).
    WITHDRAWN = "withdrawn"


class PhotoView(enum.StrEnum):
    """How a photo was taken."""

    REGIONAL = "regional"
    CLOSE_UP = "close_up"
    DERMOSCOPIC = "dermoscopic"


class PhotoStatus(enum.StrEnum):
    """Where a photo is in the pipeline."""

    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"


# Columns the queue listings filter and sort on besides the index's key (PostgreSQL only).
QUEUE_INDEX_INCLUDE = ["priority", "id", "claim_expires_at", "claimed_by_id", "body_site"]


class Case(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A patient's request for a specialist opinion on one skin problem."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_patient_created", "patient_id", "created_at"),
        # Covers the queue listings' filters and sort key, so PostgreSQL pages a queue
        # with an index-only scan (see casebox.queues.operations.list_queue_cases).
        Index(
            "ix_cases_queue_status_due",
            "queue",
            "status",
            "sla_due_at",
            postgresql_include=QUEUE_INDEX_INCLUDE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[CaseStatus] = mapped_column(
        Enum(CaseStatus, native_enum=False, length=32), default=CaseStatus.DRAFT, index=True
    )
    body_site: Mapped[str] = mapped_column(String(40))
    questionnaire: Mapped[dict[str, Any]] = mapped_column(JSON)
    queue: Mapped[str | None] = mapped_column(String(40))
    priority: Mapped[str | None] = mapped_column(String(16))
    routing_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # Photo warnings the patient chose to send anyway: [{"photo_id", "codes"}].
    quality_override: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    # Some photo was downsized on the phone (at most 2048 px) to save data.
    low_data: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The one specialist reviewing the case, under a lease; set only by a conditional
    # UPDATE (casebox.review.claims), so two specialists can never hold it at once.
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A follow-up case points at its baseline (casebox.followups).
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # Who should get the case back when it is routed again (follow-up or reply to a
    # request for more information); reserved for them if they are available.
    preferred_specialist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    photos: Mapped[list[Photo]] = relationship(
        back_populates="case", order_by="Photo.created_at", cascade="all, delete-orphan"
    )


class Photo(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One uploaded image, its stored derivatives and their checksums."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    view: Mapped[PhotoView] = mapped_column(Enum(PhotoView, native_enum=False, length=16))
    status: Mapped[PhotoStatus] = mapped_column(
        Enum(PhotoStatus, native_enum=False, length=16), default=PhotoStatus.PROCESSING
    )
    media_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    original_key: Mapped[str] = mapped_column(String(200))
    original_sha256: Mapped[str] = mapped_column(String(64))
    review_key: Mapped[str | None] = mapped_column(String(200))
    review_sha256: Mapped[str | None] = mapped_column(String(64))
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    quality_metrics: Mapped[dict[str, float] | None] = mapped_column(JSON)
    quality_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # A line of known length drawn on the photo: {"line": [x1, y1, x2, y2], "length_mm": n}.
    calibration: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="photos")


class CaseReply(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """The patient's answer to a specialist's request for more information."""

    __tablename__ = "case_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The assessment that asked for more information (the request this reply answers).
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
