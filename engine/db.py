"""Database plumbing shared by the engine and the connectors: one declarative base, one way
to open a database (SQLite tuned for concurrent readers, or PostgreSQL), one session factory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, Table, create_engine, event
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine, Result
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from . import jsonsafe

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table of the project (engine and connectors alike)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict: JSON, list: JSON}


def table_of(model: type[Base]) -> Table:
    """The Core ``Table`` of a mapped class, for statements built once at import.

    SQLAlchemy types ``__table__`` as any ``FromClause`` (a class may be mapped to a join or a
    select); every model here is mapped to one table, and this says so in one checked place.
    """
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through a ``Session`` matched.

    ``Session.execute`` is typed to return a plain ``Result``; for a DML statement it is a
    ``CursorResult``, the one that has the count.
    """
    if not isinstance(result, CursorResult):
        raise TypeError("affected_rows needs the result of an UPDATE or DELETE")
    return result.rowcount


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored naive-UTC and always returned timezone-aware in UTC.

    SQLite has no time zones; storing naive UTC everywhere keeps comparisons (due timers,
    lock expiry) correct on both back ends.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None,
                             dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


DEFAULT_DATABASE_URL = "sqlite:///var/mlc.db"


def database_url(url: str | None = None) -> str:
    """The database URL to use: the argument (``Settings.database_url``), or ``var/mlc.db``.

    The engine reads no environment: the composition root passes the URL in."""
    url = url or DEFAULT_DATABASE_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def open_database(url: str | None = None, **kwargs: Any) -> Engine:
    """Create a SQLAlchemy engine for ``url``; SQLite gets WAL, a busy timeout and FK checks."""
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        kwargs.setdefault("json_serializer", jsonsafe.dumps)  # NaN refused on both databases
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover
            # The driver's own transaction handling is replaced by explicit BEGIN IMMEDIATE in
            # write transactions (see ``write_session``), so writers queue instead of failing.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:  # pragma: no cover - trivial
            write = conn.get_execution_options().get("mlc_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    # No ping per checkout (a round trip before every transaction): a connection the server
    # dropped fails its first statement, is invalidated, and the writer runs the command again
    # on a fresh one. The pool is as large as the threads that may hold a connection at once.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 40)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("json_serializer", jsonsafe.dumps)
    return create_engine(url, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """An opened database: the SQLAlchemy engine plus read and write session scopes."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.engine = engine or open_database(url)
        self.url = str(self.engine.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            self.engine.execution_options(mlc_write=True), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read (or optimistic write) transaction: commit on success, roll back on error."""
        with self._sessions() as session:
            with session.begin():
                yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A transaction that takes the write lock up front on SQLite (``BEGIN IMMEDIATE``).

        On SQLite a deferred transaction that reads and then writes can fail with "database is
        locked" when another writer got in between; taking the lock first makes writers queue.
        """
        with self._write_sessions() as session:
            with session.begin():
                yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A read transaction on a plain Core connection (no ORM session to build)."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def create_all(self) -> None:
        """Create every table directly (tests); production uses Alembic migrations."""
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
