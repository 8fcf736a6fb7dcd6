"""The one write path: commands from every thread, committed together (group commit).

A command is a function of a :class:`~engine.unit_of_work.UnitOfWork`. :meth:`Writer.run`
queues it and returns its result once the transaction that ran it has committed, so a
caller's success means *committed*. Whoever finds the writer idle becomes the leader: it
takes everything queued (FIFO, up to ``max_batch``), runs each command in a savepoint of one
transaction, commits once, answers every caller, and hands the lead to the next waiter.
Under load a batch is whatever has arrived; alone, a command runs at once on its caller's
thread. The batch's writes are collected and sent together (see
:mod:`engine.unit_of_work`). A command that fails rolls back to its savepoint without
touching the others; one that lost an optimistic-lock race (another process wrote the
instance) runs again.

The leader holds the only write connection of this process, so on SQLite writers queue here
in arrival order instead of racing for the file lock, and a read never waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.exc import DBAPIError, OperationalError

from .errors import ConcurrentUpdateError
from .unit_of_work import DeferredWritesFailed, StaleInstance, UnitOfWork

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy import Connection

    from .db import Database
    from .services import EngineServices

log = logging.getLogger("mlc.writer")

T = TypeVar("T")
Command = Callable[[UnitOfWork], T]
MAX_ATTEMPTS = 20


class _Pending:
    __slots__ = ("command", "result", "error", "done", "event", "attempts")

    def __init__(self, command: Command[Any]) -> None:
        self.command = command
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.event = threading.Event()
        self.attempts = 0


class Writer:
    """Runs commands in batches on one connection; see the module docstring."""

    def __init__(self, db: Database, services: EngineServices, *, max_batch: int = 64) -> None:
        self.db = db
        self.services = services
        self.max_batch = max_batch
        self._queue: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self._leading = False
        self._local = threading.local()
        self._engine = db.engine.execution_options(mlc_write=True)
        UnitOfWork.install(db.engine)
        self.batches = 0
        self.commands = 0

    def run(self, command: Command[T]) -> T:
        """Run ``command`` in a write transaction; return its result once committed."""
        uow = getattr(self._local, "uow", None)
        if uow is not None:  # a command calling another command: same transaction
            return command(uow)
        item = _Pending(command)
        with self._lock:
            self._queue.append(item)
            lead = not self._leading
            if lead:
                self._leading = True
        if not lead:
            item.event.wait()
        if not item.done:
            self._lead(item)
        if item.error is not None:
            raise item.error
        return cast(T, item.result)

    def _lead(self, mine: _Pending) -> None:
        if len(self._queue) == 1:
            time.sleep(0)  # let threads that are already runnable queue first: one batch
        while True:
            with self._lock:
                batch = [self._queue.popleft()
                         for _ in range(min(len(self._queue), self.max_batch))]
                if not batch:
                    self._leading = False
                    return
            retry = self._execute(batch)
            with self._lock:
                self._queue.extendleft(reversed(retry))
            for item in batch:
                if item.done and item is not mine:
                    item.event.set()
            if mine.done:
                with self._lock:
                    if self._queue:
                        self._queue[0].event.set()  # the next waiter leads
                    else:
                        self._leading = False
                return

    def _execute(self, batch: list[_Pending]) -> list[_Pending]:
        """Run ``batch`` in one transaction; return the commands to run again.

        Optimistic first: no savepoints (two statements per command saved) and the writes
        of all commands sent together. When a command fails, the transaction is rolled back,
        that command gets its answer, and the others run again, now each in a savepoint
        with its own writes, so one more failure costs nothing else. When the collected
        writes fail, nobody can tell whose they were: every command runs again that way.
        """
        self.batches += 1
        retry: list[_Pending] = []
        rest: list[_Pending] = []
        try:
            self._transaction(batch, retry, savepoints=False)
        except _Failed as failure:
            self._settle(failure.item, failure.error, retry)
            rest = [item for item in batch if item is not failure.item]
        except _BatchFailed:
            rest = batch
        for item in rest:
            item.result, item.done = None, False
        if rest:
            try:
                self._transaction(rest, retry, savepoints=True)
            except _Failed as again:  # pragma: no cover - savepoints catch command errors
                self._settle(again.item, again.error, retry)
        self.commands += sum(1 for item in batch if item.done)
        return retry

    def _transaction(self, items: list[_Pending], retry: list[_Pending], *,
                     savepoints: bool) -> None:
        uow: UnitOfWork | None = None
        try:
            with self._engine.connect() as conn:
                uow = UnitOfWork(conn, self.services)
                with conn.begin():
                    if not savepoints:
                        uow.defer_writes()
                    try:
                        for item in items:
                            self._one(conn, uow, item, retry, savepoint=savepoints)
                        uow.send_deferred()
                    except DeferredWritesFailed as exc:
                        raise _BatchFailed() from exc
                    finally:
                        uow.stop_deferring()
                uow.committed()
        except (_Failed, _BatchFailed):
            if uow is not None:
                uow.rolled_back()
            raise
        except (OperationalError, DBAPIError) as exc:
            # the commit itself (or the connection) failed: nothing of the batch is stored
            if uow is not None:
                uow.rolled_back()
            stale_connection = getattr(exc, "connection_invalidated", False)
            log.warning("a transaction of %d command(s) failed: %s", len(items), exc)
            for item in items:
                if item in retry:
                    continue
                if stale_connection and item.attempts < 2:  # the server dropped a pooled
                    item.done, item.result = False, None  # connection: once more, on a new one
                    retry.append(item)
                else:
                    item.error, item.done, item.result = exc, True, None

    def _one(self, conn: Connection, uow: UnitOfWork, item: _Pending, retry: list[_Pending], *,
             savepoint: bool) -> None:
        item.attempts += 1
        nested = conn.begin_nested() if savepoint else None
        self._local.uow = uow
        try:
            item.result = item.command(uow)
            uow.flush()
            if nested is not None:
                nested.commit()
            item.done = True
        except (OperationalError, DBAPIError):
            raise  # the connection is gone: the whole transaction fails
        except DeferredWritesFailed as exc:  # earlier commands' writes, sent before a read
            uow.discard()
            raise _BatchFailed() from exc
        except Exception as exc:  # the command's own failure is its caller's answer
            exc = self._stale_or(uow, exc)
            uow.discard()
            if nested is None:
                raise _Failed(item, exc) from exc
            nested.rollback()
            self._settle(item, exc, retry)
        finally:
            self._local.uow = None

    @staticmethod
    def _stale_or(uow: UnitOfWork, error: Exception) -> Exception:
        """A refusal decided from a cached copy that another process has since moved on is
        a lost race, not an answer: the command runs again on the stored state."""
        if isinstance(error, StaleInstance):
            return error
        try:
            stale = uow.stale_handles()
        except (OperationalError, DBAPIError):  # the transaction is unusable: keep the answer
            return error
        return StaleInstance(*stale) if stale else error

    def _settle(self, item: _Pending, error: Exception, retry: list[_Pending]) -> None:
        """A failed command: a lost optimistic-lock race runs again, anything else is final."""
        if isinstance(error, StaleInstance):
            for instance_id in error.instance_ids:
                self.services.cache.drop(instance_id)
            if item.attempts < MAX_ATTEMPTS:
                item.done = False
                retry.append(item)
                return
            error = ConcurrentUpdateError(f"{error.message}; gave up after {item.attempts} "
                                          "attempts")
        item.error, item.done = error, True


class _BatchFailed(Exception):
    """The batch's collected writes failed: every command runs again on its own."""


class _Failed(Exception):
    def __init__(self, item: _Pending, error: Exception) -> None:
        super().__init__(str(error))
        self.item, self.error = item, error
