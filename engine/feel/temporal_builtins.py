"""FEEL's date, time and duration built-ins, registered into engine.feel.builtins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine.feel import temporal
from engine.feel.builtins import _int, _num, _str, builtin
from engine.feel.operators import compare
from engine.feel.scope import Scope
from engine.feel.values import Range, YearsMonthsDuration, type_name


@builtin("date", "from", "month", "day")
def _date(value: Any, month: Any = None, day: Any = None) -> dt.date | None:
    if month is not None or day is not None:
        return dt.date(_int(value, "year"), _int(month, "month"), _int(day, "day"))
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    parsed = temporal.parse_date(_str(value, "from"))
    if parsed is None:
        raise ValueError(f"{value!r} is not a date")
    return parsed


@builtin("time", "from", "minute", "second", "offset")
def _time(value: Any, minute: Any = None, second: Any = None, offset: Any = None) -> Any:
    if minute is not None:
        seconds = _num(second, "second")
        whole = int(seconds)
        micro = int((seconds - whole) * 1_000_000)
        zone = dt.timezone(offset) if isinstance(offset, dt.timedelta) else None
        return dt.time(_int(value, "hour"), _int(minute, "minute"), whole, micro, tzinfo=zone)
    if isinstance(value, dt.datetime):
        return value.timetz()
    if isinstance(value, dt.date):
        return dt.time(0, 0)
    if isinstance(value, dt.time):
        return value
    parsed = temporal.parse_time(_str(value, "from"))
    if parsed is None:
        raise ValueError(f"{value!r} is not a time")
    return parsed


@builtin("date and time", "from", "time")
def _date_and_time(value: Any, clock: Any = None) -> Any:
    if clock is not None:
        if not isinstance(value, dt.date) or not isinstance(clock, dt.time):
            raise TypeError("expects a date and a time")
        return dt.datetime.combine(value if not isinstance(value, dt.datetime)
                                   else value.date(), clock)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    parsed = temporal.parse_date_time(_str(value, "from"))
    if parsed is None:
        raise ValueError(f"{value!r} is not a date and time")
    return parsed


@builtin("duration", "from")
def _duration(value: Any) -> Any:
    parsed = temporal.parse_duration(_str(value, "from"))
    if parsed is None:
        raise ValueError(f"{value!r} is not a duration")
    return parsed


@builtin("years and months duration", "from", "to")
def _years_and_months(start: Any, end: Any) -> YearsMonthsDuration:
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise TypeError("expects two dates")
    return YearsMonthsDuration(temporal.months_between(start, end))



# ---------------------------------------------------------------- temporal
def _day(value: Any) -> dt.date:
    if not isinstance(value, dt.date):
        raise TypeError(f"expects a date, not {type_name(value)}")
    return value


builtin("day of year", "date")(lambda d: Decimal(_day(d).timetuple().tm_yday))
builtin("day of week", "date")(lambda d: _day(d).strftime("%A"))
builtin("month of year", "date")(lambda d: _day(d).strftime("%B"))
builtin("week of year", "date")(lambda d: Decimal(_day(d).isocalendar()[1]))
builtin("today")(lambda: dt.date.today())
builtin("now")(lambda: dt.datetime.now(dt.timezone.utc))


# ---------------------------------------------------------------- ranges (DMN 1.4)
@builtin("before", "point1", "point2", wants_scope=True)
def _before(scope: Scope, a: Any, b: Any) -> bool | None:
    if isinstance(a, Range) or isinstance(b, Range):
        raise TypeError("ranges are not supported by before()")
    return compare("<", a, b, scope)


@builtin("after", "point1", "point2", wants_scope=True)
def _after(scope: Scope, a: Any, b: Any) -> bool | None:
    if isinstance(a, Range) or isinstance(b, Range):
        raise TypeError("ranges are not supported by after()")
    return compare(">", a, b, scope)

