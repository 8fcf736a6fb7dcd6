"""Task availability: wake whoever waits for external tasks of a topic when some may be
claimable, instead of having every waiter poll the database.

Three sources of wake-ups, one registry of waiters per database (:func:`availability_for`):

- **this process's commits**: the write path publishes the topics of the external tasks a
  transaction created (and this process's embedded worker did not take) once it commits. A
  rolled-back transaction publishes nothing.
- **other processes** on PostgreSQL: the same transaction sends ``pg_notify`` (:func:`notice`),
  delivered only if it commits, and :class:`TaskWatch` listens.
- **everything else** (SQLite shared by several processes, retry back-off ending, an
  expired lock, a released task): :class:`TaskWatch` asks the database once a second which
  of the topics somebody waits for have claimable tasks, one query per process whatever the
  number of waiters.

A wake-up is a hint, never a claim: the woken waiter claims through the ordinary
fetch-and-lock and waits again when it got nothing. Waiters are woken oldest first and only
as many as there are new tasks, so 200 long polls on one topic do not all stampede the
database for one task.

Knows nothing of HTTP: the web layer's long polls and any other waiter use this module.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import func, select

from . import clock

log = logging.getLogger("mlc.notify")

_ORIGIN = f"{os.getpid()}:{uuid.uuid4().hex[:8]}"  # our own NOTIFYs are ignored on return


class Waiter:
    """One party waiting for tasks of some topics; ``wake`` must be thread-safe and quick."""

    __slots__ = ("topics", "wake", "woken")

    def __init__(self, topics: Iterable[str], wake: Callable[[], None]) -> None:
        self.topics = frozenset(topics)
        self.wake = wake
        self.woken = False


class TaskAvailability:
    """The waiters of one database in this process, woken oldest first per topic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[Waiter] = []

    def add(self, waiter: Waiter) -> Waiter:
        """(Re-)register ``waiter`` at the back of the queue, not woken."""
        with self._lock:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            waiter.woken = False
            self._waiting.append(waiter)
        return waiter

    def remove(self, waiter: Waiter) -> None:
        with self._lock:
            if waiter in self._waiting:
                self._waiting.remove(waiter)

    def topics(self) -> set[str]:
        """Every topic somebody waits for now."""
        with self._lock:
            return set().union(*(w.topics for w in self._waiting)) if self._waiting else set()

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def publish(self, counts: Mapping[str, int] | Iterable[str]) -> int:
        """Wake up to ``counts[topic]`` waiters per topic (1 each for a plain list of topics);
        return how many were woken. Woken waiters leave the queue until they re-register."""
        if not isinstance(counts, Mapping):
            counts = Counter(counts)
        woken: list[Waiter] = []
        with self._lock:
            left = {t: n for t, n in counts.items() if n > 0}
            for waiter in self._waiting:
                if not left:
                    break
                topic = next((t for t in waiter.topics if t in left), None)
                if topic is None:
                    continue
                left[topic] -= 1
                if not left[topic]:
                    del left[topic]
                woken.append(waiter)
            for waiter in woken:
                waiter.woken = True
                self._waiting.remove(waiter)
        for waiter in woken:
            _call(waiter.wake)
        return len(woken)

    def wake_all(self) -> None:
        """Wake every waiter (shutdown: long polls answer at once)."""
        with self._lock:
            woken, self._waiting = self._waiting, []
        for waiter in woken:
            waiter.woken = True
            _call(waiter.wake)


def _call(wake: Callable[[], None]) -> None:
    try:
        wake()
    except Exception:  # a waiter whose loop is gone must not stop the others
        log.debug("waking a waiter failed", exc_info=True)


_REGISTRY: dict[str, TaskAvailability] = {}
_REGISTRY_LOCK = threading.Lock()


def availability_for(db: Any) -> TaskAvailability:
    """The waiters registry of the database ``db`` (one per database URL in this process)."""
    key = str(db.url)
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(key)
        if found is None:
            found = _REGISTRY[key] = TaskAvailability()
        return found


# ---------------------------------------------------------------------------------- commits

CHANNEL_SQL = "'mlc_tasks_' || left(md5(current_schema()), 16)"
MAX_PAYLOAD = 7000  # NOTIFY payloads stop at 8000 bytes; the watch polls anyway


def notice(counts: Mapping[str, int]) -> str | None:
    """The ``pg_notify`` payload telling other processes about new tasks (None when too
    long: they learn of them from their watch's next poll)."""
    payload = json.dumps({"origin": _ORIGIN, "topics": dict(counts)})
    return payload if len(payload) < MAX_PAYLOAD else None


# ---------------------------------------------------------------------------------- watching

def claimable_counts(db: Any, topics: Iterable[str]) -> dict[str, int]:
    """How many tasks of each topic a fetch-and-lock could claim now."""
    from .statements import EXTERNAL, fetchable

    topics = sorted(set(topics))
    if not topics:
        return {}
    q = (select(EXTERNAL.c.topic, func.count())
         .where(EXTERNAL.c.topic.in_(topics), fetchable(EXTERNAL, clock.now()))
         .group_by(EXTERNAL.c.topic))
    with db.session() as s:
        return {topic: int(n) for topic, n in s.execute(q).all()}


class TaskWatch:
    """Publishes what other processes and the passing of time made claimable.

    Run :meth:`run` in one thread per process (``mlc serve`` does). On PostgreSQL it also
    LISTENs for other processes' commits, reconnecting after an outage.
    """

    def __init__(self, db: Any, *, interval: float = 1.0) -> None:
        self.db = db
        self.availability = availability_for(db)
        self.interval = interval

    def poll_once(self) -> int:
        topics = self.availability.topics()
        if not topics:
            return 0
        return self.availability.publish(claimable_counts(self.db, topics))

    def run(self, stop: threading.Event) -> None:
        listener = None
        if self.db.dialect == "postgresql":
            listener = threading.Thread(target=self._listen, args=(stop,), daemon=True,
                                        name="mlc-task-listen")
            listener.start()
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # database down: the next round tries again
                log.warning("task watch: %s", type(exc).__name__)
            stop.wait(self.interval)
        if listener is not None:
            listener.join(timeout=5)

    def _listen(self, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                self._listen_until_error(stop)
                backoff = 0.5
            except Exception as exc:
                log.info("task listener reconnecting after %s", type(exc).__name__)
                log.debug("task listener error", exc_info=True)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _listen_until_error(self, stop: threading.Event) -> None:
        raw = self.db.engine.raw_connection()
        conn = raw.driver_connection
        raw.detach()  # a LISTENing connection must not go back to the pool
        try:
            conn.autocommit = True
            channel = conn.execute(f"SELECT {CHANNEL_SQL}").fetchone()[0]
            conn.execute(f'LISTEN "{channel}"')
            while not stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    self._received(note.payload)
        finally:
            try:
                raw.close()
            except Exception:
                pass

    def _received(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            if data.get("origin") != _ORIGIN:
                self.availability.publish({str(t): int(n) for t, n in data["topics"].items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            log.debug("ignored a malformed task notification")

