"""The SQLAlchemy handle, the model base and the per-dialect connection setup.

Transactions on SQLite begin IMMEDIATE: they take the database's one write lock at
BEGIN, so two writers queue up instead of deadlocking when a deferred read upgrades to
a write. A unit of work that only reads can say so with :func:`read_only_transaction`:
on SQLite it begins DEFERRED (in WAL mode a reader takes no lock at all, so it neither
waits for a writer nor holds one up) with ``PRAGMA query_only`` set, so that any write
in it fails at once instead of attempting the upgrade; on PostgreSQL it is a READ ONLY
transaction, with the same guarantee.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations get stable names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use casebox.database.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_public_id() -> str:
    """A random identifier safe to show users (never a sequential number)."""
    return str(uuid.uuid4())


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Make SQLite behave: foreign keys, WAL, a busy timeout and explicit transactions."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # Let SQLAlchemy's "begin" listener issue BEGIN IMMEDIATE itself: pysqlite's
    # implicit deferred BEGIN lets two writers deadlock on the lock upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


# The execution option that marks a connection's transaction as read-only.
READ_ONLY_OPTION: Final = "casebox_read_only"
# Connection.info key: whether PRAGMA query_only is on for this SQLite connection.
_QUERY_ONLY: Final = "casebox.sqlite_query_only"


@contextmanager
def read_only_transaction() -> Iterator[None]:
    """Run the body's reads in a transaction of their own that can never write.

    It must begin the session's unit of work (raises RuntimeError inside a transaction,
    which may already hold locks or pending writes) and ends it: committed when the body
    returns, rolled back when it raises. Use it only for reads that lead to no write in
    the same transaction; a write in it raises (SQLite: "attempt to write a readonly
    database"; PostgreSQL: "cannot execute ... in a read-only transaction").
    """
    session = db.session()
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only transaction must start a unit of work of its own")
    session.connection(execution_options={READ_ONLY_OPTION: True})
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    session.commit()


@event.listens_for(Engine, "begin")
def _begin(connection: Any) -> None:
    read_only = bool(connection.get_execution_options().get(READ_ONLY_OPTION, False))
    dialect = connection.dialect.name
    if dialect == "sqlite":
        if connection.info.get(_QUERY_ONLY, False) != read_only:
            connection.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
            connection.info[_QUERY_ONLY] = read_only
        # A read-only transaction is DEFERRED: it never takes the write lock.
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
    elif dialect == "postgresql" and read_only:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
