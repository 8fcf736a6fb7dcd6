"""Arithmetic and ordering of FEEL dates, times and durations (DMN 1.5, tables 57-59).

``add`` and ``subtract`` return ``None`` for a combination FEEL does not define (the caller
reports it) and raise ``ValueError``/``OverflowError`` when a result is out of range.

Rules worth knowing: a date used against a date and time is midnight UTC; a date plus a
days-and-time duration is the date of that moment (``date + PT36H`` is the next day);
months are added on the calendar, clamping the day (Jan 31 + P1M = Feb 28/29); a duration
added to a date and time in a named zone moves the instant, then reads the zone's clock.
"""

from __future__ import annotations

from typing import Any

from engine.feel.temporal import (
    NANOS_PER_DAY,
    NANOS_PER_SECOND,
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
    month_length,
)

_NANOS_PER_MILLI = 1_000_000


def add_months(value: FeelDate | FeelDateTime, months: int) -> FeelDate | FeelDateTime:
    """Calendar month arithmetic, clamping the day (Jan 31 + 1 month = Feb 28/29)."""
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    day = min(value.day, month_length(year, month))
    if isinstance(value, FeelDate):
        return FeelDate(year, month, day)
    return FeelDateTime(year, month, day, value.hour, value.minute, value.second, value.nanos,
                        value.tz)


def _date_time_plus(value: FeelDateTime, nanos: int) -> FeelDateTime:
    if isinstance(value.tz, str):
        return FeelDateTime.from_instant(value.instant() + nanos, value.tz)
    return FeelDateTime.from_local_nanos(value.local_nanos() + nanos, value.tz)


def _time_plus(value: FeelTime, nanos: int) -> FeelTime:
    local = (value.seconds() * NANOS_PER_SECOND + value.nanos + nanos) % NANOS_PER_DAY
    seconds, rest = divmod(local, NANOS_PER_SECOND)
    return FeelTime(seconds // 3600, seconds % 3600 // 60, seconds % 60, rest, value.tz)


def _as_utc_date_time(value: FeelDate) -> FeelDateTime:
    return FeelDateTime(value.year, value.month, value.day, tz=0)


def add(left: Any, right: Any) -> Any:
    """``left + right`` for temporal operands (either order); None when undefined."""
    tl, tr = type(left), type(right)
    if tr in (FeelDate, FeelDateTime, FeelTime) and tl not in (FeelDate, FeelDateTime, FeelTime):
        left, right, tl, tr = right, left, tr, tl
    if tr is YearsMonthsDuration:
        if tl in (FeelDate, FeelDateTime):
            return add_months(left, right.months)
        if tl is YearsMonthsDuration:
            return YearsMonthsDuration(left.months + right.months)
        return None
    if tr is DayTimeDuration:
        if tl is FeelDateTime:
            return _date_time_plus(left, right.nanos)
        if tl is FeelDate:
            moved = FeelDateTime(left.year, left.month, left.day).local_nanos() + right.nanos
            return FeelDate.from_days(moved // NANOS_PER_DAY)
        if tl is FeelTime:
            return _time_plus(left, right.nanos)
        if tl is DayTimeDuration:
            return DayTimeDuration(left.nanos + right.nanos)
    return None


def subtract(left: Any, right: Any) -> Any:
    """``left - right`` for temporal operands; None when undefined."""
    tl, tr = type(left), type(right)
    if tr is YearsMonthsDuration:
        if tl in (FeelDate, FeelDateTime):
            return add_months(left, -right.months)
        if tl is YearsMonthsDuration:
            return YearsMonthsDuration(left.months - right.months)
        return None
    if tr is DayTimeDuration:
        if tl in (FeelDate, FeelDateTime, FeelTime, DayTimeDuration):
            return add(left, DayTimeDuration(-right.nanos))
        return None
    if tl is FeelDate and tr is FeelDate:
        return DayTimeDuration((left.days() - right.days()) * NANOS_PER_DAY)
    if tl in (FeelDate, FeelDateTime) and tr in (FeelDate, FeelDateTime):
        if tl is FeelDate:
            left = _as_utc_date_time(left)
        if tr is FeelDate:
            right = _as_utc_date_time(right)
        if (left.tz is None) != (right.tz is None):
            return None  # both or neither must have a zone
        if left.tz is None:
            return DayTimeDuration(left.local_nanos() - right.local_nanos())
        return DayTimeDuration(left.instant() - right.instant())
    if tl is FeelTime and tr is FeelTime:
        return DayTimeDuration(_utc_clock(left) - _utc_clock(right))
    return None


def _utc_clock(value: FeelTime) -> int:
    return (value.seconds() - (value.offset() or 0)) * NANOS_PER_SECOND + value.nanos


def time_key(value: FeelTime, millis: bool = False) -> int:
    """A time's position in the UTC day (local times read as UTC), for ordering and ``=``."""
    key = value.utc_nanos()
    return key // _NANOS_PER_MILLI if millis else key


def date_time_keys(left: FeelDateTime, right: FeelDateTime) -> tuple[int, int]:
    """Comparable positions of two date and times: local clocks when neither has a zone,
    else instants (a local one read as UTC)."""
    if left.tz is None and right.tz is None:
        return left.local_nanos(), right.local_nanos()
    return left.instant(), right.instant()


def date_time_equal(left: FeelDateTime, right: FeelDateTime) -> bool:
    """FEEL ``=`` of date and times: the same moment, to the millisecond."""
    a, b = date_time_keys(left, right)
    return a // _NANOS_PER_MILLI == b // _NANOS_PER_MILLI
