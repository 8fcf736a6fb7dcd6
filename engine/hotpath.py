"""The statements every command runs, sent straight to the database driver.

SQLAlchemy's execution machinery (compiled-statement cache, events, type processors, result
proxies) costs 50-70 us per statement on SQLite and ~180 us on PostgreSQL here, four to five
times what the driver itself takes; a command runs six to eight of these statements. They
are simple and fixed, so they are written once per dialect here, with the value conversions
the columns' SQLAlchemy types would apply (naive-UTC timestamps, JSON text), and run on the
DBAPI cursor of the writer's connection, inside its transaction.

A command's writes are collected in a :class:`Writes` and sent together: on PostgreSQL in
one pipeline (one round trip for the lot instead of one per statement), the version-checked
instance UPDATE's row count checked once the pipeline has synced. Everything else (reads,
claims, rare writes) stays with SQLAlchemy.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import jsonsafe
from .notify import CHANNEL_SQL

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy import Connection

_SENT = itertools.count()
ROW_CHANGED, ROW_RETURNED = "changed", "returned"  # the checks a write can carry
Row = tuple[Any, ...]  # one statement's parameters
_HISTORY_FROM_JSON = (
    "INSERT INTO mlc_history (instance_id, at, kind, activity_id, name, data) "
    "SELECT r->>0, (r->>1)::timestamp, r->>2, r->>3, r->>4, r->5 "
    "FROM json_array_elements(%s::json) WITH ORDINALITY AS e(r, o) ORDER BY o")


def _naive_utc_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def _driver_connection(conn: Connection) -> Any:
    """The driver's own connection (sqlite3's or psycopg's, with its extras such as
    ``pipeline``) under a SQLAlchemy connection."""
    return conn.connection.dbapi_connection


class HotSQL:
    """Per-dialect SQL text and value conversion for the hot statements."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.mark = "?" if dialect == "sqlite" else "%s"
        if dialect == "postgresql":
            from psycopg.types.json import Json

            self._json = Json
        self._in_cache: dict[tuple[str, int], str] = {}

    # -- values ---------------------------------------------------------------------------

    def when(self, value: datetime | None) -> Any:
        """A timestamp as ``UTCDateTime`` stores it: naive UTC (SQLite: its text form)."""
        if value is None:
            return None
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if self.dialect == "sqlite" else naive

    def json(self, value: Any) -> Any:
        """JSON column text, strict as the ORM's columns (no NaN/Infinity on either database)."""
        if self.dialect == "sqlite":
            return jsonsafe.dumps(value)
        return self._json(value, dumps=jsonsafe.dumps)

    def read_when(self, value: Any) -> datetime | None:
        if value is None:
            return None
        when: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return when.replace(tzinfo=UTC)

    def read_json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    # -- SQL text ---------------------------------------------------------------------------

    def insert(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join([self.mark] * len(columns))
        return f'INSERT INTO {table} ({", ".join(_quote(c) for c in columns)}) VALUES ({marks})'

    def where_in(self, prefix: str, count: int) -> str:
        key = (prefix, count)
        found = self._in_cache.get(key)
        if found is None:
            found = self._in_cache[key] = f"{prefix} IN ({', '.join([self.mark] * count)})"
        return found


def _quote(column: str) -> str:
    return f'"{column}"' if column == "key" else column


class Hot:
    """The hot statements of one dialect, run on a SQLAlchemy connection's DBAPI cursor."""

    def __init__(self, dialect: str) -> None:
        sql = self.sql = HotSQL(dialect)
        m = sql.mark
        self._insert_instance = sql.insert("mlc_process_instances", INSTANCE_COLUMNS)
        self._check_latest = ("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM mlc_process_definitions"
                              f' WHERE "key" = {m} AND version > {m})')
        self._update_instance = (
            "UPDATE mlc_process_instances SET version = " + m + ", status = " + m
            + ", state = " + m + ", variables = " + m + ", active_activities = " + m
            + ", error = " + m + ", updated_at = " + m + ", ended_at = " + m
            + ", business_key = " + m + " WHERE id = " + m + " AND version = " + m)
        self._insert_history = sql.insert("mlc_history", HISTORY_COLUMNS)
        self._insert_subscription = sql.insert("mlc_event_subscriptions", SUBSCRIPTION_COLUMNS)
        self._insert_external = sql.insert("mlc_external_tasks", EXTERNAL_COLUMNS)
        self._update_external = (f"UPDATE mlc_external_tasks SET variables = {m}, task_id = {m} "
                                 f"WHERE id = {m}")
        self._select_external = (f"SELECT {', '.join(EXTERNAL_COLUMNS)} FROM mlc_external_tasks "
                                 f"WHERE id = {m}")
        self._delete_locked = (f"DELETE FROM mlc_external_tasks WHERE id = {m} "
                               f"AND lock_owner = {m} AND state = 'locked'")
        self._check_lock = (f"UPDATE mlc_external_tasks SET lock_owner = lock_owner "
                            f"WHERE id = {m} AND lock_owner = {m} AND state = 'locked'")
        self._insert_index = sql.insert("mlc_instance_variables", ("instance_id", "name", "value"))
        self._update_index = (f"UPDATE mlc_instance_variables SET value = {m} "
                              f"WHERE instance_id = {m} AND name = {m}")

    @staticmethod
    def _cursor(conn: Connection) -> Any:
        next(_SENT)
        return _driver_connection(conn).cursor()

    def writes(self) -> Writes:
        return Writes(self)

    # -- instances --------------------------------------------------------------------------

    def insert_instance(self, out: Writes, row: dict[str, Any]) -> None:
        s = self.sql
        out.add(self._insert_instance, (
            row["id"], row["definition_id"], row["definition_key"], row["business_key"],
            row["status"], row["state"], s.json(row["variables"]), s.json(row["active_activities"]),
            1, row["error"], s.when(row["created_at"]), s.when(row["updated_at"]),
            s.when(row["ended_at"])))

    def check_latest(self, out: Writes, key: str, version: int) -> None:
        """Checked like the instance update: ``version`` is still the newest of ``key`` (an
        instance started from a cached "latest" definition). A check, not a condition on the
        INSERT: the instance's other rows refer to it, so it is stored either way and the
        check's failure undoes the lot."""
        out.add(self._check_latest, (key, version), checked=ROW_RETURNED)

    def update_instance(self, out: Writes, instance_id: str, version: int,
                        row: dict[str, Any]) -> None:
        """The version-checked write; :meth:`Writes.send` tells whether it changed the row."""
        s = self.sql
        out.add(self._update_instance, (
            version + 1, row["status"], row["state"], s.json(row["variables"]),
            s.json(row["active_activities"]), row["error"], s.when(row["updated_at"]),
            s.when(row["ended_at"]), row["business_key"], instance_id, version), checked=ROW_CHANGED)

    def delete_locked(self, out: Writes, task_id: str, owner: str) -> None:
        """Delete a completed task, checked: it was still locked by ``owner``."""
        out.add(self._delete_locked, (task_id, owner), checked=ROW_CHANGED)

    def check_lock(self, out: Writes, task_id: str, owner: str) -> None:
        """Checked like the instance update: the task is still locked by ``owner`` (a
        completion that trusted its claim instead of reading the row first)."""
        out.add(self._check_lock, (task_id, owner), checked=ROW_CHANGED)

    def insert_history(self, out: Writes, rows: list[dict[str, Any]]) -> None:
        if self.sql.dialect == "sqlite":
            s = self.sql
            out.history.extend(
                (r["instance_id"], s.when(r["at"]), r["kind"], r["activity_id"], r["name"],
                 jsonsafe.dumps(r["data"])) for r in rows)
        else:
            out.history.extend(
                (r["instance_id"], _naive_utc_text(r["at"]), r["kind"], r["activity_id"],
                 r["name"], r["data"]) for r in rows)

    def history_inserts(self, rows: list[Row]) -> Iterable[tuple[str, Any, bool]]:
        """History rows as few statements as possible: (sql, params, many). PostgreSQL runs
        each row of an ``executemany`` as its own statement (and dumps array parameters in
        Python), so there the rows go as one JSON text, expanded in order by the server;
        SQLite's ``executemany`` is already one loop in C."""
        if not rows:
            return
        if self.sql.dialect == "sqlite":
            yield self._insert_history, rows, True
        else:
            yield _HISTORY_FROM_JSON, (jsonsafe.dumps(rows),), False

    # -- derived rows -----------------------------------------------------------------------

    def delete_ids(self, out: Writes, table: str, ids: list[str]) -> None:
        out.add(f"DELETE FROM {table} WHERE " + self.sql.where_in("id", len(ids)), tuple(ids))

    def insert_subscriptions(self, out: Writes, rows: Iterable[dict[str, Any]]) -> None:
        s = self.sql
        out.add_many(self._insert_subscription, [
            (r["id"], r["kind"], r["name"], r["instance_id"], r["definition_id"], r["task_id"],
             r["activity_id"], r["business_key"], s.when(r["due_at"]), s.json(r["config"]),
             s.when(r.get("created_at"))) for r in rows])

    def insert_external(self, out: Writes, rows: Iterable[dict[str, Any]]) -> None:
        s = self.sql
        out.add_many(self._insert_external, [
            (r["id"], r["instance_id"], r["definition_key"], r["business_key"],
             r["activity_id"], r["task_id"], r["topic"], s.json(r["variables"]),
             s.json(r["properties"]), r["idempotency_key"], r.get("state", "available"),
             r.get("lock_owner"), s.when(r.get("lock_expires_at")), r.get("retries"),
             r["retry_cycle"], r.get("attempts", 0), s.when(r["next_attempt_at"]),
             None, None, None, r.get("priority", 0), s.when(r["created_at"])) for r in rows])

    def update_external(self, out: Writes, rows: Iterable[dict[str, Any]]) -> None:
        s = self.sql
        out.add_many(self._update_external,
                     [(s.json(r["variables"]), r["task_id"], r["id"]) for r in rows])

    def external_by_id(self, conn: Connection, task_id: str) -> dict[str, Any] | None:
        cursor = self._cursor(conn)
        try:
            cursor.execute(self._select_external, (task_id,))
            found = cursor.fetchone()
        finally:
            cursor.close()
        if found is None:
            return None
        row = dict(zip(EXTERNAL_COLUMNS, found))
        s = self.sql
        for name in ("variables", "properties", "pending_result"):
            row[name] = s.read_json(row[name])
        for name in ("lock_expires_at", "next_attempt_at", "created_at"):
            row[name] = s.read_when(row[name])
        return row

    # -- correlation index ------------------------------------------------------------------

    def notify_tasks(self, out: Writes, payload: str) -> None:
        """PostgreSQL: tell other processes' long polls, if this transaction commits."""
        out.add(f"SELECT pg_notify({CHANNEL_SQL}, {self.sql.mark})", (payload,))

    def index_insert(self, out: Writes, instance_id: str, values: dict[str, str]) -> None:
        out.add_many(self._insert_index,
                     [(instance_id, name, value) for name, value in values.items()])

    def index_delete(self, out: Writes, instance_id: str, names: list[str]) -> None:
        out.add("DELETE FROM mlc_instance_variables WHERE instance_id = " + self.sql.mark
                + " AND " + self.sql.where_in("name", len(names)), (instance_id, *names))

    def index_update(self, out: Writes, instance_id: str, values: dict[str, str]) -> None:
        out.add_many(self._update_index,
                     [(value, instance_id, name) for name, value in values.items()])


class Writes:
    """Hot writes (one command's, or a batch's), sent together by :meth:`send`. History rows
    go last, in as few statements as the dialect allows: nothing on the hot path reads or
    deletes them, and they refer to nothing the other writes delete."""

    def __init__(self, hot: Hot) -> None:
        self.hot = hot
        self.operations: list[tuple[str, Any, bool, str | None]] = []  # sql, params, many, check
        self.history: list[Row] = []

    @property
    def empty(self) -> bool:
        return not self.operations and not self.history

    def add(self, sql: str, params: Row, *, checked: str | None = None) -> None:
        self.operations.append((sql, params, False, checked))

    def add_many(self, sql: str, rows: list[Row]) -> None:
        if rows:
            self.operations.append((sql, rows, True, None))

    def send(self, conn: Connection) -> bool:
        """Run every write; False when a checked one failed its check (a version-checked
        UPDATE changed no row, a check query returned none)."""
        if self.empty:
            return True
        dbapi = _driver_connection(conn)
        cursors = []
        pipeline = dbapi.pipeline() if self.hot.sql.dialect == "postgresql" else None
        operations = self.operations + [(sql, params, many, None) for sql, params, many
                                        in self.hot.history_inserts(self.history)]
        try:
            if pipeline is not None:
                pipeline.__enter__()
            for sql, params, many, checked in operations:
                next(_SENT)
                cursor = dbapi.cursor()
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
                cursors.append((cursor, checked))
        finally:
            if pipeline is not None:
                pipeline.__exit__(*__import__("sys").exc_info())
        fresh = all((len(cursor.fetchall()) == 1 if checked == ROW_RETURNED
                     else cursor.rowcount == 1) for cursor, checked in cursors if checked)
        for cursor, _checked in cursors:
            cursor.close()
        return fresh


INSTANCE_COLUMNS = ("id", "definition_id", "definition_key", "business_key", "status", "state",
                    "variables", "active_activities", "version", "error", "created_at",
                    "updated_at", "ended_at")
HISTORY_COLUMNS = ("instance_id", "at", "kind", "activity_id", "name", "data")
SUBSCRIPTION_COLUMNS = ("id", "kind", "name", "instance_id", "definition_id", "task_id",
                        "activity_id", "business_key", "due_at", "config", "created_at")
EXTERNAL_COLUMNS = ("id", "instance_id", "definition_key", "business_key", "activity_id",
                    "task_id", "topic", "variables", "properties", "idempotency_key", "state",
                    "lock_owner", "lock_expires_at", "retries", "retry_cycle", "attempts",
                    "next_attempt_at", "last_error", "error_details", "pending_result",
                    "priority", "created_at")

_BY_DIALECT: dict[str, Hot] = {}


def hot(dialect: str) -> Hot:
    found = _BY_DIALECT.get(dialect)
    if found is None:
        found = _BY_DIALECT[dialect] = Hot(dialect)
    return found


def statements_sent() -> int:
    """A running count of hot statements sent (benchmarks add it to SQLAlchemy's count; the
    call itself adds one)."""
    return next(_SENT)
