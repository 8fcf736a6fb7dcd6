"""In-process topics for the cluster test, loaded by the real ``mlc serve`` / ``mlc worker``
through ``MLC_HANDLER_MODULES=tests.cluster.handlers``.

Every run of a handler appends one JSON line to the file named by ``CLUSTER_HANDLER_LOG``
before it does its (short, random) work: one ``write`` on an ``O_APPEND`` descriptor, so
lines from several processes never interleave and a line written survives a SIGKILL of its
process. The test reads the file to count how often each task ran, and where.
"""

from __future__ import annotations

import json
import os
import random
import time

from engine import HandlerRegistry

TOPICS = ("cluster.a", "cluster.b")
_log_fd: int | None = None


def register_handlers(handlers: HandlerRegistry) -> None:
    for topic in TOPICS:
        handlers.register(topic, run)


def run(ctx) -> dict:
    _record({"task": ctx.task_id, "key": ctx.idempotency_key, "topic": ctx.topic,
             "instance": ctx.instance_id, "attempt": ctx.attempt, "node": ctx.worker_id,
             "pid": os.getpid()})
    time.sleep(random.uniform(0.02, 0.12))  # long enough that a kill finds handlers running
    return {ctx.topic.replace(".", "_") + "_by": ctx.worker_id}


def _record(entry: dict) -> None:
    global _log_fd
    path = os.environ.get("CLUSTER_HANDLER_LOG")
    if not path:
        return
    if _log_fd is None:
        _log_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_log_fd, (json.dumps(entry) + "\n").encode())
