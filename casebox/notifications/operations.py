"""The verbs of notifications: notify, list and read notices, choose channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from casebox import services
from casebox.accounts.models import Role, User
from casebox.audit import trail
from casebox.database import db, new_public_id, utcnow
from casebox.errors import NotFound, ValidationFailed
from casebox.notifications.mail import email_available
from casebox.notifications.models import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationPreferences,
)
from casebox.notifications.sms import sms_available
from casebox.outbox.events import NOTIFICATION_CREATED, emit
from casebox.settings import Settings


def notify(user: User, kind: NotificationKind, link: str) -> Notification:
    """Give ``user`` an in-app notice; their e-mail and text follow once this commits."""
    notification = Notification(
        public_id=new_public_id(), recipient_id=user.id, kind=kind, link=link
    )
    db.session.add(notification)
    channels = chosen_channels(user, services.settings())
    for channel in channels:
        db.session.add(NotificationDelivery(notification=notification, channel=channel))
    if channels:
        emit(NOTIFICATION_CREATED, notification_id=notification.public_id)
    return notification


# Staff hear of their work by e-mail unless they turn it off; patients choose to.
STAFF_EMAIL_ROLES = frozenset({Role.SPECIALIST, Role.PHARMACIST})
CHOOSING_ROLES = (Role.PATIENT, *sorted(STAFF_EMAIL_ROLES))


def wants_email(user: User, preferences: NotificationPreferences | None) -> bool:
    """Whether ``user`` is to be sent e-mail notices: patients opt in, staff opt out.

    A deactivated (e.g. erased) account is sent nothing outside the app.
    """
    if not user.active or user.role not in CHOOSING_ROLES:
        return False
    if preferences is None:
        return user.role in STAFF_EMAIL_ROLES
    return preferences.email


def wants_sms(user: User, preferences: NotificationPreferences | None) -> bool:
    """Whether ``user`` chose text messages (patients only) and gave a number."""
    if not user.active or user.role != Role.PATIENT or preferences is None:
        return False
    return preferences.sms and bool(preferences.phone)


def chosen_channels(user: User, settings: Settings) -> list[Channel]:
    """The channels besides the app that ``user`` chose and this installation offers."""
    preferences = db.session.get(NotificationPreferences, user.id)
    channels = []
    if wants_email(user, preferences) and email_available(settings):
        channels.append(Channel.EMAIL)
    if wants_sms(user, preferences) and sms_available(settings):
        channels.append(Channel.SMS)
    return channels


def cancel_pending_deliveries(user: User) -> int:
    """Cancel every e-mail and text still waiting to go to ``user``; returns how many.

    A job that picks one up later finds it cancelled and sends nothing.
    """
    notices = select(Notification.id).where(Notification.recipient_id == user.id)
    result = db.session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.notification_id.in_(notices),
            NotificationDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.CANCELLED)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for UPDATE


@dataclass(frozen=True)
class NotificationList:
    """The most recent notices and how many of all are unread."""

    items: list[Notification]
    unread: int


def list_notifications(user: User, *, limit: int, unread_only: bool = False) -> NotificationList:
    """The user's notices, newest first."""
    mine = select(Notification).where(Notification.recipient_id == user.id)
    if unread_only:
        mine = mine.where(Notification.read_at.is_(None))
    items = db.session.scalars(
        mine.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).all()
    unread = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    )
    return NotificationList(list(items), int(unread or 0))


def mark_read(user: User, public_id: str) -> Notification:
    """Mark one of the user's notices read (the first reading time is kept)."""
    notification = db.session.scalar(
        select(Notification).where(
            Notification.public_id == public_id, Notification.recipient_id == user.id
        )
    )
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        db.session.execute(
            update(Notification)
            .where(Notification.id == notification.id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        db.session.refresh(notification)
    return notification


@dataclass(frozen=True)
class ChannelChoice:
    """A user's channels as the API shows them."""

    in_app: bool
    email: bool
    sms: bool
    phone: str | None
    available: list[str]


def preferences_of(user: User) -> ChannelChoice:
    """The user's channels: a patient has nothing but the app until they choose; staff
    have e-mail too until they turn it off."""
    preferences = db.session.get(NotificationPreferences, user.id)
    return _choice(user, preferences, services.settings())


def set_preferences(user: User, data: dict[str, Any]) -> ChannelChoice:
    """Replace the user's channel choices; texts are for patients and need a phone number."""
    settings = services.settings()
    errors: dict[str, list[str]] = {}
    if data["email"] and not email_available(settings):
        errors["email"] = ["E-mail notifications are not offered here."]
    if user.role != Role.PATIENT and (data["sms"] or data.get("phone")):
        errors["sms" if data["sms"] else "phone"] = ["Text messages are sent to patients only."]
    elif data["sms"] and not sms_available(settings):
        errors["sms"] = ["Text messages are not offered here."]
    elif data["sms"] and not data.get("phone"):
        errors["phone"] = ["A mobile number is needed for text messages."]
    if errors:
        raise ValidationFailed("These notification choices cannot be saved.", errors=errors)
    preferences = db.session.get(NotificationPreferences, user.id, with_for_update=True)
    if preferences is None:
        preferences = NotificationPreferences(user_id=user.id)
        db.session.add(preferences)
    preferences.email = data["email"]
    preferences.sms = data["sms"]
    preferences.phone = data.get("phone")
    preferences.updated_at = utcnow()
    db.session.flush()
    details = {"email": preferences.email, "sms": preferences.sms}
    trail.record(
        "notifications.preferences", object_type="user", object_id=user.public_id, details=details
    )
    return _choice(user, preferences, settings)


def _choice(
    user: User, preferences: NotificationPreferences | None, settings: Settings
) -> ChannelChoice:
    available = ["in_app"]
    available += [str(Channel.EMAIL)] if email_available(settings) else []
    if user.role == Role.PATIENT:
        available += [str(Channel.SMS)] if sms_available(settings) else []
    if preferences is None:  # staff have e-mail until they turn it off
        return ChannelChoice(True, user.role in STAFF_EMAIL_ROLES, False, None, available)
    return ChannelChoice(True, preferences.email, preferences.sms, preferences.phone, available)
