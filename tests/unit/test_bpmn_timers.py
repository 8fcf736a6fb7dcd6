"""Timer values (engine.bpmn.timers, engine.deployments' start-timer schedule) on the engine
clock: ISO durations, dates, repeating cycles and cron, moved forward with clock.advance."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from engine import ExpressionError, clock
from engine.bpmn.timers import (ClockCycle, ClockDuration, ClockTimeDate, cron_iterator, is_cron,
                                next_due, parse_cycle, parse_date, validate_timer_value)
from engine.bpmn.workflow import ExpressionEngine
from engine.deployments import first_due, next_cycle_due
from engine.expressions import compile_template

UTC = timezone.utc


@pytest.fixture(autouse=True)
def fresh_clock():
    clock.reset()
    yield
    clock.reset()


class TimerTask:
    """What a timer definition reads of its task: internal data, data, the script engine."""

    def __init__(self, **data):
        self.data = data
        self.internal_data: dict = {}
        self.task_spec = SimpleNamespace(bpmn_id="timer")
        self.workflow = SimpleNamespace(script_engine=ExpressionEngine(compile_template))

    def _get_internal_data(self, name, default=None):
        return self.internal_data.get(name, default)

    def _set_internal_data(self, **values):
        self.internal_data.update(values)


def near(a: datetime, b: datetime) -> bool:
    return abs(a - b) < timedelta(seconds=2)


# ------------------------------------------------------------------ values


@pytest.mark.parametrize("text, cron", [("0 9 * * *", True), ("0 0 9 * * ?", True),
                                        ("0 0 9 ? * MON-FRI *", True), ("R3/PT1H", False),
                                        ("PT5M", False), ("2026-01-01T00:00:00Z", False),
                                        ("* *", False)])
def test_is_cron(text, cron):
    assert is_cron(text) is cron


def test_cron_unix_and_quartz_forms():
    start = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a Monday
    assert cron_iterator("0 9 * * *", start).get_next() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    quartz = cron_iterator("30 0 9 ? * *", start)  # seconds first, '?' for day-of-month
    assert quartz.get_next() == datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
    assert quartz.get_next() == datetime(2026, 3, 3, 9, 0, 30, tzinfo=UTC)
    assert cron_iterator("0 0 9 * * ? *", start).get_next().hour == 9
    with pytest.raises(ExpressionError, match="year"):
        cron_iterator("0 0 9 * * ? 2027", start)
    with pytest.raises(ExpressionError, match="invalid cron"):
        cron_iterator("61 * * * *", start)


@pytest.mark.parametrize("text, expected", [
    ("2026-05-01T10:00:00Z", datetime(2026, 5, 1, 10, tzinfo=UTC)),
    ("2026-05-01T12:00:00+02:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),
    ("2026-05-01T10:00:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),   # no offset: UTC
    ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
])
def test_dates_are_utc(text, expected):
    assert parse_date(text) == expected


def test_dates_without_offset_do_not_depend_on_the_server_zone(monkeypatch):
    from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

    monkeypatch.setattr(spiff_timer, "LOCALTZ", timezone(timedelta(hours=2)))
    assert parse_date("2026-05-01T10:00:00") == datetime(2026, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("text, cycles, start, interval", [
    ("R3/2026-01-01T00:00:00Z/PT1H", 3, datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1)),
    ("R/2026-01-01T00:00:00Z/P1D", -1, datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=1)),
    ("R2/PT30M/2026-01-01T12:00:00Z", 2, datetime(2026, 1, 1, 11, 30, tzinfo=UTC),
     timedelta(minutes=30)),
])
def test_cycles_with_start_or_end(text, cycles, start, interval):
    assert parse_cycle(text) == (cycles, start, interval)


def test_cycle_without_start_is_due_one_interval_after_the_engine_clock():
    clock.advance(timedelta(days=3))
    cycles, start, interval = parse_cycle("R3/PT1H")
    assert (cycles, interval) == (3, timedelta(hours=1))
    assert near(start, clock.now() + timedelta(hours=1))


@pytest.mark.parametrize("kind, value", [("duration", "PT5M"), ("duration", "P1DT2H"),
                                         ("date", "2026-01-01T00:00:00Z"), ("cycle", "R3/PT10S"),
                                         ("cycle", "0 0/5 * * * ?"), ("cycle", "R/PT1M")])
def test_valid_timer_values(kind, value):
    validate_timer_value(kind, value)


@pytest.mark.parametrize("kind, value", [("duration", "PT5X"), ("duration", "5 minutes"),
                                         ("date", "next monday"), ("date", "PT5M"),
                                         ("cycle", "R3/PT1Q"), ("cycle", "every hour"),
                                         ("cycle", "0 0 9 * * ? 2030")])
def test_invalid_timer_values_name_the_value(kind, value):
    with pytest.raises(ExpressionError) as info:
        validate_timer_value(kind, value)
    assert value in info.value.message or "cron" in info.value.message


# ------------------------------------------------------------------ timers on the engine clock


def test_duration_fires_once_its_time_has_come():
    task, timer = TimerTask(), ClockDuration("t", "PT30M")
    assert timer.has_fired(task) is False
    assert near(next_due(task), clock.now() + timedelta(minutes=30))
    clock.advance(timedelta(minutes=29))
    assert timer.has_fired(task) is False
    clock.advance(timedelta(minutes=2))
    assert timer.has_fired(task) is True
    assert timer.has_fired(task) is True  # stays fired


def test_duration_from_an_expression():
    task, timer = TimerTask(wait="PT2H"), ClockDuration("t", "${wait}")
    timer.has_fired(task)
    assert near(next_due(task), clock.now() + timedelta(hours=2))


def test_date_fires_at_its_instant_and_accepts_datetime_expressions():
    due = clock.now() + timedelta(hours=1)
    task, timer = TimerTask(when=due), ClockTimeDate("t", "${when}")
    assert timer.has_fired(task) is False
    assert near(next_due(task), due)
    clock.advance(timedelta(hours=1, seconds=1))
    assert timer.has_fired(task) is True


def test_past_date_fires_at_once():
    task = TimerTask()
    assert ClockTimeDate("t", "2020-01-01T00:00:00Z").has_fired(task) is True


def test_iso_cycle_fires_its_repetitions_then_stops():
    task, timer = TimerTask(), ClockCycle("t", "R3/PT1H")
    fired = []
    for _ in range(5):
        assert timer.cycle_complete(task) is False or fired  # nothing due before the hour
        clock.advance(timedelta(hours=1, seconds=1))
        fired.append(timer.cycle_complete(task))
    assert fired == [True, True, True, False, False]
    assert task.internal_data.get("event_fired") is True
    assert next_due(task) is None


def test_cron_cycle_repeats_on_schedule():
    clock.advance(timedelta(days=1))
    task, timer = TimerTask(), ClockCycle("t", "0 */15 * * * ?")
    assert timer.cycle_complete(task) is False
    first = next_due(task)
    assert first.minute % 15 == 0 and first.second == 0 and first > clock.now()
    clock.advance(first - clock.now() + timedelta(seconds=1))
    assert timer.cycle_complete(task) is True
    assert next_due(task) == first + timedelta(minutes=15)
    assert timer.cycle_complete(task) is False


# ------------------------------------------------------------------ timer start events


def test_start_timer_schedule_for_an_iso_cycle():
    due = first_due("cycle", "R2/PT1H")
    assert near(due, clock.now() + timedelta(hours=1))
    config = {"kind": "cycle", "value": "R2/PT1H"}
    second, config = next_cycle_due(config, due)
    assert second == due + timedelta(hours=1) and config["remaining"] == 1
    assert next_cycle_due(config, second) == (None, config)


def test_start_timer_schedule_for_cron_date_and_duration():
    config = {"kind": "cycle", "value": "0 0 6 * * ?"}
    due = first_due("cycle", config["value"])
    assert (due.hour, due.minute) == (6, 0) and due > clock.now()
    nxt, _ = next_cycle_due(config, due)
    assert nxt == due + timedelta(days=1)
    assert first_due("date", "2030-02-03T04:05:06") == datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert near(first_due("duration", "PT10M"), clock.now() + timedelta(minutes=10))
    assert next_cycle_due({"kind": "date", "value": "2030-01-01"}, due) == (
        None, {"kind": "date", "value": "2030-01-01"})


def test_iso_cycle_counts_from_the_engine_clock_not_the_wall_clock():
    clock.advance(timedelta(days=3))
    task, timer = TimerTask(), ClockCycle("t", "R2/PT1H")
    assert timer.cycle_complete(task) is False  # the wall clock's "now + 1h" is long past
    assert near(next_due(task), clock.now() + timedelta(hours=1))
