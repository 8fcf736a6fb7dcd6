"""Workers: run external tasks whose topic has an in-process handler (outside any
transaction, with a time limit) and asynchronous-continuation jobs; and the timer scheduler.
``mlc worker`` and ``mlc serve`` run these.

A running :class:`Worker` (``run``) also registers its topics with the engine, so tasks of
those topics are written already locked by it, in the transaction that creates them, and
handed straight to it after the commit: no claim round trip. ``run_once`` (tests, one-off
draining) claims from the table as any external worker does.

A worker only fetches (and is only handed) the topics it has handlers for, as Camunda's
external task client subscribes to its handlers' topics. Should it hold a task of another
topic anyway (a task locked under its id by someone else, or given to ``execute`` directly),
it hands the task back: unlocked, logged, with no retry or attempt spent, since nothing was
tried; failing it would count a worker's misconfiguration against the process.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

from . import jsonsafe
from .errors import BpmnError, ConflictError, NotFoundError
from .external_tasks import ExternalTaskService, LockedTask, locked_task
from .facade import Engine
from .handlers import HandlerRegistry, HandlerSpec, TaskContext
from .jobs import JobExecutor
from .nodes import NodeRegistry

log = logging.getLogger("mlc.worker")

Report = Callable[[], object]  # sends a handler's outcome (complete, BPMN error, fail)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Worker:
    """Runs in-process handlers for the topics in ``handlers``, and due jobs.

    Args:
        engine: the engine whose database holds the tasks.
        handlers: topic -> handler; only these topics are fetched.
        worker_id: the lock owner name (unique per worker).
        lock_seconds: how long a claim lasts before another worker may take the task.
        handler_timeout: default time limit of a handler (a handler's own ``timeout`` wins).
        max_tasks: tasks claimed per poll by ``run_once``.
        concurrency: handlers ``run`` executes at once; their completions reach the writer
            together and commit in one transaction.
        node: the node this worker belongs to: its id names the worker's locks, which are
            leases its heartbeat renews while their handlers run (``lock_seconds`` is then
            the lease).
    """

    def __init__(self, engine: Engine, handlers: HandlerRegistry | None = None, *,
                 worker_id: str | None = None, lock_seconds: float = 300.0,
                 handler_timeout: float = 3600.0, max_tasks: int = 1,
                 concurrency: int = 4, node: NodeRegistry | None = None) -> None:
        self.engine = engine
        self.tasks = ExternalTaskService(engine)
        self.jobs = JobExecutor(engine)
        self.handlers = handlers or engine.handlers
        self.node = node
        self.worker_id = worker_id or (node.id if node is not None else default_worker_id())
        self.lock_seconds = node.lease if node is not None else lock_seconds
        self.handler_timeout = handler_timeout
        self.max_tasks = max_tasks
        self.concurrency = max(1, concurrency)
        self._pool = self._new_pool()
        self._inbox: queue.SimpleQueue[LockedTask] = queue.SimpleQueue()
        self._wake = threading.Event()
        # task id -> (task, deadline, time limit)
        self._running: dict[str, tuple[LockedTask, float, float]] = {}
        self._handed: set[str] = set()  # handed over, not yet dispatched
        self._reserved = 0  # new tasks being locked for us by a transaction not yet committed
        self._abandoned: set[str] = set()
        self._lock = threading.Lock()
        self._jobs_checked = 0.0
        self._polled = 0.0
        self._jobs_due = threading.Event()
        self._overflow = threading.Event()
        if node is not None:
            node.track(self.working)

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="mlc-handler")

    @property
    def running(self) -> list[str]:
        """Ids of the tasks whose handlers are running now."""
        with self._lock:
            return list(self._running)

    def working(self) -> list[str]:
        """Ids of the tasks this worker runs or was handed and will run (its node renews
        their leases)."""
        with self._lock:
            return [*self._running, *self._handed]

    # ------------------------------------------------------------------ one pass (tests, draining)

    def run_once(self) -> int:
        """Run what is handed over, else claim up to ``max_tasks`` tasks; also due jobs.
        Return how many tasks and jobs ran."""
        ran = 0
        while True:
            try:
                task = self._inbox.get_nowait()
            except queue.Empty:
                break
            with self._lock:
                self._handed.discard(task.id)
            self.execute(task)
            ran += 1
        if not ran:
            topics = {t: self.lock_seconds for t in self.handlers.topics()}
            if topics:
                claimed = self.tasks.fetch_and_lock(self.worker_id, topics, self.max_tasks)
                for task in claimed:
                    self.execute(task)
                ran += len(claimed)
        if not ran:  # jobs when no task was waiting: an idle pass costs two reads, not more
            ran = self.jobs.run_due(self.worker_id)
        return ran

    def execute(self, task: LockedTask, *, inline: bool = False) -> None:
        """Run the handler of ``task`` and report its outcome.

        ``inline``: already on a handler thread (``run``'s pool), so call the handler here and
        leave its time limit to the loop's watchdog.
        """
        spec = self._spec(task)
        if spec is None:
            return
        context = TaskContext(
            task_id=task.id, topic=task.topic, instance_id=task.instance_id,
            process_key=task.process_key, activity_id=task.activity_id,
            idempotency_key=task.idempotency_key, variables=dict(task.variables),
            properties=dict(task.properties), business_key=task.business_key,
            attempt=task.attempt, worker_id=self.worker_id,
            extend_lock=lambda seconds: self.tasks.extend_lock(task.id, self.worker_id, seconds))
        timeout = self._timeout(spec)
        try:
            if inline:
                result = spec.handler(context)
            else:
                future = self._pool.submit(spec.handler, context)
                try:
                    result = future.result(timeout=timeout)
                except FutureTimeout:
                    # The thread cannot be killed; a fresh pool keeps this worker going while
                    # the stuck handler finishes (or not) on its own. Its result is ignored.
                    self._pool.shutdown(wait=False)
                    self._pool = self._new_pool()
                    raise TimeoutError(
                        f"handler for {task.topic} timed out after {timeout:g}s") from None
            result = dict(result or {})
            jsonsafe.check(result, "result")  # a value no database can store fails the task
            outcome: Report = partial(self.tasks.complete, task.id, self.worker_id, result,
                                      held=task)
        except BpmnError as exc:
            outcome = partial(self.tasks.bpmn_error, task.id, self.worker_id, exc.error_code,
                              exc.message, exc.variables)
        except Exception as exc:  # any handler failure consumes a retry
            message = f"{type(exc).__name__}: {exc}"
            log.warning("task %s (%s) failed: %s", task.id, task.topic, message)
            outcome = partial(self.tasks.fail, task.id, self.worker_id, message,
                              "".join(traceback.format_exception(exc))[-20000:])
        if task.id in self._abandoned:  # timed out meanwhile: the watchdog reported it
            self._abandoned.discard(task.id)
            return
        self._report(task, outcome)

    def _spec(self, task: LockedTask) -> HandlerSpec | None:
        """The handler of ``task``'s topic; without one, the task is handed back (None)."""
        spec = self.handlers.get(task.topic)
        if spec is None:
            log.warning("no handler for topic %r: task %s handed back unrun", task.topic,
                        task.id)
            self._report(task, partial(self.tasks.hand_back, task.id, self.worker_id))
        return spec

    def _timeout(self, spec: HandlerSpec) -> float:
        return spec.timeout if spec.timeout is not None else self.handler_timeout

    def _report(self, task: LockedTask, outcome: Report) -> None:
        try:
            outcome()
        except (NotFoundError, ConflictError) as exc:
            # the task was cancelled or re-locked by another worker after our lock expired
            log.info("result of task %s dropped: %s", task.id, exc.message)
        except Exception:
            log.exception("reporting task %s failed", task.id)

    # ------------------------------------------------------------------ running

    def _reserve(self, count: int) -> int:
        """Room for ``count`` new tasks a transaction is about to lock for us: how many we take.
        Held until they are handed over (or released), so that a poll in between cannot fill
        the same room from the table."""
        with self._lock:
            taken = min(count, max(self._room_locked(), 0))
            self._reserved += taken
            return taken

    def _release(self, count: int) -> None:
        with self._lock:
            self._reserved -= count
        self._wake.set()

    def _handed_over(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:  # from reserved to queued at once: no poll sees the room as free
            self._reserved -= len(rows)
            self._handed.update(row["id"] for row in rows)
            for row in rows:
                self._inbox.put(locked_task(row))
        self._wake.set()

    def _room(self) -> int:
        with self._lock:
            return self._room_locked()

    def _room_locked(self) -> int:
        return self.concurrency * 2 - len(self._running) - self._inbox.qsize() - self._reserved

    def _dispatch(self, task: LockedTask) -> None:
        spec = self._spec(task)
        with self._lock:
            self._handed.discard(task.id)
            if spec is None:
                return
            timeout = self._timeout(spec)
            self._running[task.id] = (task, time.monotonic() + timeout, timeout)
        future = self._pool.submit(self.execute, task, inline=True)
        task_id = task.id
        future.add_done_callback(lambda _done: self._finished(task_id))

    def _finished(self, task_id: str) -> None:
        with self._lock:
            self._running.pop(task_id, None)
        self._wake.set()

    def _reap_timeouts(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [(task, timeout) for task, deadline, timeout in self._running.values()
                    if deadline < now]
            for task, _ in late:
                self._running.pop(task.id, None)
                self._abandoned.add(task.id)
        for task, timeout in late:
            self._report(task, partial(self.tasks.fail, task.id, self.worker_id,
                                       f"TimeoutError: handler for {task.topic} timed out after "
                                       f"{timeout:g}s", None))
        if late:  # the stuck threads stay busy: new work gets fresh ones
            self._pool.shutdown(wait=False)
            self._pool = self._new_pool()

    def _pass(self, poll_interval: float) -> int:
        """Dispatch what was handed over, claim more when there is room, run due jobs."""
        dispatched = 0
        while True:
            try:
                task = self._inbox.get_nowait()
            except queue.Empty:
                break
            self._dispatch(task)
            dispatched += 1
        room = self._room()
        topics = {t: self.lock_seconds for t in self.handlers.topics()}
        # this process's own new tasks are handed over; the table is polled, once per
        # interval, for what other processes created and for retries that fell due
        if room > 0 and topics and (self._overflow.is_set()
                                    or time.monotonic() - self._polled >= poll_interval):
            self._polled = time.monotonic()
            claimed = self.tasks.fetch_and_lock(self.worker_id, topics, room)
            if len(claimed) < room:  # the table has no more for us: back to handovers
                self._overflow.clear()
            for task in claimed:
                self._dispatch(task)
                dispatched += 1
        if self._jobs_due.is_set() or time.monotonic() - self._jobs_checked > poll_interval * 4:
            self._jobs_due.clear()
            self._jobs_checked = time.monotonic()
            dispatched += self.jobs.run_due(self.worker_id)
        self._reap_timeouts()
        return dispatched

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Work until ``stop`` is set, taking this process's new tasks as they are created."""
        claims = self.engine.services.claims
        claims.worker_id, claims.lock_seconds = self.worker_id, self.lock_seconds
        claims.topics = frozenset(self.handlers.topics())
        claims.reserve, claims.release = self._reserve, self._release
        claims.overflow = self._overflowed
        claims.deliver = self._handed_over
        self._jobs_due.set()
        self.engine.services.on_jobs_created.append(self._jobs_created)
        try:
            while not stop.is_set():
                try:
                    ran = self._pass(poll_interval)
                except Exception:
                    log.exception("worker loop error")
                    ran = 0
                if not ran:
                    self._wake.wait(poll_interval)
                    self._wake.clear()
        finally:
            if claims.deliver is self._handed_over:
                claims.deliver = None
            self.engine.services.on_jobs_created.remove(self._jobs_created)
            # tasks handed over but not run: their locks expire and any worker takes them

    def _overflowed(self) -> None:
        """Tasks of our topics were created while we were full: claim them once there is room."""
        self._overflow.set()
        self._wake.set()

    def _jobs_created(self) -> None:
        self._jobs_due.set()
        self._wake.set()

    def drain(self, grace: float) -> list[str]:
        """After ``run`` returned: give running handlers ``grace`` seconds, then release the
        tasks still running (their late results are dropped). Returns the released ids."""
        deadline = time.monotonic() + grace
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        released: list[str] = []
        for task_id in self.running:
            self._abandoned.add(task_id)
            try:
                self.tasks.unlock(task_id)
                released.append(task_id)
            except Exception:
                log.exception("could not release task %s", task_id)
        return released

    def close(self) -> None:
        self._pool.shutdown(wait=not self.running)


class TimerScheduler:
    """Fires due timers; safe to run in several processes at once (each timer fires once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        ticks = 0
        while not stop.is_set():
            try:
                fired = self.engine.fire_due_timers()
                ticks += 1
                if ticks % 3600 == 0:
                    self.engine.forget_idempotency_keys()
            except Exception:
                log.exception("timer scheduler error")
                fired = 0
            if not fired:
                stop.wait(poll_interval)
