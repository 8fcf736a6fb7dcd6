"""FEEL dates, times and durations: literals of any year, zones kept as zones, arithmetic
(DMN 1.5 tables 57-59), equality and properties."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.feel import (
    DayTimeDuration,
    FeelDate,
    FeelDateTime,
    FeelTime,
    YearsMonthsDuration,
    evaluate,
    to_feel,
    to_python,
)
from engine.feel.temporal import civil_from_days, days_from_civil
from engine.feel.temporal_parse import parse_date, parse_date_time, parse_duration, parse_time

D = Decimal


def text(expression: str) -> str:
    errors: list[str] = []
    value = evaluate(expression, {}, errors)
    assert value is not None, errors
    return str(value)


@pytest.mark.parametrize("literal", [
    "-2021-01-01", "999999999-12-31", "-999999999-12-31", "0001-01-01", "2020-02-29",
])
def test_dates_of_any_year_round_trip(literal):
    assert str(parse_date(literal)) == literal


@pytest.mark.parametrize("literal", [
    "9999999999-12-25", "01211-12-31", "998-12-31", "+2012-12-02", "2017-13-10",
    "2017-02-29", "2012/12/25", "",
])
def test_invalid_dates(literal):
    assert parse_date(literal) is None


def test_calendar_arithmetic_is_proleptic_gregorian_for_any_year():
    for days in (-10**11, -719468, 0, 59, 10**11):
        assert days_from_civil(*civil_from_days(days)) == days
    assert days_from_civil(1970, 1, 1) == 0 and days_from_civil(2000, 3, 1) == 11017


@pytest.mark.parametrize("literal, expected", [
    ("10:30:00", "10:30:00"), ("11:22:33.123456789", "11:22:33.123456789"),
    ("11:22:33-00:00", "11:22:33Z"), ("13:20:00+02:00", "13:20:00+02:00"),
    ("00:01:00@Europe/Paris", "00:01:00@Europe/Paris"), ("24:00:00", "00:00:00"),
])
def test_time_literals(literal, expected):
    assert str(parse_time(literal)) == expected


@pytest.mark.parametrize("literal", [
    "24:00:01", "25:00:00", "00:60:00", "7:00:00", "13:20:00+19:00", "13:20:00+5:00",
    "13:20:00@xyz/abc", "13:20:00+02:00@Europe/Paris",
])
def test_invalid_times(literal):
    assert parse_time(literal) is None


def test_end_of_day_is_the_next_midnight():
    assert str(parse_date_time("2021-01-01T24:00:00")) == "2021-01-02T00:00:00"
    assert text('@"2021-01-01T24:00:00" + @"PT1S"') == "2021-01-02T00:00:01"


def test_zone_id_is_kept_as_a_zone():
    value = evaluate('@"2018-12-10T10:30:00@Europe/Paris"')
    assert value.tz == "Europe/Paris" and str(value).endswith("@Europe/Paris")
    assert evaluate('@"2018-12-10T10:30:00@Etc/UTC".timezone') == "Etc/UTC"
    assert str(evaluate('@"2018-12-10T10:30:00@Europe/Paris".time offset')) == "PT1H"


@pytest.mark.parametrize("literal, expected", [
    ("P1D", "P1D"), ("PT24H", "P1D"), ("PT1000M", "PT16H40M"), ("P0D", "PT0S"),
    ("PT0.999999999S", "PT0.999999999S"), ("-PT1H2M", "-PT1H2M"), ("P26M", "P2Y2M"),
    ("P0Y", "P0M"), ("-P100M", "-P8Y4M"),
])
def test_duration_literals_are_normalised(literal, expected):
    assert str(parse_duration(literal)) == expected


@pytest.mark.parametrize("literal", ["P", "P0", "1Y", "P1H", "P1S", "PT", "P1Y1D"])
def test_invalid_durations(literal):
    assert parse_duration(literal) is None


@pytest.mark.parametrize("expression, expected", [
    ('@"2021-01-01" + @"PT36H"', "2021-01-02"),      # date + days-time: the date of that moment
    ('@"2021-01-02" - @"PT1S"', "2021-01-01"),
    ('@"2020-03-01" - @"PT24H"', "2020-02-29"),
    ('@"2021-01-31" + @"P1M"', "2021-02-28"),        # months clamp the day
    ('@"-2021-01-01T10:10:10+11:00" + @"P1Y"', "-2020-01-01T10:10:10+11:00"),
    ('@"-2021-01-01T10:10:10+11:00" - @"P1D"', "-2022-12-31T10:10:10+11:00"),
    ('@"2021-01-12T10:10:10@Australia/Melbourne" + @"P1DT1H"',
     "2021-01-13T11:10:10@Australia/Melbourne"),
    ('@"10:15:00" + @"P1D"', "10:15:00"), ('@"10:15:00+11:00" - @"PT1H"', "09:15:00+11:00"),
    ('@"2021-01-02T10:10:10@Europe/Paris" - @"2021-01-01T10:10:10@Asia/Dhaka"', "P1DT5H"),
    ('@"2021-01-02T10:10:10@Europe/Paris" - @"2021-01-01"', "P1DT9H10M10S"),  # date is UTC
    ('@"2021-01-02" - @"2021-01-01T10:10:10+11:00"', "P1DT49M50S"),
    ('@"10:10:10+11:00" - @"11:10:10+11:00"', "-PT1H"),
    ("1.5 * @\"P4DT1H\"", "P6DT1H30M"), ('@"P10DT23H" / 2.5', "P4DT9H12M"),
    ('-2.5 * @"P1Y11M"', "-P4Y9M"), ('@"P10Y11M" / 2.5', "P4Y4M"),
])
def test_temporal_arithmetic(expression, expected):
    assert text(expression) == expected


@pytest.mark.parametrize("expression", [
    '@"2021-01-02T10:10:10@Europe/Paris" - @"2021-01-01T10:10:10"',  # zoned minus local
    '@"2021-01-01T00:00:00" - @"2021-01-02"',                         # local minus date (UTC)
    '@"P1Y" - @"2021-01-01"', '@"2021-01-01" + @"2021-01-01"', '@"P1D" / @"P0D"',
    '@"P1Y" + @"P1D"',
])
def test_undefined_temporal_arithmetic_is_null(expression):
    errors: list[str] = []
    assert evaluate(expression, {}, errors) is None
    assert errors


def test_division_of_durations_is_a_number():
    assert evaluate('@"P10D" / @"P5D"') == D(2) and evaluate('@"P10Y" / @"P5Y"') == D(2)


@pytest.mark.parametrize("expression, expected", [
    ('time("10:30:00.0001") = time("10:30:00.0002")', True),   # equal to the millisecond
    ('@"2018-10-08T00:00:00+02:00" = @"2018-10-08T00:00:00@Europe/Paris"', True),
    ('@"2018-12-08T00:00:00@Europe/Paris" = @"2018-12-08T00:00:00@Asia/Dhaka"', False),
    ('time("10:30:00Z") = time("10:30:00+00:00")', True),
    ('duration("P1Y") = duration("P12M")', True), ('duration("P1D") = duration("PT24H")', True),
    ('@"2021-01-01" < @"2021-01-02"', True), ('@"10:00:00" < @"11:00:00"', True),
])
def test_temporal_equality_and_order(expression, expected):
    assert evaluate(expression) is expected


def test_years_and_months_duration_against_days_duration_is_null():
    assert evaluate('duration("P1Y") = duration("P365D")') is None


def test_is_compares_zones_not_moments():
    assert evaluate('is(@"2021-04-02T23:00:00@Australia/Melbourne", '
                    '@"2021-04-02T23:00:00+11:00")') is False
    assert evaluate('is(@"23:00:50Z", @"23:00:50+00:00")') is True
    assert evaluate('is(@"P0Y", @"P0D")') is False


@pytest.mark.parametrize("expression, expected", [
    ('date("2018-12-10").weekday', D(1)), ('@"2018-12-10T10:30:01".second', D(1)),
    ('duration("P1Y2M").years', D(1)), ('duration("P1Y2M").months', D(2)),
    ('duration("PT2H").days', D(0)), ('duration("-PT2H").hours', D(-2)),
    ('@"2018-12-10T10:30:00".time offset', None), ("[1..10).end included", False),
])
def test_properties(expression, expected):
    assert evaluate(expression) == expected


def test_property_of_the_wrong_kind_is_null_and_reported():
    errors: list[str] = []
    assert evaluate('duration("P1Y").days', {}, errors) is None and errors


def test_python_values_cross_both_ways():
    assert to_feel(dt.date(2026, 1, 2)) == FeelDate(2026, 1, 2)
    assert to_feel(dt.timedelta(hours=1)) == DayTimeDuration(3600 * 10**9)
    aware = to_feel(dt.datetime(2026, 1, 2, 3, tzinfo=dt.UTC))
    assert aware == FeelDateTime(2026, 1, 2, 3, tz=0)
    assert to_python(aware) == dt.datetime(2026, 1, 2, 3, tzinfo=dt.UTC)
    assert to_python(FeelDate(-5, 1, 1)) == "-0005-01-01"  # beyond Python's calendar
    assert to_python(FeelTime(10, 0, 0, tz="Europe/Paris")) == "10:00:00@Europe/Paris"
    assert to_python([YearsMonthsDuration(14)]) == ["P1Y2M"]
