"""Appending to and verifying the hash-chained audit trail.

Each event's hash is SHA-256 over the previous event's hash and the event's own
canonical JSON, so changing or deleting any row breaks every hash after it.
Appends lock the single ``audit_head`` row first, which serializes writers on
PostgreSQL (row lock) and SQLite (write lock) so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select, update

from casebox.audit.models import AuditEvent, AuditHead
from casebox.database import db, utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a user, or a named system process."""

    id: str | None
    role: str | None


SYSTEM = Actor(id=None, role="system")


def current_actor() -> Actor:
    """The authenticated user of this request, or the system outside requests."""
    if has_request_context():
        user = getattr(g, "user", None)
        if user is not None:
            return Actor(id=user.public_id, role=str(user.role))
        return Actor(id=None, role=None)
    return SYSTEM


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    """Append one event in the current transaction (it commits or rolls back with it)."""
    who = actor or current_actor()
    session = db.session
    session.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_seq=AuditHead.last_seq + 1)
    )
    seq, prev_hash = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
    ).one()
    event = AuditEvent(
        seq=seq,
        occurred_at=utcnow(),
        action=action,
        outcome=outcome,
        actor_id=who.id,
        actor_role=who.role,
        object_type=object_type,
        object_id=object_id,
        remote_addr=request.remote_addr if has_request_context() else None,
        details=details or {},
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_hash=event.hash))
    return event


def event_hash(event: AuditEvent) -> str:
    """SHA-256 of the previous hash and the event's canonical JSON."""
    body = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "remote_addr": event.remote_addr,
        "details": event.details,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((event.prev_hash + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not verify."""

    seq: int
    reason: str


def verify_chain(batch_size: int = 1000) -> tuple[int, ChainBreak | None]:
    """Walk the whole trail; return the number of events checked and the first break."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for event in _events_in_order(batch_size):
        if event.seq != expected_seq:
            return expected_seq - 1, ChainBreak(expected_seq, "event missing (deleted)")
        if event.prev_hash != prev_hash:
            return expected_seq - 1, ChainBreak(event.seq, "previous-hash link broken")
        if event_hash(event) != event.hash:
            return expected_seq - 1, ChainBreak(event.seq, "event content modified")
        prev_hash = event.hash
        expected_seq += 1
    checked = expected_seq - 1
    head = db.session.get(AuditHead, HEAD_ID)
    if head is None:
        return checked, ChainBreak(checked + 1, "chain head missing")
    if head.last_seq != checked or head.last_hash != prev_hash:
        return checked, ChainBreak(checked + 1, "events after this point deleted")
    return checked, None


def _events_in_order(batch_size: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last)
            .order_by(AuditEvent.seq)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].seq
        db.session.expunge_all()
