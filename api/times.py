"""Times in and out of the API: one parser for query times, one formatter for answers.

The database and the stores keep UTC epoch seconds; the API takes ISO 8601 or epoch
seconds in queries and answers timezone-aware UTC datetimes (rendered with a ``Z``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, overload

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, WithJsonSchema


def parse_time(value: Any) -> Any:
    """Accept epoch seconds or ISO 8601, because shell users type one and browsers the other.

    A datetime without an offset is taken as UTC: the whole system keeps UTC, and guessing
    the server's local zone would make the same URL mean different things on two hosts.
    """
    if not isinstance(value, str):
        return value
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


TimeQuery = Annotated[
    float | None,
    BeforeValidator(parse_time),
    # What a client may send, not the float it becomes after parsing.
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]}),
    Query(description="ISO 8601 datetime or UTC epoch seconds."),
]


@overload
def utc(ts: float) -> datetime: ...
@overload
def utc(ts: None) -> None: ...
def utc(ts: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime (None stays None: never polled, no data)."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


def invalid(field: str, message: str, value: Any) -> RequestValidationError:
    """A 422 shaped exactly like FastAPI's own, so clients handle one error format."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": message, "input": value}]
    )


def check_window(start: float | None, end: float | None) -> None:
    """Both bounds given and end not after start: a 422 naming both times."""
    if start is not None and end is not None and end <= start:
        raise invalid(
            "end",
            f"end ({utc(end).isoformat()}) must be after start ({utc(start).isoformat()})",
            end,
        )
