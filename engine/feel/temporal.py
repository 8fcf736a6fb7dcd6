"""Parsing and arithmetic of FEEL dates, times and durations (ISO 8601 / XML Schema)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal
from typing import Any

from engine.feel.values import YearsMonthsDuration

_DATE = re.compile(r"^(-?\d{4,9})-(\d{2})-(\d{2})$")
_TIME = re.compile(
    r"^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2}(?::\d{2})?|@[A-Za-z0-9_/+\-]+)?$")
_DURATION = re.compile(
    r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` -> date, ``None`` when the text is not a valid date."""
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _zone(text: str | None) -> dt.tzinfo | None:
    if not text:
        return None
    if text == "Z":
        return dt.timezone.utc
    if text.startswith("@"):
        from zoneinfo import ZoneInfo

        try:
            return ZoneInfo(text[1:])
        except Exception:  # unknown zone id
            raise ValueError(text)
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text[1:].split(":")]
    seconds = parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)
    return dt.timezone(sign * dt.timedelta(seconds=seconds))


def parse_time(text: str) -> dt.time | None:
    """``HH:MM:SS[.fff][Z|+hh:mm|@Zone]`` -> time, ``None`` when invalid."""
    match = _TIME.match(text)
    if not match:
        return None
    try:
        micro = int((match[4] or ".0")[1:7].ljust(6, "0"))
        hour = int(match[1])
        if hour == 24 and match[2] == "00" and match[3] == "00":
            hour = 0
        return dt.time(hour, int(match[2]), int(match[3]), micro, tzinfo=_zone(match[5]))
    except ValueError:
        return None


def parse_date_time(text: str) -> dt.datetime | dt.date | None:
    """``date`` or ``dateTtime`` -> datetime (a bare date means midnight), ``None`` if invalid."""
    if "T" not in text:
        day = parse_date(text)
        return dt.datetime(day.year, day.month, day.day) if day else None
    day_text, time_text = text.split("T", 1)
    day, clock = parse_date(day_text), parse_time(time_text)
    if day is None or clock is None:
        return None
    return dt.datetime.combine(day, clock)


def parse_duration(text: str) -> dt.timedelta | YearsMonthsDuration | None:
    """ISO 8601 duration -> timedelta (days/time) or YearsMonthsDuration (years/months)."""
    match = _DURATION.match(text)
    if not match or text.endswith(("P", "T")):
        return None
    sign, years, months, days, hours, minutes, seconds = match.groups()
    negative = -1 if sign else 1
    if years or months:
        if days or hours or minutes or seconds:
            return None  # FEEL has no mixed duration type
        return YearsMonthsDuration(negative * (int(years or 0) * 12 + int(months or 0)))
    delta = dt.timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                         seconds=float(Decimal(seconds or 0)))
    return -delta if negative < 0 else delta


def parse_temporal(text: str) -> Any:
    """The value of an ``@"..."`` literal: a date, time, date and time or duration."""
    for parser in (parse_date, parse_time, parse_date_time, parse_duration):
        value = parser(text)
        if value is not None:
            return value
    return None


def add_months(value: dt.date, months: int) -> dt.date:
    """Calendar month arithmetic, clamping the day (Jan 31 + 1 month = Feb 28/29)."""
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from start to end (``years and months duration(from, to)``)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and (end.day, _clock(end)) < (start.day, _clock(start)):
        months -= 1
    elif months < 0 and (end.day, _clock(end)) > (start.day, _clock(start)):
        months += 1
    return months


def _clock(value: dt.date) -> tuple:
    return (value.hour, value.minute, value.second, value.microsecond) \
        if isinstance(value, dt.datetime) else (0, 0, 0, 0)


def format_duration(value: dt.timedelta) -> str:
    """A days-and-time duration in FEEL's canonical string form (``P1DT2H``)."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    days, rest = value.days, value.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = Decimal(seconds) + Decimal(value.microseconds) / Decimal(1_000_000)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    if secs:
        clock += f"{secs.normalize():f}S"
    body = (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return f"{sign}P{body or 'T0S'}"


def format_temporal(value: Any) -> str:
    """FEEL ``string()`` of a temporal value."""
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    if isinstance(value, YearsMonthsDuration):
        return str(value)
    if isinstance(value, (dt.datetime, dt.time)):
        text = value.isoformat()
        return text.replace("+00:00", "Z") if value.tzinfo is dt.timezone.utc else text
    return value.isoformat()
