"""FEEL dates, times and durations: values, parsing (ISO 8601 / XML Schema) and canonical text.

Python's ``datetime`` cannot hold what FEEL can: years from -999,999,999 to 999,999,999,
nanoseconds, and a time zone kept as a zone id (``@Europe/Paris``) rather than an offset.
These small immutable classes can. Calendar arithmetic is proleptic Gregorian on plain
integers (days since 1970-01-01), so it works for any year; only the offsets of a named zone
come from :mod:`zoneinfo`, with years outside 1..9999 read in the nearest year it knows.

A zone (``tz``) is ``None`` (a local value), an ``int`` (an offset in seconds) or a ``str``
(an IANA zone id).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

NANOS_PER_SECOND = 1_000_000_000
SECONDS_PER_DAY = 86_400
NANOS_PER_DAY = SECONDS_PER_DAY * NANOS_PER_SECOND
MAX_YEAR = 999_999_999
MAX_OFFSET = 18 * 3600  # as java.time: -18:00 .. +18:00


# ---------------------------------------------------------------- calendar arithmetic
def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year; H. Hinnant's method)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01 (inverse of days_from_civil)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def valid_date(year: int, month: int, day: int) -> bool:
    return abs(year) <= MAX_YEAR and 1 <= month <= 12 and 1 <= day <= month_length(year, month)


# ---------------------------------------------------------------- zones
@lru_cache(maxsize=512)
def zone_info(zone_id: str) -> ZoneInfo | None:
    """The zone named ``zone_id``, or None when the id is unknown."""
    try:
        return ZoneInfo(zone_id)
    except (ValueError, KeyError, OSError):  # unknown id, or an id that is not a path
        return None


def _python_datetime(year: int, month: int, day: int, seconds: int) -> dt.datetime:
    """A naive Python datetime for a local moment, years folded into 1..9999."""
    if not 1 <= year <= 9999:
        year = 1 if year < 1 else 9999
        day = min(day, month_length(year, month))
    hour, rest = divmod(seconds, 3600)
    return dt.datetime(year, month, day, hour, rest // 60, rest % 60)


def zone_offset_local(zone_id: str, year: int, month: int, day: int, seconds: int) -> int:
    """The offset (seconds) of zone ``zone_id`` at a local date and second of day."""
    local = _python_datetime(year, month, day, seconds).replace(tzinfo=zone_info(zone_id))
    offset = local.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def zone_offset_instant(zone_id: str, epoch_seconds: int) -> int:
    """The offset (seconds) of zone ``zone_id`` at an instant (seconds since the epoch)."""
    year, month, day = civil_from_days(epoch_seconds // SECONDS_PER_DAY)
    if 1 < year < 9999:
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + \
            dt.timedelta(seconds=epoch_seconds)
        offset = moment.astimezone(zone_info(zone_id)).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
    return zone_offset_local(zone_id, year, month, day, epoch_seconds % SECONDS_PER_DAY)


def format_offset(seconds: int) -> str:
    if seconds == 0:
        return "Z"
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def format_zone(tz: int | str | None) -> str:
    if tz is None:
        return ""
    return "@" + tz if isinstance(tz, str) else format_offset(tz)


def _format_fraction(nanos: int) -> str:
    return "." + f"{nanos:09d}".rstrip("0") if nanos else ""


# ---------------------------------------------------------------- values
class FeelDate:
    """A calendar date (FEEL ``date``), any year from -999,999,999 to 999,999,999."""

    __slots__ = ("year", "month", "day")

    def __init__(self, year: int, month: int, day: int) -> None:
        if not valid_date(year, month, day):
            raise ValueError(f"invalid date {year}-{month}-{day}")
        self.year, self.month, self.day = year, month, day

    @classmethod
    def from_days(cls, days: int) -> FeelDate:
        return cls(*civil_from_days(days))

    def days(self) -> int:
        return days_from_civil(self.year, self.month, self.day)

    def key(self) -> tuple[int, int, int]:
        return (self.year, self.month, self.day)

    def __eq__(self, other: object) -> bool:
        return type(other) is FeelDate and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __lt__(self, other: FeelDate) -> bool:
        return self.key() < other.key()

    def __le__(self, other: FeelDate) -> bool:
        return self.key() <= other.key()

    def __gt__(self, other: FeelDate) -> bool:
        return self.key() > other.key()

    def __ge__(self, other: FeelDate) -> bool:
        return self.key() >= other.key()

    def __str__(self) -> str:
        return format_date(self.year, self.month, self.day)

    def __repr__(self) -> str:
        return f"FeelDate({self})"

    def to_python(self) -> dt.date | str:
        return dt.date(*self.key()) if 1 <= self.year <= 9999 else str(self)


class FeelTime:
    """A time of day (FEEL ``time``) with nanoseconds and an optional offset or zone id."""

    __slots__ = ("hour", "minute", "second", "nanos", "tz")

    def __init__(self, hour: int, minute: int, second: int, nanos: int = 0,
                 tz: int | str | None = None) -> None:
        if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60
                and 0 <= nanos < NANOS_PER_SECOND):
            raise ValueError(f"invalid time {hour}:{minute}:{second}")
        self.hour, self.minute, self.second, self.nanos, self.tz = hour, minute, second, \
            nanos, tz

    def seconds(self) -> int:
        return self.hour * 3600 + self.minute * 60 + self.second

    def offset(self) -> int | None:
        """The offset in seconds (a zone id is read on 1970-01-01), None when local."""
        if self.tz is None or isinstance(self.tz, int):
            return self.tz
        return zone_offset_local(self.tz, 1970, 1, 1, self.seconds())

    def utc_nanos(self) -> int:
        """Nanoseconds since midnight UTC (local times are read as UTC)."""
        return ((self.seconds() - (self.offset() or 0)) * NANOS_PER_SECOND + self.nanos) \
            % NANOS_PER_DAY

    def identity(self) -> tuple[Any, ...]:
        return (self.hour, self.minute, self.second, self.nanos, self.tz)

    def __eq__(self, other: object) -> bool:
        return type(other) is FeelTime and self.identity() == other.identity()

    def __hash__(self) -> int:
        return hash(self.identity())

    def __str__(self) -> str:
        return (f"{self.hour:02d}:{self.minute:02d}:{self.second:02d}"
                + _format_fraction(self.nanos) + format_zone(self.tz))

    def __repr__(self) -> str:
        return f"FeelTime({self})"

    def to_python(self) -> dt.time | str:
        if not isinstance(self.tz, str):
            zone = dt.timezone(dt.timedelta(seconds=self.tz)) if self.tz is not None else None
            return dt.time(self.hour, self.minute, self.second, self.nanos // 1000, zone)
        return str(self)


class FeelDateTime:
    """A date and time of day (FEEL ``date and time``), optionally with an offset or zone."""

    __slots__ = ("year", "month", "day", "hour", "minute", "second", "nanos", "tz")

    def __init__(self, year: int, month: int, day: int, hour: int = 0, minute: int = 0,
                 second: int = 0, nanos: int = 0, tz: int | str | None = None) -> None:
        if not valid_date(year, month, day) or not (
                0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60
                and 0 <= nanos < NANOS_PER_SECOND):
            raise ValueError("invalid date and time")
        self.year, self.month, self.day = year, month, day
        self.hour, self.minute, self.second, self.nanos, self.tz = hour, minute, second, \
            nanos, tz

    @classmethod
    def combine(cls, date: FeelDate | FeelDateTime, time: FeelTime) -> FeelDateTime:
        return cls(date.year, date.month, date.day, time.hour, time.minute, time.second,
                   time.nanos, time.tz)

    @classmethod
    def from_local_nanos(cls, local: int, tz: int | str | None) -> FeelDateTime:
        """The date and time whose local wall clock is ``local`` ns after 1970-01-01T00:00."""
        days, rest = divmod(local, NANOS_PER_DAY)
        seconds, nanos = divmod(rest, NANOS_PER_SECOND)
        hour, rest = divmod(seconds, 3600)
        return cls(*civil_from_days(days), hour, rest // 60, rest % 60, nanos, tz)

    @classmethod
    def from_instant(cls, epoch_nanos: int, tz: int | str | None) -> FeelDateTime:
        """The date and time of an instant, shown in zone ``tz`` (None: as UTC, local)."""
        if isinstance(tz, str):
            offset = zone_offset_instant(tz, epoch_nanos // NANOS_PER_SECOND)
        else:
            offset = tz or 0
        return cls.from_local_nanos(epoch_nanos + offset * NANOS_PER_SECOND, tz)

    def date(self) -> FeelDate:
        return FeelDate(self.year, self.month, self.day)

    def time(self) -> FeelTime:
        return FeelTime(self.hour, self.minute, self.second, self.nanos, self.tz)

    def seconds(self) -> int:
        return self.hour * 3600 + self.minute * 60 + self.second

    def local_nanos(self) -> int:
        """Wall-clock nanoseconds since 1970-01-01T00:00 (the zone ignored)."""
        days = days_from_civil(self.year, self.month, self.day)
        return (days * SECONDS_PER_DAY + self.seconds()) * NANOS_PER_SECOND + self.nanos

    def offset(self) -> int | None:
        if self.tz is None or isinstance(self.tz, int):
            return self.tz
        return zone_offset_local(self.tz, self.year, self.month, self.day, self.seconds())

    def instant(self) -> int:
        """Nanoseconds since the epoch (a local date and time is read as UTC)."""
        return self.local_nanos() - (self.offset() or 0) * NANOS_PER_SECOND

    def identity(self) -> tuple[Any, ...]:
        return (self.year, self.month, self.day, self.hour, self.minute, self.second,
                self.nanos, self.tz)

    def __eq__(self, other: object) -> bool:
        return type(other) is FeelDateTime and self.identity() == other.identity()

    def __hash__(self) -> int:
        return hash(self.identity())

    def __str__(self) -> str:
        return (format_date(self.year, self.month, self.day)
                + f"T{self.hour:02d}:{self.minute:02d}:{self.second:02d}"
                + _format_fraction(self.nanos) + format_zone(self.tz))

    def __repr__(self) -> str:
        return f"FeelDateTime({self})"

    def to_python(self) -> dt.datetime | str:
        if 1 <= self.year <= 9999 and not isinstance(self.tz, str):
            zone = dt.timezone(dt.timedelta(seconds=self.tz)) if self.tz is not None else None
            return dt.datetime(self.year, self.month, self.day, self.hour, self.minute,
                               self.second, self.nanos // 1000, zone)
        return str(self)


class DayTimeDuration:
    """A FEEL days-and-time duration, kept as a signed number of nanoseconds."""

    __slots__ = ("nanos",)

    def __init__(self, nanos: int) -> None:
        self.nanos = nanos

    def __eq__(self, other: object) -> bool:
        return type(other) is DayTimeDuration and self.nanos == other.nanos

    def __hash__(self) -> int:
        return hash(("dtd", self.nanos))

    def __lt__(self, other: DayTimeDuration) -> bool:
        return self.nanos < other.nanos

    def __le__(self, other: DayTimeDuration) -> bool:
        return self.nanos <= other.nanos

    def __gt__(self, other: DayTimeDuration) -> bool:
        return self.nanos > other.nanos

    def __ge__(self, other: DayTimeDuration) -> bool:
        return self.nanos >= other.nanos

    def parts(self) -> tuple[int, int, int, int, int]:
        """(days, hours, minutes, seconds, nanos) of the absolute value."""
        seconds, nanos = divmod(abs(self.nanos), NANOS_PER_SECOND)
        days, rest = divmod(seconds, SECONDS_PER_DAY)
        return days, rest // 3600, rest % 3600 // 60, rest % 60, nanos

    def __str__(self) -> str:
        days, hours, minutes, seconds, nanos = self.parts()
        clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
        if seconds or nanos:
            clock += f"{seconds}{_format_fraction(nanos)}S"
        body = (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
        return ("-" if self.nanos < 0 else "") + f"P{body or 'T0S'}"

    def __repr__(self) -> str:
        return f"DayTimeDuration({self})"

    def to_python(self) -> dt.timedelta | str:
        try:
            return dt.timedelta(microseconds=self.nanos // 1000)
        except OverflowError:
            return str(self)


class YearsMonthsDuration:
    """A FEEL years-and-months duration, kept as a signed number of months."""

    __slots__ = ("months",)

    def __init__(self, months: int) -> None:
        self.months = months

    @property
    def years(self) -> int:
        return int(self.months / 12)

    def __eq__(self, other: object) -> bool:
        return type(other) is YearsMonthsDuration and self.months == other.months

    def __hash__(self) -> int:
        return hash(("ymd", self.months))

    def __lt__(self, other: YearsMonthsDuration) -> bool:
        return self.months < other.months

    def __le__(self, other: YearsMonthsDuration) -> bool:
        return self.months <= other.months

    def __gt__(self, other: YearsMonthsDuration) -> bool:
        return self.months > other.months

    def __ge__(self, other: YearsMonthsDuration) -> bool:
        return self.months >= other.months

    def __str__(self) -> str:
        years, months = divmod(abs(self.months), 12)
        body = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return ("-" if self.months < 0 else "") + f"P{body}"

    def __repr__(self) -> str:
        return f"YearsMonthsDuration({self})"

    def to_python(self) -> str:
        return str(self)


TEMPORAL_TYPES = (FeelDate, FeelTime, FeelDateTime, DayTimeDuration, YearsMonthsDuration)


def format_date(year: int, month: int, day: int) -> str:
    sign = "-" if year < 0 else ""
    return f"{sign}{abs(year):04d}-{month:02d}-{day:02d}"
