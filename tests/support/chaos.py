"""Load and bookkeeping for the chaos tests: clients that start instances and remember which
starts the server acknowledged, and the checks that nothing was lost or done twice."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import text

from engine.db import Database
from tests.support.bpmn import bpmn, chain, external

RETRIES = ('<camunda:failedJobRetryTimeCycle>R20/PT1S</camunda:failedJobRetryTimeCycle>')


def _notify(tid: str) -> str:
    return external(tid, "notify.send", extra=(
        '<bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="channel" value="feed"/>'
        f'<camunda:property name="message" value="chaos {tid}"/></camunda:properties>'
        f'{RETRIES}</bpmn:extensionElements>'))


# Two in-process tasks (notifications to the local feed, recorded once per task) between a
# start and an end: enough for a kill to land between claim, handler and completion.
CHAOS_PROCESS = bpmn("chaos", '<bpmn:startEvent id="s"/>', _notify("n1"), _notify("n2"),
                     '<bpmn:endEvent id="e"/>', chain("s", "n1", "n2", "e"))
TASKS_PER_INSTANCE = 2


def deploy(base: str, name: str, data: bytes) -> None:
    r = requests.post(base + "/api/deployments", files={"file": (name, data)}, timeout=60)
    assert r.status_code in (200, 201), r.text


class Load:
    """``clients`` threads starting ``chaos`` instances round robin over ``bases`` until
    stopped, each with a unique business key.

    ``acked``: keys the server answered 2xx for (committed: they must exist exactly once).
    ``unknown``: keys whose answer never came or was a 5xx (may exist, at most once).
    ``refused``: 4xx answers (none expected), with their bodies.
    """

    def __init__(self, bases: list[str], clients: int = 4, pause: float = 0.02,
                 prefix: str = "k") -> None:
        self.bases = bases
        self.acked: set[str] = set()
        self.unknown: set[str] = set()
        self.refused: list[str] = []
        self.statuses: Counter = Counter()
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pause = pause
        self._prefix = prefix
        self._threads = [threading.Thread(target=self._client, daemon=True)
                         for _ in range(clients)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def _client(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            with self._lock:
                n = next(self._numbers)
            key, base = f"{self._prefix}-{n}", self.bases[n % len(self.bases)]
            try:
                r = session.post(f"{base}/api/process-definitions/chaos/start",
                                 json={"business_key": key}, timeout=15)
                status = r.status_code
            except requests.RequestException:
                status = 0
                session = requests.Session()
            with self._lock:
                self.statuses[status] += 1
                if 200 <= status < 300:
                    self.acked.add(key)
                elif status == 0 or status >= 500:
                    self.unknown.add(key)
                else:
                    self.refused.append(f"{status}: {r.text[:200]}")
            self._stop.wait(self._pause)


def counts_by_key(url: str) -> Counter:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT business_key, count(*) FROM mlc_process_instances "
                                     "WHERE definition_key = 'chaos' GROUP BY business_key"))
            return Counter({key: n for key, n in rows})
    finally:
        db.dispose()


def wait_until_all_ended(url: str, seconds: float = 180) -> dict[str, int]:
    """Wait until no chaos instance is running or waiting; the count by status."""
    db = Database(url)
    try:
        deadline = time.monotonic() + seconds
        while True:
            with db.engine.connect() as conn:
                by_status = dict(conn.execute(text(
                    "SELECT status, count(*) FROM mlc_process_instances "
                    "WHERE definition_key = 'chaos' GROUP BY status")).all())
            if not set(by_status) & {"running", "waiting"} or time.monotonic() > deadline:
                return by_status
            time.sleep(1)
    finally:
        db.dispose()


def assert_nothing_lost_or_doubled(url: str, load: Load) -> None:
    """Every acknowledged start exists once, nothing exists twice, every instance completed
    and each of its tasks ran and completed exactly once."""
    assert load.acked, "the load never got an acknowledged start"
    assert load.refused == []
    by_key = counts_by_key(url)
    lost = sorted(k for k in load.acked if by_key.get(k, 0) == 0)
    doubled = sorted(k for k, n in by_key.items() if n > 1)
    strangers = sorted(set(by_key) - load.acked - load.unknown)
    assert (lost, doubled, strangers) == ([], [], [])
    by_status = wait_until_all_ended(url)
    assert by_status == {"completed": sum(by_key.values())}, by_status
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            notes = conn.execute(text(
                "SELECT instance_id, count(*) FROM notifications GROUP BY instance_id")).all()
            completions = conn.execute(text(
                "SELECT h.instance_id, count(*) FROM mlc_history h "
                "JOIN mlc_process_instances i ON i.id = h.instance_id "
                "WHERE h.kind = 'external_task.completed' AND i.definition_key = 'chaos' "
                "GROUP BY h.instance_id")).all()
    finally:
        db.dispose()
    instances = sum(by_key.values())
    assert len(notes) == instances and {n for _, n in notes} == {TASKS_PER_INSTANCE}
    assert len(completions) == instances
    assert {n for _, n in completions} == {TASKS_PER_INSTANCE}


def server_log_tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
