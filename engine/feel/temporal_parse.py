"""Reading FEEL dates, times and durations from ISO 8601 / XML Schema text (literals, the
conversion functions, TCK files), and from Python's ``datetime`` values."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from engine.feel.temporal import (
    MAX_OFFSET,
    NANOS_PER_DAY,
    NANOS_PER_SECOND,
    SECONDS_PER_DAY,
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
    valid_date,
    zone_info,
)

_DATE = re.compile(r"(-?)(\d{4,9})-(\d\d)-(\d\d)")
_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
                   r"(Z|[+-]\d\d:\d\d(?::\d\d)?|@[A-Za-z][A-Za-z0-9_/+\-]*)?")
_DURATION = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d*))?S)?)?")


def _parse_zone(text: str | None) -> int | str | None:
    """Zone text -> tz; raises ValueError for an unknown id or an offset out of range."""
    if not text:
        return None
    if text == "Z":
        return 0
    if text[0] == "@":
        if zone_info(text[1:]) is None:
            raise ValueError(f"unknown time zone {text[1:]!r}")
        return text[1:]
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text[1:].split(":")]
    if parts[1] > 59 or (len(parts) > 2 and parts[2] > 59):
        raise ValueError(f"invalid offset {text!r}")
    seconds = sign * (parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0))
    if abs(seconds) > MAX_OFFSET:
        raise ValueError(f"offset {text!r} out of range")
    return seconds


def _fraction(digits: str | None) -> int:
    """Nanoseconds of a fraction-of-second text (``"5"`` -> 500,000,000); finer is cut off."""
    return int((digits or "0")[:9].ljust(9, "0"))


def _year(sign: str, digits: str) -> int | None:
    if len(digits) > 4 and digits[0] == "0":
        return None  # XML Schema: more than four digits only without a leading zero
    return -int(digits) if sign else int(digits)


def parse_date(text: str) -> FeelDate | None:
    """``[-]YYYY-MM-DD`` -> date, ``None`` when the text is not a valid date."""
    match = _DATE.fullmatch(text)
    if not match:
        return None
    year = _year(match[1], match[2])
    if year is None or not valid_date(year, int(match[3]), int(match[4])):
        return None
    return FeelDate(year, int(match[3]), int(match[4]))


def _time_parts(text: str) -> tuple[int, int, int, int, int | str | None, bool] | None:
    """(hour, minute, second, nanos, tz, is_24) of a time text; None when invalid."""
    match = _TIME.fullmatch(text)
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    nanos = _fraction(match[4])
    end_of_day = hour == 24 and minute == 0 and second == 0 and nanos == 0
    if (hour > 23 and not end_of_day) or minute > 59 or second > 59:
        return None
    try:
        tz = _parse_zone(match[5])
    except ValueError:
        return None
    return (0 if end_of_day else hour), minute, second, nanos, tz, end_of_day


def parse_time(text: str) -> FeelTime | None:
    """``HH:MM:SS[.f][Z|±hh:mm|@Zone]`` -> time (``24:00:00`` is midnight), None if invalid."""
    parts = _time_parts(text)
    if parts is None:
        return None
    hour, minute, second, nanos, tz, _ = parts
    return FeelTime(hour, minute, second, nanos, tz)


def parse_date_time(text: str) -> FeelDateTime | None:
    """``date`` or ``dateTtime`` -> date and time (a bare date is midnight), None if invalid."""
    if "T" not in text:
        day = parse_date(text)
        return FeelDateTime(day.year, day.month, day.day) if day else None
    day_text, time_text = text.split("T", 1)
    day, parts = parse_date(day_text), _time_parts(time_text)
    if day is None or parts is None:
        return None
    hour, minute, second, nanos, tz, end_of_day = parts
    if end_of_day:  # 24:00:00 is the first moment of the next day
        local = FeelDateTime(day.year, day.month, day.day, tz=tz).local_nanos() + NANOS_PER_DAY
        try:
            return FeelDateTime.from_local_nanos(local, tz)
        except ValueError:
            return None
    return FeelDateTime(day.year, day.month, day.day, hour, minute, second, nanos, tz)


def parse_duration(text: str) -> DayTimeDuration | YearsMonthsDuration | None:
    """ISO 8601 duration -> days-and-time or years-and-months duration; None if invalid or
    mixed (FEEL has no duration with both months and days)."""
    match = _DURATION.fullmatch(text)
    if not match or text.endswith(("P", "T")) or text.endswith("-P"):
        return None
    sign, years, months, days, hours, minutes, seconds, fraction = match.groups()
    negative = -1 if sign else 1
    if years or months:
        if days or hours or minutes or seconds:
            return None
        return YearsMonthsDuration(negative * (int(years or 0) * 12 + int(months or 0)))
    if not (days or hours or minutes or seconds):
        return None
    total = ((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes or 0)) * 60 \
        + int(seconds or 0)
    return DayTimeDuration(negative * (total * NANOS_PER_SECOND + _fraction(fraction)))


def parse_temporal(text: str) -> Any:
    """The value of an ``@"..."`` literal: a date, time, date and time or duration."""
    if text[:1] == "P" or text[:2] == "-P":
        return parse_duration(text)
    if "T" in text:
        return parse_date_time(text)
    if ":" in text:
        return parse_time(text)
    return parse_date(text)


# ---------------------------------------------------------------- conversion
def from_python(value: Any) -> Any:
    """A Python ``date``/``time``/``datetime``/``timedelta`` as its FEEL value."""
    if isinstance(value, dt.datetime):
        return FeelDateTime(value.year, value.month, value.day, value.hour, value.minute,
                            value.second, value.microsecond * 1000, _python_zone(value))
    if isinstance(value, dt.date):
        return FeelDate(value.year, value.month, value.day)
    if isinstance(value, dt.time):
        return FeelTime(value.hour, value.minute, value.second, value.microsecond * 1000,
                        _python_zone(value))
    if isinstance(value, dt.timedelta):
        return DayTimeDuration((value.days * SECONDS_PER_DAY + value.seconds)
                               * NANOS_PER_SECOND + value.microseconds * 1000)
    return value


def _python_zone(value: dt.datetime | dt.time) -> int | str | None:
    if value.tzinfo is None:
        return None
    key = getattr(value.tzinfo, "key", None)
    if isinstance(key, str):
        return key
    offset = value.utcoffset()
    return int(offset.total_seconds()) if offset is not None else None
