"""Timer values on the engine clock: ISO 8601 dates, durations and repeating intervals, and cron.

Camunda accepts, in ``timeDate`` / ``timeDuration`` / ``timeCycle``: an ISO 8601 date-time, a
duration (``PT5M``, ``P1DT2H``, ``P2W``), a repeating interval (``R3/PT10S``,
``R/2026-01-01T00:00:00Z/P1D``, ``R2/PT30M/<end>``) and, in cycles, cron (Quartz syntax,
seconds first, ``?`` allowed). Everything is UTC; a date without an offset *is* UTC, so the
same file fires at the same instant on every machine.

A running timer is a small :class:`Schedule` dict stored in the instance state: its next due
time and, for cycles, how to compute the one after.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter
from dateutil.relativedelta import relativedelta

from .. import clock
from ..errors import ExpressionError

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d+(?:[.,]\d+)?)Y)?(?:(?P<months>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?", re.IGNORECASE)


def parse_duration(text: str) -> relativedelta:
    """An ISO 8601 duration as a relativedelta (months and years stay calendar months)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT5M or P1DT2H")
    parts = {k: float(v.replace(",", ".")) for k, v in match.groupdict().items() if v}
    whole = {k: int(v) for k, v in parts.items() if k in ("years", "months") and v == int(v)}
    if len(whole) != sum(1 for k in parts if k in ("years", "months")):
        raise ValueError(f"{text!r}: fractional years or months are not supported")
    seconds = (parts.get("weeks", 0) * 7 * 86400 + parts.get("days", 0) * 86400
               + parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60
               + parts.get("seconds", 0))
    return relativedelta(**whole, seconds=seconds)


def add_duration(start: datetime, text: str) -> datetime:
    later: datetime = start + parse_duration(text)  # relativedelta is untyped
    return later


def is_cron(expression: str) -> bool:
    text = expression.strip()
    return not text.upper().startswith(("R", "P")) and len(text.split()) in (5, 6, 7)


def cron_iterator(expression: str, start: datetime) -> croniter:
    """A croniter for a Unix (5 fields) or Quartz (6-7 fields, seconds first) expression."""
    fields = expression.replace("?", "*").split()
    if len(fields) == 7:  # Quartz's optional year field is not supported by croniter
        if fields[6] not in ("*",):
            raise ExpressionError("cron year field is not supported", expression=expression)
        fields = fields[:6]
    try:
        return croniter(" ".join(fields), start, ret_type=datetime,
                        second_at_beginning=len(fields) == 6)
    except (ValueError, KeyError) as exc:
        raise ExpressionError(f"invalid cron expression: {exc}", expression=expression) from None


def parse_date(text: str) -> datetime:
    """An ISO 8601 date-time (or week date) in UTC; one without an offset *is* UTC."""
    text = text.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_cycle(text: str) -> tuple[int, datetime, timedelta]:
    """``R[n]/duration``, ``R[n]/start/duration`` or ``R[n]/duration/end`` ->
    (repetitions, -1 for unbounded; first due time; interval).

    A cycle without a start first falls due one interval after the engine clock's now.
    """
    parts = text.strip().replace("--", "/").split("/")
    if not parts[0].upper().startswith("R") or len(parts) not in (2, 3):
        raise ValueError(f"{text!r} is not an ISO 8601 repeating interval such as R3/PT1H")
    cycles = int(parts[0][1:]) if parts[0][1:] else -1
    if len(parts) == 2:
        now = clock.now()
        return cycles, add_duration(now, parts[1]), add_duration(now, parts[1]) - now
    first, second = parts[1], parts[2]
    if first.upper().startswith("P"):
        end = parse_date(second)
        start = end - parse_duration(first)
        return cycles, start, end - start
    start = parse_date(first)
    return cycles, start, add_duration(start, second) - start


def validate_timer_value(kind: str, value: str) -> None:
    """Raise ExpressionError when a literal timer value cannot be understood."""
    try:
        if kind == "duration":
            parse_duration(value)
        elif kind == "date":
            parse_date(value)
        elif is_cron(value):
            cron_iterator(value, clock.now())
        else:
            parse_cycle(value)
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"invalid timer {kind} {value!r}: {exc}") from None


# ------------------------------------------------------------------------------ schedules


def schedule(kind: str, value: Any, now: datetime | None = None) -> dict[str, Any] | None:
    """The first due time of a timer whose (evaluated) value is ``value``, as a Schedule dict.

    Returns None for a cycle that repeats zero times. Raises ExpressionError for a value
    that is not a date, duration, cycle or cron text.
    """
    now = now or clock.now()
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    text = str(value).strip()
    try:
        if kind == "date":
            return {"due": parse_date(text).isoformat()}
        if kind == "duration":
            return {"due": add_duration(now, text).isoformat()}
        if is_cron(text):
            return {"due": cron_iterator(text, now).get_next().isoformat(), "cron": text}
        cycles, start, interval = parse_cycle(text)
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"invalid timer {kind} {text!r}: {exc}") from None
    if cycles == 0:
        return None
    return {"due": start.isoformat(), "left": cycles, "every": interval.total_seconds()}


def due_of(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["due"])


def next_schedule(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The schedule after ``entry`` fired, or None when it does not repeat (any more)."""
    if "cron" in entry:
        after = max(due_of(entry), clock.now())
        return dict(entry, due=cron_iterator(entry["cron"], after).get_next().isoformat())
    if "every" not in entry:
        return None
    left = entry["left"]
    if left > 0:
        left -= 1
        if left == 0:
            return None
    due = due_of(entry) + timedelta(seconds=entry["every"])
    return dict(entry, due=due.isoformat(), left=left)


def first_due(kind: str, value: str) -> datetime:
    """When a timer start event first falls due, counted from now."""
    entry = schedule(kind, value)
    if entry is None:
        raise ExpressionError(f"timer cycle {value!r} never fires")
    return due_of(entry)
