"""A whole MLC (real connectors, real jobs, local tickets) over a test database, driven by one
in-process worker: what the process-level tests need to walk every path of the shipped BPMN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import connectors.notifications  # noqa: F401 - registers the tables create_all makes
import connectors.registry  # noqa: F401
import connectors.tickets  # noqa: F401
from engine import InstanceRecord, Worker, clock
from mlc.sample import create_sample_snapshot, deploy_shipped, install_sample
from mlc.settings import Settings
from mlc.wiring import build_application


class Mlc:
    """The application plus shortcuts: run the worker, read instances and tickets, decide."""

    def __init__(self, application, data_root: Path) -> None:
        self.application = application
        self.engine = application.engine
        self.data_root = data_root
        self.registry = application.services.registry
        self.tickets = application.services.tickets
        self.feed = application.services.notifications
        self.jobs = application.services.jobs
        self.worker = Worker(self.engine, application.handlers, worker_id="process-test")
        self.sample = None

    def drain(self, limit: int = 200) -> int:
        ran = 0
        while ran < limit and self.worker.run_once():
            ran += 1
        return ran

    def install(self, **kwargs):
        self.sample = install_sample(self.registry, self.data_root, snapshot=False)
        return self.sample

    def snapshot(self, **kwargs):
        """A new sample snapshot: the signal starts the deploy process; returns its instance."""
        paths = {"train": Path(self.sample.train_file), "test": Path(self.sample.test_file)}
        snap = create_sample_snapshot(self.registry, self.sample.model_id, paths, **kwargs)
        self.drain()
        return snap, self.instance_of("deploy_with_test_and_jira", snap.id)

    def instance_of(self, key: str, snapshot_id: str | None = None) -> InstanceRecord:
        found = [i for i in self.engine.list_instances(key=key)
                 if snapshot_id is None or i.variables.get("SNAPSHOT_ID") == snapshot_id]
        assert found, f"no {key} instance for {snapshot_id}"
        return self.engine.get_instance(found[0].id)

    def refresh(self, instance: InstanceRecord) -> InstanceRecord:
        return self.engine.get_instance(instance.id)

    def ticket(self, key: str):
        return self.tickets.local.get(key)

    def decide(self, key: str, status: str, fields: dict[str, Any] | None = None):
        _ticket, resolution = self.tickets.local.transition_and_resolve(key, status, fields)
        assert resolution is not None and resolution.outcome == "resolved", resolution
        self.drain()

    def signal(self, name: str, variables: dict[str, Any]) -> list[InstanceRecord]:
        started = self.engine.signal(name, variables).started
        self.drain()
        return [self.engine.get_instance(i) for i in started]

    def completed_activities(self, instance: InstanceRecord) -> list[str]:
        return [h.activity_id for h in self.engine.history(instance.id)
                if h.kind == "activity.completed" and h.activity_id]


@pytest.fixture
def mlc(database, tmp_path):
    clock.reset()
    data_root = tmp_path / "data"
    data_root.mkdir()
    settings = Settings(database_url=database.test_url, data_roots=[str(data_root)])
    application = build_application(settings, migrate=False)
    deploy_shipped(application.engine)
    world = Mlc(application, data_root)
    world.install()
    yield world
    application.close()
    clock.reset()
