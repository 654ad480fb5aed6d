"""Months and ranges in the city's time zone: Jakarta is UTC+7, so a local month starts
at 17:00 UTC the day before."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from reports.period import Period, month_period, previous_period, range_period

JAKARTA = ZoneInfo("Asia/Jakarta")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def test_a_month_runs_from_local_midnight_to_local_midnight() -> None:
    period = month_period("2026-11", JAKARTA)
    assert period == Period(utc(2026, 10, 31, 17), utc(2026, 11, 30, 17), "2026-11", "2026-11")


def test_december_ends_in_the_next_year() -> None:
    period = month_period("2026-12", JAKARTA)
    assert (period.start, period.end) == (utc(2026, 11, 30, 17), utc(2026, 12, 31, 17))


def test_a_month_in_utc_is_the_utc_month() -> None:
    period = month_period("2027-02", ZoneInfo("UTC"))
    assert (period.start, period.end) == (utc(2027, 2, 1), utc(2027, 3, 1))


def test_a_month_across_a_dst_change_is_not_whole_days_of_24_hours() -> None:
    period = month_period("2026-03", ZoneInfo("Europe/Amsterdam"))
    assert period.end - period.start == 31 * 86_400 - 3600


@pytest.mark.parametrize(
    "month", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "", " 2026-11", "0000-01"]
)
def test_a_malformed_month_is_a_value_error(month: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_period(month, JAKARTA)


def test_the_previous_period_of_a_month_is_the_previous_calendar_month() -> None:
    assert previous_period(month_period("2026-03", JAKARTA), JAKARTA) == month_period(
        "2026-02", JAKARTA
    )
    assert previous_period(month_period("2027-01", JAKARTA), JAKARTA) == month_period(
        "2026-12", JAKARTA
    )


def test_a_range_of_whole_local_days_names_its_first_and_last_day() -> None:
    start, end = utc(2026, 11, 2, 17), utc(2026, 11, 17, 17)  # 3 Nov to 18 Nov 00:00 local
    period = range_period(start, end, JAKARTA)
    assert period == Period(start, end, "2026-11-03 to 2026-11-17")


def test_a_single_day_is_one_date() -> None:
    assert range_period(utc(2026, 11, 2, 17), utc(2026, 11, 3, 17), JAKARTA).label == "2026-11-03"


def test_a_range_not_at_midnight_shows_its_local_times() -> None:
    period = range_period(utc(2026, 11, 3, 1), utc(2026, 11, 4, 2, 30), JAKARTA)
    assert period.label == "2026-11-03 08:00 to 2026-11-04 09:30"


def test_the_previous_period_of_a_range_is_as_long_and_ends_where_it_starts() -> None:
    period = range_period(utc(2026, 11, 2, 17), utc(2026, 11, 9, 17), JAKARTA)
    before = previous_period(period, JAKARTA)
    assert before == Period(utc(2026, 10, 26, 17), utc(2026, 11, 2, 17), "2026-10-27 to 2026-11-02")


@pytest.mark.parametrize(
    ("start", "end"), [(10.0, 10.0), (10.0, 5.0), (0.0, float("inf")), (float("nan"), 1.0)]
)
def test_an_empty_or_infinite_range_is_a_value_error(start: float, end: float) -> None:
    with pytest.raises(ValueError):
        range_period(start, end, JAKARTA)
