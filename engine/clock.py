"""The engine's notion of "now" (UTC), replaceable so tests can move time without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current time in UTC, plus any offset a test has applied."""
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the engine clock forward (tests only; affects this process)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
