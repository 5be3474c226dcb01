"""Sending a notice's e-mail and text after the commit that created it, each at most once.

Each channel has one delivery row. A run reads the pending ones without a lock, then
claims each with one conditional UPDATE (``pending`` to ``sending``) in a short write:
only one run, however many race, gets the row. It sends outside any transaction and
marks the row ``sent``. A send that fails gives the claim back (``pending``) and the job
raises, so RQ retries it; a worker killed mid-send leaves ``sending``, which is never
claimed again: a lost e-mail is better than a doubled one, and the in-app notice stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from sqlalchemy import select, update

from casebox.database import db, read_only_transaction, utcnow
from casebox.i18n import DEFAULT_LANGUAGE, force_locale, gettext, locale_of
from casebox.notifications import texts
from casebox.notifications.mail import build_email, send_email
from casebox.notifications.models import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationPreferences,
)
from casebox.notifications.operations import wants_email, wants_sms
from casebox.notifications.sms import sms_provider
from casebox.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueDelivery:
    """One channel still to send, where to (None when the recipient withdrew it), and the
    language to write in (the recipient's)."""

    delivery_id: int
    channel: Channel
    address: str | None
    locale: str = DEFAULT_LANGUAGE


def due_deliveries(notification_id: str) -> list[DueDelivery]:
    """The pending deliveries of a notice, with the address each goes to now."""
    rows = db.session.execute(
        select(NotificationDelivery, Notification)
        .join(Notification, NotificationDelivery.notification_id == Notification.id)
        .where(
            Notification.public_id == notification_id,
            NotificationDelivery.status == DeliveryStatus.PENDING,
        )
        .order_by(NotificationDelivery.id)
    ).all()
    due = []
    for delivery, notification in rows:
        preferences = db.session.get(NotificationPreferences, notification.recipient_id)
        due.append(
            DueDelivery(
                delivery.id,
                delivery.channel,
                _address(delivery.channel, notification, preferences),
                locale_of(notification.recipient),
            )
        )
    return due


def _address(
    channel: Channel, notification: Notification, preferences: NotificationPreferences | None
) -> str | None:
    # The recipient may have changed their mind, or left, since the notice was written.
    recipient = notification.recipient
    if channel == Channel.EMAIL:
        return recipient.email if wants_email(recipient, preferences) else None
    return preferences.phone if preferences and wants_sms(recipient, preferences) else None


def stuck_notifications(created_before: datetime) -> list[str]:
    """Notices with a delivery still pending since before ``created_before``.

    For the sweeper: their job was lost from Redis, or ran out of retries; handing them
    to RQ again (topic ``notification.created``) is safe, since deliveries are claimed.
    """
    return list(
        db.session.scalars(
            select(Notification.public_id)
            .join(NotificationDelivery, NotificationDelivery.notification_id == Notification.id)
            .where(
                NotificationDelivery.status == DeliveryStatus.PENDING,
                Notification.created_at < created_before,
            )
            .distinct()
        )
    )


def deliver_notification(notification_id: str, settings: Settings) -> int:
    """Send the notice's pending channels; returns how many were sent by this run.

    Starts and commits transactions of its own: call it outside a transaction. Raises
    the first send failure after trying every channel, so RQ retries what is left.
    """
    with read_only_transaction():
        due = due_deliveries(notification_id)
    sent = 0
    failure: Exception | None = None
    for item in due:
        if item.address is None:
            _set_status(item.delivery_id, DeliveryStatus.PENDING, DeliveryStatus.CANCELLED)
            continue
        if not _set_status(item.delivery_id, DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            continue  # another run holds or sent it
        try:
            _send(item.channel, item.address, settings, item.locale)
        except Exception as exc:  # give the claim back; the job raises below and is retried
            _set_status(item.delivery_id, DeliveryStatus.SENDING, DeliveryStatus.PENDING)
            log.warning(
                "notice %s: %s delivery failed (%s)",
                notification_id,
                item.channel,
                type(exc).__name__,
            )
            failure = failure or exc
            continue
        _set_status(item.delivery_id, DeliveryStatus.SENDING, DeliveryStatus.SENT)
        sent += 1
    if failure is not None:
        raise failure
    return sent


def _set_status(delivery_id: int, expected: DeliveryStatus, new: DeliveryStatus) -> bool:
    """Move one delivery from ``expected`` to ``new`` in a short write; whether it moved."""
    now = utcnow()
    values: dict[str, object] = {"status": new}
    if new == DeliveryStatus.SENDING:
        values["claimed_at"] = now
    elif new == DeliveryStatus.SENT:
        values["sent_at"] = now
    result = db.session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == expected)
        .values(**values)
    )
    db.session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult for UPDATE


def _send(channel: Channel, address: str, settings: Settings, locale: str) -> None:
    with force_locale(locale):  # the recipient's language, whoever's request or job this is
        context = {
            "notice": gettext(texts.NOTICE),
            "subject": gettext(texts.EMAIL_SUBJECT),
            "login_prompt": gettext(texts.LOGIN_PROMPT),
            "login_url": f"{settings.public_url}/login",
            "clinic_name": settings.clinic.name,
            "lang": locale,
        }
        if channel == Channel.SMS:
            body = render_template("notifications/sms.txt", **context).strip()
        else:
            text = render_template("notifications/email.txt", **context)
            html = render_template("notifications/email.html", **context)
    if channel == Channel.SMS:
        sms_provider(settings).send(address, body)
        return
    send_email(build_email(address, context["subject"], text, html, settings), settings)
