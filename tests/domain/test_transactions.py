"""Read-only transactions take no lock and cannot write; the relay holds no lock on Redis."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from casebox import services
from casebox.audit.models import AuditHead
from casebox.database import db, read_only_transaction
from casebox.outbox.events import emit
from casebox.outbox.models import OutboxEvent
from tests.support import ApiClient, can_write_elsewhere
from workers import relay
from workers.queues import default_queue


def _outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxEvent)) or 0


def test_a_read_only_transaction_holds_no_lock_and_a_write_one_does(app: Flask) -> None:
    with app.app_context():
        with read_only_transaction():
            assert _outbox_count() == 0
            assert can_write_elsewhere(app)
        db.session.execute(select(AuditHead).with_for_update())  # a write transaction
        assert not can_write_elsewhere(app)
        db.session.rollback()


def test_a_write_in_a_read_only_transaction_fails_and_later_writes_work(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(DBAPIError), read_only_transaction():
            _outbox_count()
            emit("photo.uploaded", photo_id="p1")
            db.session.flush()
        emit("photo.uploaded", photo_id="p2")  # the next transaction writes as usual
        db.session.commit()
        with read_only_transaction():
            assert db.session.scalars(select(OutboxEvent.payload)).all() == [{"photo_id": "p2"}]


def test_a_read_only_transaction_must_start_its_own_unit_of_work(app: Flask) -> None:
    with app.app_context():
        _outbox_count()  # a transaction is open
        with pytest.raises(RuntimeError), read_only_transaction():
            pass
        db.session.rollback()
        emit("photo.uploaded", photo_id="p1")  # not flushed yet: a pending write
        with pytest.raises(RuntimeError), read_only_transaction():
            pass
        db.session.rollback()


def test_the_relay_holds_no_lock_while_it_talks_to_redis(
    api: ApiClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = api.patient()
    case = api.create_case(token)
    assert api.upload(token, case["id"]).status_code == 201
    free: list[bool] = []
    enqueue = relay.enqueue_job

    def probing_enqueue(*args: object, **kwargs: object) -> object:
        free.append(can_write_elsewhere(app))
        return enqueue(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(relay, "enqueue_job", probing_enqueue)
    with app.app_context():
        queue = default_queue(services.redis_connection())
        assert relay._anything_pending()
        assert relay.relay_pending(queue) == 1
        assert not relay._anything_pending()
        assert relay.relay_pending(queue) == 0  # marked dispatched
        assert len(queue) == 1
    assert free == [True]
