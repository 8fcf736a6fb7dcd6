"""Running user-written metric SQL safely: one SELECT, only over the analytics views, in a
read-only transaction with a time limit.

Two independent guards, so a gap in one is covered by the other:

1. :func:`check_query` parses the text (sqlglot) and refuses anything but a single SELECT whose
   tables are all analytics views (or its own CTEs), with no schema-qualified names and no
   functions the parser does not know (``pg_read_file``, ``pg_sleep``, ``load_extension``...).
2. :class:`MetricQueryRunner` has the database itself refuse the rest, whatever the checker
   let through: on SQLite a separate ``mode=ro`` connection with an authorizer that allows
   reading the analytics views only and a progress handler that aborts after the time
   limit; on PostgreSQL one server-side prepared statement (the extended protocol takes
   exactly one statement, so ``select 1; commit; create table ...`` cannot run), in a
   ``READ ONLY`` transaction with a ``statement_timeout``, as the role
   :data:`~connectors.automations._views.READER_ROLE`, which may read the analytics views and
   nothing else.
"""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from typing import Any

import sqlglot
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlglot import exp

from engine.db import Database

from ._errors import MetricQueryError
from ._views import ANALYTICS_VIEWS, READER_ROLE

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_QUERY_LENGTH = 20_000


def check_query(sql: str, where: str = "metric query") -> None:
    """Raise :class:`MetricQueryError` unless ``sql`` is one SELECT over the analytics views."""
    if len(sql) > MAX_QUERY_LENGTH:
        raise MetricQueryError(f"{where}: longer than {MAX_QUERY_LENGTH} characters")
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except sqlglot.errors.SqlglotError as exc:  # parse and tokenizer errors alike
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise MetricQueryError(f"{where}: not valid SQL: {reason}") from None
    except RecursionError:
        raise MetricQueryError(f"{where}: nested too deeply") from None
    if len(statements) != 1:
        raise MetricQueryError(f"{where}: must be exactly one statement")
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)):
        raise MetricQueryError(f"{where}: only SELECT queries are allowed")
    if tree.find(exp.Into) is not None or tree.find(exp.Lock) is not None:
        raise MetricQueryError(f"{where}: SELECT INTO and locking clauses are not allowed")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if table.args.get("db") is not None or table.args.get("catalog") is not None:
            raise MetricQueryError(f"{where}: schema-qualified table {table.sql()!r} is not "
                                   "allowed; use the analytics views")
        if name not in ANALYTICS_VIEWS and name not in ctes:
            raise MetricQueryError(f"{where}: table {table.name!r} is not an analytics view "
                                   f"(allowed: {', '.join(sorted(ANALYTICS_VIEWS))})")
    for fn in tree.find_all(exp.Anonymous):
        raise MetricQueryError(f"{where}: function {fn.name!r} is not allowed")
    if tree.find(exp.Command) is not None:
        raise MetricQueryError(f"{where}: only SELECT queries are allowed")


def as_number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise MetricQueryError(f"{what} returned {value!r}, which is not a number") from None


class MetricQueryRunner:
    """Evaluates metric queries against ``db`` (first column of the first row, as a float)."""

    def __init__(self, db: Database, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.db = db
        self.timeout_seconds = timeout_seconds

    def value(self, sql: str, what: str = "metric query") -> float | None:
        """The query's value, or None when it returns no row or NULL."""
        check_query(sql, what)
        row = self._sqlite(sql, what) if self.db.dialect == "sqlite" else self._postgres(sql, what)
        return as_number(row[0], what) if row else None

    def _postgres(self, sql: str, what: str) -> tuple[Any, ...] | None:
        import psycopg
        from sqlalchemy.exc import DBAPIError

        millis = max(1, int(self.timeout_seconds * 1000))
        try:
            with self.db.engine.connect() as conn:
                with conn.begin():
                    conn.execute(text("SET TRANSACTION READ ONLY"))
                    conn.execute(text(f"SET LOCAL statement_timeout = {millis}"))
                    self._become_reader(conn, what)
                    driver = conn.connection.driver_connection
                    if driver is None:  # only a closed or invalidated connection has none
                        raise MetricQueryError(f"{what} failed: the database connection closed")
                    cursor = driver.cursor()
                    try:  # prepared: the server parses exactly one statement, or refuses
                        cursor.execute(sql, prepare=True)
                        row: tuple[Any, ...] | None = cursor.fetchone()  # DB-API: a tuple
                        return row
                    finally:
                        cursor.close()
        except DBAPIError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
            raise MetricQueryError(f"{what} failed: {reason}") from None
        except psycopg.Error as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise MetricQueryError(f"{what} failed: {reason}") from None

    @staticmethod
    def _become_reader(conn: Connection, what: str) -> None:
        from sqlalchemy.exc import DBAPIError

        try:
            with conn.begin_nested():
                conn.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))
        except DBAPIError:
            raise MetricQueryError(
                f"{what} cannot run: PostgreSQL role {READER_ROLE} is missing or not granted "
                "to this database user; run `mlc db upgrade` as a user allowed to create "
                f"roles, or have an administrator CREATE ROLE {READER_ROLE} NOLOGIN and "
                "GRANT it to this user") from None

    def _sqlite(self, sql: str, what: str) -> tuple[Any, ...] | None:
        path = self.db.engine.url.database
        if not path or path == ":memory:":
            raise MetricQueryError("metric queries need a file database")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10,
                               check_same_thread=False)
        deadline = time.monotonic() + self.timeout_seconds
        try:
            conn.set_authorizer(_sqlite_authorizer)
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            row: tuple[Any, ...] | None = conn.execute(sql).fetchone()  # DB-API: a tuple
            return row
        except sqlite3.Error as exc:
            reason = "time limit exceeded" if "interrupted" in str(exc) else str(exc)
            raise MetricQueryError(f"{what} failed: {reason}") from None
        finally:
            conn.close()


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, db_name: str | None,
                       view_name: str | None) -> int:
    if action == sqlite3.SQLITE_SELECT or action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_READ:
        # reads of base tables are allowed only from inside an analytics view
        if (arg1 or "").lower() in ANALYTICS_VIEWS or (view_name or "").lower() in ANALYTICS_VIEWS:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_RECURSIVE:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY
