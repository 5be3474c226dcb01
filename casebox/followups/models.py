"""Follow-ups: a specialist asks to see the same lesion again on a date."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.accounts.models import User
from casebox.assessments.models import Assessment
from casebox.cases.models import Case
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class FollowUpStatus(enum.StrEnum):
    """Where a follow-up is in its life."""

    SCHEDULED = "scheduled"  # waiting for its due time; a reminder sits in RQ's scheduler
    DUE = "due"  # reminded: the follow-up case is pre-created, the patient notified
    COMPLETED = "completed"  # the follow-up case was submitted
    CANCELLED = "cancelled"


class FollowUp(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A follow-up set from an assessment; the database is the reminder's source of truth."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        # The sweep (scheduled, due_at <= now) and the staff listings (status, due_at).
        Index("ix_follow_ups_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    baseline_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instructions: Mapped[str] = mapped_column(Text)
    status: Mapped[FollowUpStatus] = mapped_column(
        Enum(FollowUpStatus, native_enum=False, length=16), default=FollowUpStatus.SCHEDULED
    )
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    follow_up_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    baseline_case: Mapped[Case] = relationship(foreign_keys=[baseline_case_id])
    follow_up_case: Mapped[Case | None] = relationship(foreign_keys=[follow_up_case_id])
    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    specialist: Mapped[User] = relationship(foreign_keys=[specialist_id])
    assessment: Mapped[Assessment] = relationship()
