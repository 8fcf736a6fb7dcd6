"""Cockpit page budget: server time of the dashboard and of an instance page with 10,000
instances in the database (target < 300 ms each), against the same pages over a database
holding only the one real instance (the baseline, measured in the same run).

The real instance is the sample model's deploy process run by the engine's own worker up to
its review ticket (metrics job, DMN, ticket): its serialized state, variables and history
are what the copies carry. The 10,000 copies are inserted in bulk with their history rows
(every copy ~the real instance's 80 entries), wait-state rows and, for the instances in
incident, an open incident; they are spread over the last two days and over the statuses
(60% completed, 30% waiting, 5% incident, 5% terminated). Server time is the Flask test
client's request time (no network), median of 15 after 3 warm-ups.

``BENCH_COCKPIT_INSTANCES`` (default 10,000) changes the count; PostgreSQL is measured too
when ``MLC_BENCH_POSTGRES_URL`` or ``MLC_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from engine import Worker, clock
from engine.persistence import (
    EventSubscription,
    HistoryEvent,
    Incident,
    InstanceVariable,
    ProcessInstance,
)

from .bench_engine import POSTGRES_URL, _databases

COUNT = int(os.environ.get("BENCH_COCKPIT_INSTANCES", "10000"))
BUDGET_MS = 300.0
ROUNDS, WARMUP = 15, 3
STATUSES = ["completed"] * 12 + ["waiting"] * 6 + ["incident", "terminated"]


def _world(db) -> tuple[Any, str]:
    """A wired app over ``db`` with the sample model's deploy instance waiting on review."""
    from mlc.sample import deploy_shipped, install_sample
    from mlc.settings import Settings
    from mlc.wiring import build_application
    from web import create_app

    data_root = Path(tempfile.mkdtemp(prefix="bench-cockpit-data-"))
    url = db.engine.url.render_as_string(hide_password=False)
    application = build_application(Settings(database_url=url, data_roots=[str(data_root)]),
                                    migrate=False)
    db.create_all()
    deploy_shipped(application.engine)
    install_sample(application.services.registry, data_root)
    worker = Worker(application.engine, application.handlers, worker_id="bench")
    for _ in range(50):
        if not worker.run_once():
            break
    [instance] = application.engine.list_instances(key="deploy_with_test_and_jira")
    assert instance.active_activities == ["Event_review_resolved"], instance
    app = create_app(application)
    return app, instance.id


def _copy(db, template_id: str, count: int) -> None:
    """``count`` copies of the template instance with their history, in bulk."""
    with db.session() as s:
        row = s.get(ProcessInstance, template_id)
        history = s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == template_id)
                            .order_by(HistoryEvent.id)).all()
        sub = s.scalars(select(EventSubscription).where(
            EventSubscription.instance_id == template_id)).first()
        template = {c: getattr(row, c) for c in ("definition_id", "definition_key", "state",
                                                 "variables", "active_activities")}
        events = [(h.kind, h.activity_id, h.name, h.data) for h in history]
    now = clock.now()
    instances, rows, subs, incidents, variables = [], [], [], [], []

    def flush() -> None:
        with db.write_session() as s:
            for table, batch in ((ProcessInstance, instances), (HistoryEvent, rows),
                                 (EventSubscription, subs), (Incident, incidents),
                                 (InstanceVariable, variables)):
                if batch:
                    s.execute(insert(table), batch)
                    batch.clear()

    for i in range(count):
        iid = str(uuid.uuid4())
        status = STATUSES[i % len(STATUSES)]
        started = now - timedelta(minutes=(i * 2880) // count)
        ended = started + timedelta(minutes=3) if status in ("completed", "terminated") else None
        instances.append(dict(template, id=iid, business_key=f"bk-{i}", status=status,
                              version=1, created_at=started, updated_at=started, ended_at=ended,
                              active_activities=[] if ended else template["active_activities"]))
        rows.extend(dict(instance_id=iid, at=started, kind=k, activity_id=a, name=n, data=d)
                    for k, a, n, d in events)
        if status in ("waiting", "incident"):
            subs.append(dict(id=str(uuid.uuid4()), kind="message", name=sub.name,
                             instance_id=iid, task_id=sub.task_id, activity_id=sub.activity_id,
                             business_key=f"bk-{i}", config={}, created_at=started))
            variables.append(dict(instance_id=iid, name="TICKET_KEY", value=f"MLC-{i + 2}"))
        if status == "incident":
            incidents.append(dict(id=str(uuid.uuid4()), instance_id=iid,
                                  activity_id="Task_ticket_review", kind="failedExternalTask",
                                  message="Jira unreachable", status="open", created_at=started))
        if len(instances) == 500:
            flush()
    flush()
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def _server_ms(client, path: str) -> float:
    for _ in range(WARMUP):
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, path
    return statistics.median(times)


PAGES = (("dashboard", "/"), ("instance page", "/instances/{id}"),
         ("instances list", "/instances"), ("process page", "/processes/deploy_with_test_and_jira"),
         ("heat map (on demand)", "/definitions/{definition}/heat.json"))


def _measure(label: str, factory) -> list[dict[str, Any]]:
    db, cleanup = factory("cockpit")
    try:
        app, template = _world(db)
        client = app.test_client()
        definition = app.extensions["mlc_application"].engine.get_instance(template).definition_id
        paths = {name: path.format(id=template, definition=definition) for name, path in PAGES}
        baseline = {name: _server_ms(client, path) for name, path in paths.items()}
        started = time.perf_counter()
        _copy(db, template, COUNT)
        print(f"  {label}: {COUNT} instances with history inserted in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        loaded = {name: _server_ms(client, path) for name, path in paths.items()}
        app.extensions["mlc_application"].close()
        for name in paths:
            print(f"  {label:<24} {name:<22} {baseline[name]:7.1f} ms -> "
                  f"{loaded[name]:7.1f} ms", flush=True)
        return [{"backend": label, "page": name, "baseline": baseline[name],
                 "loaded": loaded[name]} for name in paths]
    finally:
        cleanup()


def run() -> str:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for label, _dialect, factory in _databases(Path(folder)):
            rows.extend(_measure(label, factory))
    lines = [
        "## Cockpit page budget (`bench_cockpit`)",
        "",
        f"Server time (Flask test client, median of {ROUNDS}) of cockpit pages with "
        f"{COUNT:,} instances of the deploy process in the database (each with the ~80 history "
        "entries of a real run; 60% completed, 30% waiting, 5% in incident, 5% terminated), "
        "against the same pages with only the one real instance. Target: dashboard and "
        f"instance page < {BUDGET_MS:.0f} ms.",
        "",
        f"| back end | page | 1 instance (ms) | {COUNT:,} instances (ms) | ratio | budget |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        budgeted = r["page"] in ("dashboard", "instance page")
        verdict = ("meets" if r["loaded"] < BUDGET_MS else "**misses**") if budgeted else "-"
        lines.append(f"| {r['backend']} | {r['page']} | {r['baseline']:.1f} | "
                     f"{r['loaded']:.1f} | {r['loaded'] / r['baseline']:.2f} | {verdict} |")
    if not POSTGRES_URL:
        lines.append("\nPostgreSQL not measured (set MLC_BENCH_POSTGRES_URL).")
    return "\n".join(lines) + "\n"
