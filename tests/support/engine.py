"""Fixtures' building blocks for engine tests: an engine over a test database with a
recording handler registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from engine import Engine, ExternalTaskService, HandlerRegistry, Worker


class Harness:
    """An engine, its task service, a worker, and a record of handler calls."""

    def __init__(self, db) -> None:
        self.db = db
        self.handlers = HandlerRegistry()
        self.engine = Engine(db, self.handlers)
        self.tasks = ExternalTaskService(self.engine)
        self.worker = Worker(self.engine, self.handlers, worker_id="test-worker")
        self.calls: Counter = Counter()

    def handle(self, topic: str, fn: Callable[[Any], Any] | None = None, **kwargs) -> None:
        def recorded(ctx):
            self.calls[topic] += 1
            return fn(ctx) if fn else None

        self.handlers.register(topic, recorded, replace=True, **kwargs)

    def deploy(self, name: str, data: bytes):
        return self.engine.deploy([(name, data)])

    def drain(self, limit: int = 1000) -> int:
        """Run the worker until no due task remains; return how many tasks ran."""
        ran = 0
        while ran < limit and self.worker.run_once():
            ran += 1
        return ran

    def status(self, instance_id: str) -> str:
        return self.engine.get_instance(instance_id).status
