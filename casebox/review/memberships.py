"""Assigning specialists to review queues."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete

from casebox import services
from casebox.accounts.models import Role, User
from casebox.audit import trail
from casebox.database import db
from casebox.errors import ValidationFailed
from casebox.review.models import QueueMembership


def set_queues(specialist: User, queues: Iterable[str]) -> list[str]:
    """Make these the only queues the specialist works; returns them sorted."""
    if specialist.role != Role.SPECIALIST:
        raise ValidationFailed(
            "Only specialists work review queues.", errors={"role": ["not a specialist"]}
        )
    known = {rule.name for rule in services.settings().routing.queues}
    wanted = sorted(set(queues))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValidationFailed(
            f"Unknown queue: {', '.join(unknown)}. Queues: {', '.join(sorted(known))}.",
            errors={"queues": [f"unknown queue {name!r}" for name in unknown]},
        )
    db.session.execute(delete(QueueMembership).where(QueueMembership.user_id == specialist.id))
    db.session.add_all(QueueMembership(user_id=specialist.id, queue=name) for name in wanted)
    db.session.flush()
    trail.record("account.queues", object_type="user", object_id=specialist.public_id,
                 details={"queues": wanted})  # fmt: skip
    return wanted


def all_queue_names() -> list[str]:
    """Every configured queue, in configuration order."""
    return [rule.name for rule in services.settings().routing.queues]
