"""``a.b``: a context entry, each list item's entry, or a property of a date, time,
duration or range."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.feel.scope import MISSING, Scope
from engine.feel.temporal import (
    NANOS_PER_SECOND,
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
)
from engine.feel.values import Range, type_name


def member(base: Any, key: str, scope: Scope) -> Any:
    """``base.key``; null (reported) when ``base`` has no such entry or property."""
    if base is None:
        return None
    if isinstance(base, dict):
        value = base.get(key, MISSING)
        if value is MISSING:
            scope.error(f"context has no entry {key!r}")
            return None
        return value
    if isinstance(base, list):
        return [item.get(key) if isinstance(item, dict) else member(item, key, scope)
                for item in base]
    value = _property(base, key)
    if value is MISSING:
        scope.error(f"{type_name(base)} has no property {key!r}")
        return None
    return value


def _property(base: Any, key: str) -> Any:
    kind = type(base)
    if kind in (FeelDate, FeelDateTime):
        if key in ("year", "month", "day"):
            return Decimal(getattr(base, key))
        if key == "weekday":
            return Decimal((base.days() + 3) % 7 + 1) if kind is FeelDate else \
                Decimal((base.date().days() + 3) % 7 + 1)
    if kind in (FeelTime, FeelDateTime):
        if key in ("hour", "minute", "second"):
            return Decimal(getattr(base, key))
        if key == "time offset":
            offset = base.offset()
            return DayTimeDuration(offset * NANOS_PER_SECOND) if offset is not None else None
        if key == "timezone":
            return base.tz if isinstance(base.tz, str) else None
    if kind is YearsMonthsDuration:
        if key == "years":
            return Decimal(base.years)
        if key == "months":
            return Decimal(base.months - base.years * 12)
    if kind is DayTimeDuration:
        days, hours, minutes, seconds, _ = base.parts()
        parts = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        if key in parts:
            return Decimal(-parts[key] if base.nanos < 0 else parts[key])
    if kind is Range:
        parts = {"start": base.start, "end": base.end, "start included": base.start_included,
                 "end included": base.end_included}
        if key in parts:
            return parts[key]
    return MISSING
