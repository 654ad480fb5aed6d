"""Times in and out of the API: one parser for query times, one formatter for answers.

The database and the stores keep UTC epoch seconds; the API takes ISO 8601 or epoch
seconds in queries and answers timezone-aware UTC datetimes (rendered with a ``Z``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, overload

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

# The times a query may name: from the epoch to the last second a datetime can hold. Nothing
# of a city's WiFi predates 1970 (a negative epoch is a caller's bug), and past year 9999 a
# time could not even be written back in an answer.
MIN_TIME = 0.0
MAX_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z
MAX_TIME_TEXT = 64  # the longest ISO 8601 form is about 32 characters


def parse_time(value: Any) -> Any:
    """Accept epoch seconds or ISO 8601, because shell users type one and browsers the other.

    A datetime without an offset is taken as UTC: the whole system keeps UTC, and guessing
    the server's local zone would make the same URL mean different things on two hosts.
    """
    if not isinstance(value, str):
        return value
    if len(value) > MAX_TIME_TEXT:
        raise ValueError(f"not a time: longer than {MAX_TIME_TEXT} characters")
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"not a finite number of seconds: {value!r}")
        return seconds
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not a time: {value!r}; use ISO 8601 (2024-05-01T12:00:00Z) or epoch seconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def time_in_range(seconds: float | None) -> float | None:
    """Refuse times outside [MIN_TIME, MAX_TIME], so no answer fails formatting one."""
    if seconds is not None and not MIN_TIME <= seconds <= MAX_TIME:
        raise ValueError(
            f"time out of range: must be from 1970-01-01T00:00:00Z (0) "
            f"to 9999-12-31T23:59:59Z ({MAX_TIME:.0f})"
        )
    return seconds


TimeQuery = Annotated[
    float | None,
    BeforeValidator(parse_time),
    AfterValidator(time_in_range),
    # What a client may send, not the float it becomes after parsing.
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "maxLength": MAX_TIME_TEXT},
                {"type": "number", "minimum": MIN_TIME, "maximum": MAX_TIME},
            ]
        }
    ),
    Query(description="ISO 8601 datetime (UTC if no offset) or UTC epoch seconds, 1970..9999."),
]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@overload
def utc(ts: float) -> datetime: ...
@overload
def utc(ts: None) -> None: ...
def utc(ts: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime (None stays None: never polled, no data).

    Cut down to the microsecond, never rounded up: a time the API shows, sent back as a
    ``start``, must select the row it was shown for (rounding up put it just past it).
    """
    if ts is None:
        return None
    micros = math.floor(ts * 1_000_000)
    if micros / 1_000_000 > ts:  # the product rounded up past a microsecond boundary
        micros -= 1
    return _EPOCH + timedelta(microseconds=micros)


def invalid(field: str, message: str, value: Any) -> RequestValidationError:
    """A 422 shaped exactly like FastAPI's own, so clients handle one error format."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": message, "input": value}]
    )


def check_window(start: float | None, end: float | None, longest_s: float | None = None) -> None:
    """Both bounds given and end not after start: a 422 naming both times. With
    ``longest_s``, a window longer than that is a 422 naming ``start`` (the bound a caller
    moves to ask for less), for routes whose work grows with the window."""
    if start is None or end is None:
        return
    if end <= start:
        raise invalid(
            "end",
            f"end ({utc(end).isoformat()}) must be after start ({utc(start).isoformat()})",
            end,
        )
    if longest_s is not None and end - start > longest_s:
        raise invalid(
            "start",
            f"the range from start ({utc(start).isoformat()}) to end ({utc(end).isoformat()}) "
            f"is longer than the longest allowed, {longest_s / 86400:g} days",
            start,
        )
