"""The purge: once an erasure's retention period has passed, delete the patient's records.

What goes is found from the schema rather than listed by hand, so a table added later
(follow-ups, replies, ...) cannot be forgotten: every row that references the patient's
user row goes, then every row that references a row that goes, and so on until nothing
new is found (``_doomed_rows``). Only the user row itself, the erasure request and the
audit trail stay: the user row is anonymised (a random address in a reserved domain, the
name "Erased patient", no password, profile or second factor), and the audit trail keeps
its events, whose details never held clinical content, so its hash chain still verifies.
Remembered API responses (idempotency records) of the patient go too.

Crash safety, in three steps per request:

1. one transaction deletes the rows, anonymises the user and records, on the request, the
   keys of every stored object those rows named (photo originals, review copies and
   thumbnails, prescription PDFs, upload chunks) with ``rows_purged_at``;
2. the objects are deleted, outside any transaction (a missing object is no error);
3. a short transaction sets ``purged_at``, forgets the keys and audits ``patient.purged``
   with counts only.

A crash before step 1 commits leaves everything as it was; after it, the keys are on the
request, so the next run repeats steps 2 and 3 only. Deleting the objects before the rows
would instead leave rows naming objects that are gone if the transaction failed, and
deleting them only "on commit" would forget them for good if the process died between the
commit and the deletes. Running the purge twice, or twice at once, is therefore safe: the
request row is locked for each step, and every step is a no-op when already done.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Column, Table, delete, func, or_, select, update

from casebox import clock, services
from casebox.accounts.models import User
from casebox.api.idempotency import IdempotencyRecord
from casebox.audit import trail
from casebox.database import db, read_only_transaction, utcnow
from casebox.erasure.models import ErasureRequest

log = logging.getLogger(__name__)

# Never deleted: the anonymised account, the request, and the append-only audit trail.
KEPT_TABLES: Final = frozenset({"users", "erasure_requests", "audit_events", "audit_head"})
# Columns that name stored objects; tests check that every "*_key" column is listed.
OBJECT_KEY_COLUMNS: Final = {
    "photos": ("original_key", "review_key", "thumb_key"),
    "prescriptions": ("pdf_key",),
    "upload_chunks": ("object_key",),
}
ERASED_NAME: Final = "Erased patient"
ERASED_DOMAIN: Final = "erased.invalid"  # .invalid is reserved (RFC 2606): never delivered
# No Argon2 hash looks like this, so no password ever matches it.
NO_PASSWORD: Final = "!erased"  # noqa: S105  # an unusable hash, not a secret
_BATCH: Final = 500


@dataclass
class PurgeRun:
    """What one run did: the requests it finished, and whether due ones are left."""

    purged: list[str] = field(default_factory=list)
    remaining: bool = False


def due_request_ids() -> list[str]:
    """Requests whose retention has passed by casebox's clock and that are not purged yet.

    Requests whose rows are gone but whose objects are not (a run that stopped midway)
    count as due whatever the clock says.
    """
    return list(
        db.session.scalars(
            select(ErasureRequest.public_id)
            .where(
                ErasureRequest.purged_at.is_(None),
                or_(
                    ErasureRequest.purge_due_at <= clock.now(),
                    ErasureRequest.rows_purged_at.is_not(None),
                ),
            )
            .order_by(ErasureRequest.purge_due_at, ErasureRequest.id)
        )
    )


def purge_due(*, budget_seconds: float | None = None) -> PurgeRun:
    """Purge every due request, each in transactions of its own; call outside a transaction.

    With ``budget_seconds`` no new request is started once that much time has passed, and
    ``remaining`` tells whether any were left for another run.
    """
    started = time.monotonic()
    with read_only_transaction():
        due = due_request_ids()
    run = PurgeRun()
    for public_id in due:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            run.remaining = True
            break
        if purge_request(public_id):
            run.purged.append(public_id)
    return run


def purge_request(public_id: str) -> bool:
    """Take one request through the three steps; whether this call finished it."""
    keys = _purge_rows(public_id)
    if keys is None:
        return False
    store = services.object_store()
    for key in keys:
        store.delete(key)
    return _finish(public_id, len(keys))


def _locked_request(public_id: str) -> ErasureRequest | None:
    return db.session.scalar(
        select(ErasureRequest)
        .where(ErasureRequest.public_id == public_id, ErasureRequest.purged_at.is_(None))
        .with_for_update()
    )


def _purge_rows(public_id: str) -> list[str] | None:
    """Step 1 (committed): the rows go; returns the object keys still to delete, or None."""
    erasure = _locked_request(public_id)
    if erasure is None:
        db.session.rollback()
        return None
    if erasure.rows_purged_at is None:
        if erasure.purge_due_at > clock.now():
            db.session.rollback()
            return None
        deleted, found = _delete_rows(erasure.user)
        _anonymise(erasure.user)
        erasure.objects_pending = sorted(found)
        erasure.counts = {**erasure.counts, "purged": deleted}
        erasure.rows_purged_at = utcnow()
    keys = list(erasure.objects_pending or [])
    db.session.commit()
    return keys


def _finish(public_id: str, objects: int) -> bool:
    """Step 3 (committed): mark the request purged and audit it with counts only."""
    erasure = _locked_request(public_id)
    if erasure is None:  # another run finished it meanwhile
        db.session.rollback()
        return False
    erasure.purged_at = utcnow()
    erasure.objects_pending = None
    purged = {**erasure.counts.get("purged", {}), "objects": objects}
    erasure.counts = {**erasure.counts, "purged": purged}
    trail.record(
        "patient.purged",
        object_type="user",
        object_id=erasure.user.public_id,
        actor=trail.SYSTEM,
        details={"erasure_id": erasure.public_id, **purged},
    )
    db.session.commit()
    log.info("erasure %s purged: %d rows, %d objects", public_id, sum(purged.values()), objects)
    return True


# --------------------------------------------------------------------------- rows


def _delete_rows(user: User) -> tuple[dict[str, int], set[str]]:
    """Delete every row of the patient; returns rows deleted per table and the object keys."""
    doomed, leaves = _doomed_rows(user.id)
    keys = _object_keys(doomed)
    deleted: dict[str, int] = {}
    for table in reversed(db.metadata.sorted_tables):  # children before their parents
        if table.name in KEPT_TABLES:
            continue
        count = 0
        if table.name in doomed:
            (pk,) = table.primary_key.columns
            ordered = sorted(doomed[table.name])
            _unlink_self_references(table, pk, ordered)
            for batch in _batches(ordered):
                count += _rowcount(db.session.execute(delete(table).where(pk.in_(batch))))
        for column, ids in leaves.get(table.name, []):
            for batch in _batches(sorted(ids)):
                count += _rowcount(db.session.execute(delete(table).where(column.in_(batch))))
        if count:
            deleted[table.name] = count
    remembered = _delete_remembered_responses(user)
    if remembered:
        deleted[IdempotencyRecord.__tablename__] = remembered
    return deleted, keys


def _doomed_rows(
    user_id: int,
) -> tuple[dict[str, set[Any]], dict[str, list[tuple[Column[Any], set[Any]]]]]:
    """Every row that depends on the user row, found by following foreign keys.

    Rows of tables with a one-column primary key are collected by key (they may have
    dependants of their own); rows of tables with a composite key are deleted by the
    foreign key that reached them (nothing references such tables).
    """
    doomed: dict[str, set[Any]] = defaultdict(set)
    leaves: dict[str, list[tuple[Column[Any], set[Any]]]] = defaultdict(list)
    frontier: dict[str, set[Any]] = {"users": {user_id}}
    while frontier:
        found: dict[str, set[Any]] = defaultdict(set)
        for table in db.metadata.sorted_tables:
            if table.name in KEPT_TABLES:
                continue
            for foreign_key in table.foreign_keys:
                referred = foreign_key.column.table.name
                ids = frontier.get(referred)
                if not ids:
                    continue
                if not foreign_key.column.primary_key:
                    raise RuntimeError(f"{table.name} refers to a non-key column of {referred}")
                column = foreign_key.parent
                if len(table.primary_key.columns) != 1:
                    leaves[table.name].append((column, set(ids)))
                    continue
                (pk,) = table.primary_key.columns
                for batch in _batches(sorted(ids)):
                    rows = db.session.scalars(select(pk).where(column.in_(batch)))
                    found[table.name].update(rows)
        frontier = {}
        for name, ids in found.items():
            new = ids - doomed[name]
            if new:
                doomed[name] |= new
                frontier[name] = new
    return dict(doomed), dict(leaves)


def _object_keys(doomed: dict[str, set[Any]]) -> set[str]:
    keys: set[str] = set()
    for name, columns in OBJECT_KEY_COLUMNS.items():
        ids = doomed.get(name)
        if not ids:
            continue
        table = db.metadata.tables[name]
        (pk,) = table.primary_key.columns
        for batch in _batches(sorted(ids)):
            for row in db.session.execute(
                select(*(table.c[column] for column in columns)).where(pk.in_(batch))
            ):
                keys.update(key for key in row if key)
    return keys


def _unlink_self_references(table: Table, pk: Column[Any], ids: list[Any]) -> None:
    """Clear a table's references to its own doomed rows, so batches delete in any order."""
    for foreign_key in table.foreign_keys:
        if foreign_key.column.table is table and foreign_key.parent.nullable:
            for batch in _batches(ids):
                db.session.execute(
                    update(table).where(pk.in_(batch)).values({foreign_key.parent.name: None})
                )


def _delete_remembered_responses(user: User) -> int:
    """Stored replies to the patient's keyed requests, and any reply that named them."""
    result = db.session.execute(
        delete(IdempotencyRecord).where(
            or_(
                IdempotencyRecord.scope == f"user:{user.public_id}",
                # Public ids are random UUIDs: only replies about this user contain theirs.
                func.coalesce(IdempotencyRecord.body, "").contains(user.public_id),
            )
        )
    )
    return _rowcount(result)


def _anonymise(user: User) -> None:
    user.email = f"erased-{uuid.uuid4().hex}@{ERASED_DOMAIN}"
    user.name = ERASED_NAME
    user.password_hash = NO_PASSWORD
    user.active = False
    user.totp_secret_sealed = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    user.locale = None
    db.session.flush()
    db.session.expire(user, ["patient"])


def _batches(ids: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start : start + _BATCH]


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
