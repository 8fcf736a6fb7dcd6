"""Workers: claim external tasks whose topic has an in-process handler, run the handler
outside any transaction with a time limit, and report the outcome. Also the timer scheduler
loop. ``mlc worker`` and ``mlc serve`` run these."""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from . import jsonsafe
from .errors import BpmnError, ConflictError, NotFoundError
from .external_tasks import ExternalTaskService, LockedTask
from .handlers import HandlerRegistry, TaskContext
from .runtime import Engine

log = logging.getLogger("mlc.worker")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Worker:
    """Runs in-process handlers for the topics in ``handlers``.

    Args:
        engine: the engine whose database holds the tasks.
        handlers: topic -> handler; only these topics are fetched.
        worker_id: the lock owner name (unique per worker).
        lock_seconds: how long a claim lasts before another worker may take the task.
        handler_timeout: default time limit of a handler (a handler's own ``timeout`` wins).
    """

    def __init__(self, engine: Engine, handlers: HandlerRegistry | None = None, *,
                 worker_id: str | None = None, lock_seconds: float = 300.0,
                 handler_timeout: float = 3600.0, max_tasks: int = 1) -> None:
        self.engine = engine
        self.tasks = ExternalTaskService(engine)
        self.handlers = handlers or engine.handlers
        self.worker_id = worker_id or default_worker_id()
        self.lock_seconds = lock_seconds
        self.handler_timeout = handler_timeout
        self.max_tasks = max_tasks
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlc-handler")

    def run_once(self) -> int:
        """Claim and run up to ``max_tasks`` tasks; return how many were run."""
        topics = {t: self.lock_seconds for t in self.handlers.topics()}
        if not topics:
            return 0
        claimed = self.tasks.fetch_and_lock(self.worker_id, topics, self.max_tasks)
        for task in claimed:
            self.execute(task)
        return len(claimed)

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
            result = dict(result or {})
            jsonsafe.check(result, "result")  # a value no database can store fails the task
            self._report(self.tasks.complete, task, result)
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

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker loop error")
                ran = 0
            if not ran:
                stop.wait(poll_interval)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class TimerScheduler:
    """Fires due timers; safe to run in several processes at once (each timer fires once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                fired = self.engine.fire_due_timers()
            except Exception:
                log.exception("timer scheduler error")
                fired = 0
            if not fired:
                stop.wait(poll_interval)
