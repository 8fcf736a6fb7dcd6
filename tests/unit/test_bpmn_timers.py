"""Timer values (engine.bpmn.timers, engine.deployments' start-timer schedule) on the engine
clock: ISO durations, dates, repeating cycles and cron, moved forward with clock.advance."""

from datetime import UTC, datetime, timedelta

import pytest

from engine import ExpressionError, clock
from engine.bpmn.timers import (
    cron_iterator,
    due_of,
    first_due,
    is_cron,
    next_schedule,
    parse_cycle,
    parse_date,
    parse_duration,
    schedule,
    validate_timer_value,
)
from engine.deployments import next_cycle_due

UTC = UTC


@pytest.fixture(autouse=True)
def fresh_clock():
    clock.reset()
    yield
    clock.reset()


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
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert parse_date("2026-05-01T10:00:00") == datetime(2026, 5, 1, 10, tzinfo=UTC)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("text, start, expected", [
    ("PT90M", datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 1, 31, 1, 30, tzinfo=UTC)),
    ("P1DT2H", datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 1, 2, tzinfo=UTC)),
    ("P2W", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC)),
    ("P1M", datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),  # calendar month
    ("P1Y", datetime(2028, 2, 29, tzinfo=UTC), datetime(2029, 2, 28, tzinfo=UTC)),
    ("PT0.5S", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
])
def test_iso_durations_add_calendar_units(text, start, expected):
    assert start + parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "P1H", "5M", "P1.5M", "PT1H2D"])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


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


# ------------------------------------------------------------------ schedules of running timers


def test_duration_schedule_is_due_after_its_duration():
    entry = schedule("duration", "PT30M")
    assert near(due_of(entry), clock.now() + timedelta(minutes=30))
    assert next_schedule(entry) is None  # a duration fires once


def test_date_schedule_accepts_datetime_values_and_past_dates():
    due = clock.now() + timedelta(hours=1)
    assert due_of(schedule("date", due)) == due
    assert due_of(schedule("date", "2020-01-01T00:00:00Z")) < clock.now()


def test_iso_cycle_schedule_repeats_its_count_then_stops():
    entry = schedule("cycle", "R3/PT1H")
    dues = [due_of(entry)]
    while (entry := next_schedule(entry)) is not None:
        dues.append(due_of(entry))
    assert len(dues) == 3
    assert [b - a for a, b in zip(dues, dues[1:])] == [timedelta(hours=1)] * 2
    assert schedule("cycle", "R0/PT1H") is None


def test_cron_schedule_repeats_on_its_calendar():
    clock.advance(timedelta(days=1))
    entry = schedule("cycle", "0 */15 * * * ?")
    first = due_of(entry)
    assert first.minute % 15 == 0 and first.second == 0 and first > clock.now()
    clock.advance(first - clock.now() + timedelta(seconds=1))
    assert due_of(next_schedule(entry)) == first + timedelta(minutes=15)


def test_iso_cycle_counts_from_the_engine_clock_not_the_wall_clock():
    clock.advance(timedelta(days=3))
    assert near(due_of(schedule("cycle", "R2/PT1H")), clock.now() + timedelta(hours=1))


def test_unknown_timer_text_is_an_expression_error():
    with pytest.raises(ExpressionError, match="every hour"):
        schedule("cycle", "every hour")


# ------------------------------------------------------------------ timer start events


def test_start_timer_schedule_for_an_iso_cycle():
    due = first_due("cycle", "R2/PT1H")
    assert near(due, clock.now() + timedelta(hours=1))
    config = {"kind": "cycle", "value": "R2/PT1H", "schedule": schedule("cycle", "R2/PT1H")}
    second, config = next_cycle_due(config, due)
    assert near(second, due + timedelta(hours=1))
    assert next_cycle_due(config, second) == (None, config)


def test_start_timer_schedule_written_before_schedules_were_stored_still_counts():
    due = first_due("cycle", "R2/PT1H")
    config = {"kind": "cycle", "value": "R2/PT1H", "remaining": 2}
    second, config = next_cycle_due(config, due)
    assert second == due + timedelta(hours=1)
    assert next_cycle_due(config, second)[0] is None


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
