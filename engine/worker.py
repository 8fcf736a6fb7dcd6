"""Workers: run external tasks whose topic has an in-process handler (outside any
transaction, with a time limit) and asynchronous-continuation jobs; and the timer scheduler.
``mlc worker`` and ``mlc serve`` run these.

A running :class:`Worker` (``run``) also registers its topics with the engine, so tasks of
those topics are written already locked by it, in the transaction that creates them, and
handed straight to it after the commit: no claim round trip. ``run_once`` (tests, one-off
draining) claims from the table as any external worker does.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from .errors import BpmnError, ConflictError, NotFoundError
from .external_tasks import ExternalTaskService, LockedTask, locked_task
from .facade import Engine
from .handlers import HandlerRegistry, TaskContext
from .jobs import JobExecutor

log = logging.getLogger("mlc.worker")


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
        max_tasks: tasks claimed per poll.
    """

    def __init__(self, engine: Engine, handlers: HandlerRegistry | None = None, *,
                 worker_id: str | None = None, lock_seconds: float = 300.0,
                 handler_timeout: float = 3600.0, max_tasks: int = 1) -> None:
        self.engine = engine
        self.tasks = ExternalTaskService(engine)
        self.jobs = JobExecutor(engine)
        self.handlers = handlers or engine.handlers
        self.worker_id = worker_id or default_worker_id()
        self.lock_seconds = lock_seconds
        self.handler_timeout = handler_timeout
        self.max_tasks = max_tasks
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlc-handler")
        self._inbox: queue.SimpleQueue[LockedTask] = queue.SimpleQueue()
        self._wake = threading.Event()

    def run_once(self) -> int:
        """Run what is handed over, else claim up to ``max_tasks`` tasks; also due jobs.
        Return how many tasks and jobs ran."""
        ran = 0
        while True:
            try:
                task = self._inbox.get_nowait()
            except queue.Empty:
                break
            self.execute(task)
            ran += 1
        if not ran:
            topics = {t: self.lock_seconds for t in self.handlers.topics()}
            if topics:
                claimed = self.tasks.fetch_and_lock(self.worker_id, topics, self.max_tasks)
                for task in claimed:
                    self.execute(task)
                ran += len(claimed)
        return ran + self.jobs.run_due(self.worker_id)

    def execute(self, task: LockedTask) -> None:
        spec = self.handlers.get(task.topic)
        context = TaskContext(
            task_id=task.id, topic=task.topic, instance_id=task.instance_id,
            process_key=task.process_key, activity_id=task.activity_id,
            idempotency_key=task.idempotency_key, variables=dict(task.variables),
            properties=dict(task.properties), business_key=task.business_key,
            attempt=task.attempt, worker_id=self.worker_id,
            extend_lock=lambda seconds: self.tasks.extend_lock(task.id, self.worker_id, seconds))
        timeout = spec.timeout if spec.timeout is not None else self.handler_timeout
        try:
            future = self._pool.submit(spec.handler, context)
            try:
                result = future.result(timeout=timeout)
            except FutureTimeout:
                # The thread cannot be killed; a fresh pool keeps this worker going while the
                # stuck handler finishes (or not) on its own. Its result is then ignored.
                self._pool.shutdown(wait=False)
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlc-handler")
                raise TimeoutError(f"handler for {task.topic} timed out after {timeout:g}s")
            self._report(self.tasks.complete, task, dict(result or {}))
        except BpmnError as exc:
            self._report(self.tasks.bpmn_error, task, exc.error_code, exc.message, exc.variables)
        except Exception as exc:  # any handler failure consumes a retry
            message = f"{type(exc).__name__}: {exc}"
            log.warning("task %s (%s) failed: %s", task.id, task.topic, message)
            self._report(self.tasks.fail, task, message,
                         "".join(traceback.format_exception(exc))[-20000:])

    def _report(self, method, task: LockedTask, *args) -> None:
        try:
            method(task.id, self.worker_id, *args)
        except (NotFoundError, ConflictError) as exc:
            # the task was cancelled or re-locked by another worker after our lock expired
            log.info("result of task %s dropped: %s", task.id, exc.message)
        except Exception:
            log.exception("reporting task %s failed", task.id)

    def _handed_over(self, rows: list[dict]) -> None:
        for row in rows:
            self._inbox.put(locked_task(row))
        self._wake.set()

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Work until ``stop`` is set, taking this process's new tasks as they are created."""
        claims = self.engine.services.claims
        claims.worker_id, claims.lock_seconds = self.worker_id, self.lock_seconds
        claims.topics = frozenset(self.handlers.topics())
        claims.capacity = lambda: 64 - self._inbox.qsize()
        claims.deliver = self._handed_over
        try:
            while not stop.is_set():
                try:
                    ran = self.run_once()
                except Exception:
                    log.exception("worker loop error")
                    ran = 0
                if not ran:
                    self._wake.wait(poll_interval)
                    self._wake.clear()
        finally:
            if claims.deliver is self._handed_over:
                claims.deliver = None
            # tasks handed over but not run: their locks expire and any worker takes them

    def close(self) -> None:
        self._pool.shutdown(wait=True)


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
