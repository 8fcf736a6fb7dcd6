"""FEEL's date, time and duration built-ins, registered into engine.feel.builtin_registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from engine.feel import temporal_parse
from engine.feel.builtin_registry import builtin, integer, num, text
from engine.feel.temporal import (
    MAX_OFFSET,
    NANOS_PER_SECOND,
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
)
from engine.feel.values import type_name

T = TypeVar("T")

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _parsed(value: Any, parser: Callable[[str], T | None], what: str) -> T:
    parsed = parser(text(value, "from"))
    if parsed is None:
        raise ValueError(f"{value!r} is not a valid {what}")
    return parsed


@builtin("date", "from")
def _date(value: Any) -> FeelDate:
    if type(value) is FeelDateTime:
        return value.date()
    if type(value) is FeelDate:
        return value
    return _parsed(value, temporal_parse.parse_date, "date")


@builtin("date", "year", "month", "day")
def _date_of(year: Any, month: Any, day: Any) -> FeelDate:
    return FeelDate(integer(year, "year"), integer(month, "month"), integer(day, "day"))


@builtin("time", "from")
def _time(value: Any) -> FeelTime:
    if type(value) is FeelDateTime:
        return value.time()
    if type(value) is FeelDate:
        return FeelTime(0, 0, 0, 0, 0)  # a date is midnight UTC
    if type(value) is FeelTime:
        return value
    return _parsed(value, temporal_parse.parse_time, "time")


@builtin("time", "hour", "minute", "second", "offset?")
def _time_of(hour: Any, minute: Any, second: Any, offset: Any = None) -> FeelTime:
    seconds = num(second, "second")
    whole = int(seconds)
    nanos = int((seconds - whole) * NANOS_PER_SECOND)
    zone = None
    if offset is not None:
        if type(offset) is not DayTimeDuration:
            raise TypeError("offset must be a days and time duration")
        if offset.nanos % NANOS_PER_SECOND or abs(offset.nanos) > MAX_OFFSET * \
                NANOS_PER_SECOND:
            raise ValueError("offset out of range")
        zone = offset.nanos // NANOS_PER_SECOND
    return FeelTime(integer(hour, "hour"), integer(minute, "minute"), whole, nanos, zone)


@builtin("date and time", "from")
def _date_and_time(value: Any) -> FeelDateTime:
    if type(value) is FeelDateTime:
        return value
    if type(value) is FeelDate:
        return FeelDateTime(value.year, value.month, value.day)
    return _parsed(value, temporal_parse.parse_date_time, "date and time")


@builtin("date and time", "date", "time")
def _date_and_time_of(day: Any, clock: Any) -> FeelDateTime:
    if type(day) not in (FeelDate, FeelDateTime) or type(clock) is not FeelTime:
        raise TypeError("expects a date and a time")
    return FeelDateTime.combine(day, clock)


@builtin("duration", "from")
def _duration(value: Any) -> Any:
    return _parsed(value, temporal_parse.parse_duration, "duration")


@builtin("years and months duration", "from", "to")
def _years_and_months(start: Any, end: Any) -> YearsMonthsDuration:
    if type(start) not in (FeelDate, FeelDateTime) or type(end) not in (FeelDate, FeelDateTime):
        raise TypeError("expects two dates or date and times")
    return YearsMonthsDuration(_months_between(start, end))


def _months_between(start: FeelDate | FeelDateTime, end: FeelDate | FeelDateTime) -> int:
    """Whole calendar months from one date to the other; the time of day does not count."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return months


def _day(value: Any) -> FeelDate:
    if type(value) is FeelDateTime:
        return value.date()
    if type(value) is not FeelDate:
        raise TypeError(f"expects a date, not {type_name(value)}")
    return value


def _weekday(day: FeelDate) -> int:
    """0 for Monday .. 6 for Sunday (1970-01-01 was a Thursday)."""
    return (day.days() + 3) % 7


def _iso_week(day: FeelDate) -> int:
    thursday = FeelDate.from_days(day.days() - _weekday(day) + 3)
    return (thursday.days() - FeelDate(thursday.year, 1, 1).days()) // 7 + 1


builtin("day of year", "date")(
    lambda d: Decimal(_day(d).days() - FeelDate(_day(d).year, 1, 1).days() + 1))
builtin("day of week", "date")(lambda d: _DAYS[_weekday(_day(d))])
builtin("month of year", "date")(lambda d: _MONTHS[_day(d).month - 1])
builtin("week of year", "date")(lambda d: Decimal(_iso_week(_day(d))))


@builtin("today")
def _today() -> FeelDate:
    today = dt.date.today()
    return FeelDate(today.year, today.month, today.day)


@builtin("now")
def _now() -> FeelDateTime:
    now = dt.datetime.now(dt.UTC)
    return FeelDateTime(now.year, now.month, now.day, now.hour, now.minute, now.second,
                        now.microsecond * 1000, 0)
