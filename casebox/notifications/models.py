"""The in-app notices, their e-mail and text deliveries, and patients' channel choices."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebox.accounts.models import User
from casebox.database import UTCDateTime, db, new_public_id, utcnow


class NotificationKind(enum.StrEnum):
    """What happened; the page behind the link shows the details."""

    CASE_RESPONSE = "case.response"
    CASE_MORE_INFO = "case.more_info"
    PRESCRIPTION_ISSUED = "prescription.issued"
    PRESCRIPTION_UPDATED = "prescription.updated"  # accepted, dispensed, rejected, ...
    FOLLOW_UP_DUE = "follow_up.due"  # time to photograph the same spot again


class Channel(enum.StrEnum):
    """Where a notice is delivered besides the app (which always has it)."""

    EMAIL = "email"
    SMS = "sms"


class DeliveryStatus(enum.StrEnum):
    """Where one channel's delivery stands.

    ``sending`` is claimed by a job: it is never claimed again, so a delivery whose
    worker died mid-send is not repeated (at most once; the in-app notice remains).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class Notification(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """One in-app notice to one user: a kind and a link, no clinical text."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient_created", "recipient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, length=40)
    )
    link: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    recipient: Mapped[User] = relationship()


class NotificationDelivery(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A notice's e-mail or text: one row per channel, claimed once and marked sent."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("notification_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=10))
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=20), default=DeliveryStatus.PENDING
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notification: Mapped[Notification] = relationship()


class NotificationPreferences(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy builds db.Model at run time
    """A patient's channels besides the app, and the phone number texts go to."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[bool] = mapped_column(default=False)
    sms: Mapped[bool] = mapped_column(default=False)
    # E.164, e.g. +15145550123; needed for texts.
    phone: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
