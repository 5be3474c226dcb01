"""Object-store writes tied to the database transaction.

An object written during a transaction that later rolls back is deleted, and
an object deleted by a transaction is only removed once it commits, so neither
a failed request nor a crash between the two leaves orphans or dangling rows.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from casebox import services
from casebox.database import db

log = logging.getLogger(__name__)

_WRITTEN = "casebox.objects_written"
_TO_DELETE = "casebox.objects_to_delete"


def put_object(key: str, data: bytes) -> str:
    """Store encrypted bytes now; delete them again if the transaction rolls back."""
    store = services.object_store()
    sha256 = store.put(key, data)
    db.session.info.setdefault(_WRITTEN, []).append((store, key))
    return sha256


def delete_object_on_commit(key: str) -> None:
    """Remove an object once the current transaction has committed."""
    db.session.info.setdefault(_TO_DELETE, []).append((services.object_store(), key))


def _delete_all(entries: list[tuple[Any, str]]) -> None:
    for store, key in entries:
        try:
            store.delete(key)
        except Exception:  # cleanup must not mask the original outcome
            log.exception("could not delete an object during transaction cleanup")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    _delete_all(session.info.pop(_TO_DELETE, []))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is not None:  # a SAVEPOINT: the outer transaction decides
        return
    session.info.pop(_TO_DELETE, None)
    _delete_all(session.info.pop(_WRITTEN, []))
