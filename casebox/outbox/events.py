"""Writing outbox events inside the current transaction."""

from __future__ import annotations

from typing import Any

from casebox.database import db
from casebox.outbox.models import OutboxEvent

PHOTO_UPLOADED = "photo.uploaded"
CASE_SUBMITTED = "case.submitted"
PRESCRIPTION_ISSUED = "prescription.issued"
NOTIFICATION_CREATED = "notification.created"
# Payload: follow_up_id and due_at (ISO 8601); the relay schedules the reminder then.
FOLLOW_UP_SET = "follow_up.set"


def emit(topic: str, **payload: Any) -> OutboxEvent:
    """Record an event; the relay turns it into a job once this transaction commits."""
    row = OutboxEvent(topic=topic, payload=payload)
    db.session.add(row)
    return row
