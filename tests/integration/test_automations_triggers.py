"""Registering automations, cron / interval schedules on the engine's timers (controllable
clock, several schedulers, downtime), metric triggers crossing and re-arming, and the
read-only metric SQL runner, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from connectors.automations import (
    Automation,
    AutomationConflict,
    BuildAndDeploy,
    BuildSpecifications,
    MetricBasedTrigger,
    MetricQueryError,
    MetricQueryRunner,
    ScheduledTrigger,
    SqlMetric,
    ThresholdDirection,
)
from connectors.registry import tables as registry_tables
from engine import Engine, HandlerRegistry, clock
from tests.support.automations import automation_application

DRIFT_SQL = ("SELECT max(value) FROM analytics_job_metrics "
             "WHERE metric = 'drift' AND model_id = 'm-1'")


@pytest.fixture
def application(database, tmp_path):
    clock.reset()
    yield automation_application(database, tmp_path)
    clock.reset()


def action() -> BuildAndDeploy:
    return BuildAndDeploy(build_spec=BuildSpecifications(git_uri="file:///nowhere/repo.git#m"))


def scheduled(name="nightly", model="m-1", **trigger) -> Automation:
    return Automation(name=name, model_id=model,
                      trigger=ScheduledTrigger(**(trigger or {"cron": "0 * * * *"})),
                      action=action())


def metric(name="on-drift", threshold="0.5", direction=ThresholdDirection.ABOVE,
           sql=DRIFT_SQL) -> Automation:
    return Automation(name=name, model_id="m-1", action=action(),
                      trigger=MetricBasedTrigger(name="drift", metric=SqlMetric(sql),
                                                 direction=direction, threshold=threshold,
                                                 poll_seconds=60))


def runs(application, name: str) -> int:
    key = application.automations.get(name)["process_key"]
    return len(application.engine.list_instances(key=key, limit=1000))


def to_just_before(due_iso: str) -> None:
    due = datetime.fromisoformat(due_iso)
    clock.advance(due - clock.now() - timedelta(seconds=1))


# -------------------------------------------------------------------------- registration

def test_register_is_idempotent_and_reports_updates(application):
    assert application.automations.register(scheduled()).action == "created"
    assert application.automations.register(scheduled()).action == "unchanged"
    first_due = application.automations.get("nightly")["next_due_at"]
    assert application.automations.register(scheduled(cron="30 2 * * *")).action == "updated"
    shown = application.automations.get("nightly")
    assert shown["cron"] == "30 2 * * *" and shown["next_due_at"] != first_due
    assert datetime.fromisoformat(shown["next_due_at"]).strftime("%H:%M") == "02:30"
    assert [a["name"] for a in application.automations.list()] == ["nightly"]


def test_names_are_unique_across_models(application):
    application.automations.register(scheduled(model="m-1"))
    with pytest.raises(AutomationConflict, match="already used by model 'm-1'"):
        application.automations.register(scheduled(model="m-2"))


def test_pause_drops_the_schedule_and_resume_restores_it(application):
    application.automations.register(scheduled())
    assert application.automations.pause("nightly")["next_due_at"] is None
    clock.advance(timedelta(hours=3))
    assert application.engine.fire_due_timers() == 0
    resumed = application.automations.resume("nightly")
    assert resumed["status"] == "active" and resumed["next_due_at"] is not None
    assert application.automations.register(scheduled()).action == "unchanged"   # status survives
    assert application.automations.get("nightly")["status"] == "active"


def test_delete_stops_the_schedule_and_keeps_history(application):
    application.automations.register(scheduled())
    instance = application.automations.run_now("nightly")
    application.automations.delete("nightly")
    clock.advance(timedelta(hours=2))
    assert application.engine.fire_due_timers() == 0
    assert application.engine.history(instance.id)


# -------------------------------------------------------------------------- schedules

def test_cron_schedule_fires_once_per_due_time(application):
    application.automations.register(scheduled(cron="0 * * * *"))
    due = application.automations.get("nightly")["next_due_at"]
    to_just_before(due)
    assert application.engine.fire_due_timers() == 0 and runs(application, "nightly") == 0
    clock.advance(timedelta(seconds=2))
    assert application.engine.fire_due_timers() == 1
    assert application.engine.fire_due_timers() == 0
    assert runs(application, "nightly") == 1
    clock.advance(timedelta(hours=1))
    application.engine.fire_due_timers()
    assert runs(application, "nightly") == 2
    [newest, _] = application.engine.list_instances(key=application.automations.get("nightly")["process_key"])
    assert newest.active_activities == ["Task_Prepare"]   # the run is under way


def test_interval_daily_fires_at_midnight_utc(application):
    application.automations.register(scheduled(name="daily", interval="Daily"))
    due = datetime.fromisoformat(application.automations.get("daily")["next_due_at"])
    assert (due.hour, due.minute) == (0, 0) and due.tzinfo is not None
    to_just_before(due.isoformat())
    assert application.engine.fire_due_timers() == 0
    clock.advance(timedelta(seconds=2))
    assert application.engine.fire_due_timers() == 1
    clock.advance(timedelta(hours=23))
    assert application.engine.fire_due_timers() == 0
    assert runs(application, "daily") == 1


def test_downtime_fires_once_and_several_schedulers_fire_once(application, database):
    application.automations.register(scheduled(cron="*/5 * * * *"))
    clock.advance(timedelta(hours=2))          # down for two hours: 24 due times missed
    engines = [Engine(database, HandlerRegistry()) for _ in range(4)]   # a restart, x4
    barrier = threading.Barrier(len(engines))
    fired: list[int] = []

    def scheduler(engine: Engine) -> None:
        barrier.wait()
        fired.append(engine.fire_due_timers())

    threads = [threading.Thread(target=scheduler, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(fired) == 1 and runs(application, "nightly") == 1
    next_due = datetime.fromisoformat(application.automations.get("nightly")["next_due_at"])
    assert clock.now() < next_due <= clock.now() + timedelta(minutes=5)


def test_run_now_starts_a_manual_run(application):
    application.automations.register(scheduled())
    instance = application.automations.run_now("nightly")
    assert instance.variables["TRIGGER"] == "manual"
    assert instance.active_activities == ["Task_Prepare"]


# -------------------------------------------------------------------------- metric triggers

def set_drift(db, value: float | None) -> None:
    jobs = registry_tables.JobRow
    with db.write_session() as s:
        row = s.get(jobs, "job-drift")
        if row is None:
            s.add(jobs(id="job-drift", job_type="metrics", model_id="m-1", state="succeeded",
                       inputs={}, outputs={}, metrics={} if value is None else {"drift": value,
                                                                                "label": "x"},
                       log_tail=""))
        else:
            s.execute(update(jobs).where(jobs.id == "job-drift").values(
                metrics={} if value is None else {"drift": value}))


def poll(application):
    clock.advance(timedelta(seconds=61))
    return [r for r in application.poller.poll_once() if r["name"] == "on-drift"]


def test_metric_trigger_fires_on_crossing_and_rearms(application, database):
    application.automations.register(metric())
    set_drift(database, None)
    [r] = poll(application)
    assert r["value"] is None and not r["fired"]
    set_drift(database, 0.3)
    assert not poll(application)[0]["fired"]
    set_drift(database, 0.8)
    [r] = poll(application)
    assert r["fired"] and r["crossed"] and r["value"] == 0.8
    run = application.engine.get_instance(r["instance_id"])
    assert run.variables["TRIGGER"] == "metric" and run.variables["TRIGGER_VALUE"] == 0.8
    assert not poll(application)[0]["fired"]                       # still above: no second run
    set_drift(database, 0.2)
    [r] = poll(application)
    assert r["crossed"] is False and application.automations.get("on-drift")["metric_state"]["armed"]
    set_drift(database, 0.9)
    assert poll(application)[0]["fired"]                           # crossed again: a second run
    assert runs(application, "on-drift") == 2


def test_metric_trigger_below_and_sql_threshold(application, database):
    application.automations.register(metric(
        direction=ThresholdDirection.BELOW,
        threshold="SELECT 0.5 * max(value) FROM analytics_job_metrics WHERE metric = 'drift'"))
    set_drift(database, 0.4)        # threshold 0.2: not below
    assert not poll(application)[0]["fired"]
    application.automations.register(metric(
        direction=ThresholdDirection.BELOW,
        threshold="SELECT 2 * max(value) FROM analytics_job_metrics WHERE metric = 'drift'"))
    [r] = poll(application)
    assert r["threshold"] == 0.8 and r["fired"]


def test_poll_is_claimed_once_per_interval_and_fires_once_across_pollers(application, database):
    from connectors.automations import MetricTriggerPoller

    application.automations.register(metric())
    set_drift(database, 0.9)
    clock.advance(timedelta(seconds=61))
    pollers = [MetricTriggerPoller(application.automations) for _ in range(4)]
    barrier = threading.Barrier(len(pollers))
    results: list = []

    def go(p):
        barrier.wait()
        results.extend(p.poll_once())

    threads = [threading.Thread(target=go, args=(p,)) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for r in results if r["fired"]) == 1 and runs(application, "on-drift") == 1
    assert application.poller.poll_once() == []                    # evaluated already this interval


def test_paused_metric_trigger_is_not_polled(application, database):
    application.automations.register(metric())
    set_drift(database, 0.9)
    application.automations.pause("on-drift")
    assert poll(application) == []
    application.automations.resume("on-drift")
    assert poll(application)[0]["fired"]


# -------------------------------------------------------------------------- metric SQL

def test_metric_sql_reads_views_only_read_only_with_time_limit(application, database):
    set_drift(database, 0.7)
    runner = MetricQueryRunner(database, timeout_seconds=0.5)
    assert runner.value("SELECT count(*) FROM analytics_job_metrics") == 1.0
    assert runner.value("WITH d AS (SELECT value FROM analytics_job_metrics) "
                        "SELECT max(value) FROM d") == 0.7
    assert runner.value("SELECT value FROM analytics_build_metrics") is None
    with database.write_session() as s:
        s.add(registry_tables.JobRow(
            id="job-score", job_type="scoring", model_id="m-1", state="succeeded", inputs={},
            outputs={"rows": 1200, "files_total": 3, "files_done": 3, "destination": "/out"},
            metrics={}, log_tail=""))
    assert runner.value("SELECT sum(rows) FROM analytics_scoring_outputs "
                        "WHERE model_id = 'm-1' AND files_done = files_total") == 1200.0
    with pytest.raises(MetricQueryError, match="not an analytics view"):
        runner.value("SELECT count(*) FROM automations")
    # the database refuses even what the parser let through
    sneaky = "SELECT count(*) FROM automations"
    guarded = runner._sqlite if database.dialect == "sqlite" else runner._postgres
    with pytest.raises(MetricQueryError, match="not authorized|prohibited|permission denied"):
        guarded(sneaky, "q")
    with pytest.raises(MetricQueryError, match="read-only|readonly|not authorized|prohibited"):
        guarded("CREATE TABLE stolen (x integer)", "q")
    with pytest.raises(MetricQueryError, match="multiple commands|one statement at a time"):
        guarded("SELECT 1; COMMIT; CREATE TABLE stolen (x integer)", "q")
    with database.session() as s:
        assert "stolen" not in s.connection().dialect.get_table_names(s.connection())
    if database.dialect == "postgresql":
        with pytest.raises(MetricQueryError, match="permission denied"):
            guarded("SELECT pg_read_file('/etc/hostname')", "q")
    with pytest.raises(MetricQueryError, match="time limit|statement timeout|cancel"):
        runner.value("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                     "SELECT max(x) FROM c")
    assert runner.value("SELECT 1") == 1.0     # the connection is usable afterwards
