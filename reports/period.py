"""Months and date ranges in the city's time zone.

A partner's month is the city's calendar month (``city_timezone``), not UTC's: in Jakarta
the first seven hours of a UTC month still belong to the previous local day, and a board
reading "November" means the month its visitors lived. The user hashes are keyed by the
same months (inventory.userkeys.month_of), so unique users within a month period are
exact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["Period", "month_period", "previous_period", "range_period"]

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in epoch seconds, with a label; ``month`` set for a calendar month."""

    start: float
    end: float
    label: str
    month: str | None = None


def month_period(month: str, tz: ZoneInfo) -> Period:
    """ "2026-11" → its first local midnight to the next month's; ValueError if malformed."""
    found = _MONTH.fullmatch(month)
    try:
        if found is None:
            raise ValueError
        year, number = int(found[1]), int(found[2])
        first = datetime(year, number, 1, tzinfo=tz)
        after = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    except (ValueError, OverflowError):
        raise ValueError(f"not a month: {month!r}; use YYYY-MM (e.g. 2026-11)") from None
    return Period(start=first.timestamp(), end=after.timestamp(), label=month, month=month)


def range_period(start: float, end: float, tz: ZoneInfo) -> Period:
    """Any range (end > start), labelled by its local dates.

    The label names the first and the last day the range touches ("2026-11-03 to
    2026-11-17" for [3 Nov 00:00, 18 Nov 00:00) local: ``end`` is exclusive, so a range
    ending at midnight does not name the next day), one date for a single day, and the
    local time of a bound that is not at midnight. ValueError for an empty or non-finite
    range.
    """
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"a period's bounds must be finite: {start=}, {end=}")
    if end <= start:
        raise ValueError("a period must end after it starts")
    try:
        first = datetime.fromtimestamp(start, tz)
        after = datetime.fromtimestamp(end, tz)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"a period's bounds are out of range: {start=}, {end=}") from None
    midnights = _is_midnight(first) and _is_midnight(after)
    if midnights:
        begins = first.strftime("%Y-%m-%d")
        last = datetime.fromtimestamp(end - 1, tz).strftime("%Y-%m-%d")
    else:
        begins = first.strftime("%Y-%m-%d %H:%M")
        last = after.strftime("%Y-%m-%d %H:%M")
    label = begins if begins == last else f"{begins} to {last}"
    return Period(start=start, end=end, label=label)


def previous_period(period: Period, tz: ZoneInfo) -> Period:
    """The previous calendar month for a month, else the same length just before."""
    if period.month is not None:
        year, number = int(period.month[:4]), int(period.month[5:7])
        index = year * 12 + number - 2
        return month_period(f"{index // 12:04d}-{index % 12 + 1:02d}", tz)
    length = period.end - period.start
    return range_period(period.start - length, period.start, tz)


def _is_midnight(moment: datetime) -> bool:
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
