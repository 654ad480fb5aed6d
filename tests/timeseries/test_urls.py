"""Server store URL parsing and redaction."""

from __future__ import annotations

import pytest

from timeseries import StoreError
from timeseries.urls import parse_duration, parse_server_url, redact


def test_a_url_splits_into_base_credentials_and_options() -> None:
    parsed = parse_server_url(
        "influxdb+https://me:p%40ss@[::1]:8086/a/b/?db=x&db=y&token=t", "influxdb", ("db", "token")
    )
    assert parsed.base == "https://[::1]:8086/a/b"
    assert (parsed.user, parsed.password) == ("me", "p@ss")
    assert parsed.params == {"db": ["x", "y"], "token": ["t"]}
    assert parsed.one("db") == "y"
    assert "p@ss" not in repr(parsed) and "p%40ss" not in repr(parsed)
    assert "token=***" in repr(parsed)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("embedded:///var/lib/x", "embedded:///var/lib/x"),
        ("influxdb+http://u:pw@h?db=a", "influxdb+http://u:***@h?db=a"),
        ("x://h?token=abc&db=a&password=p", "x://h?token=***&db=a&password=***"),
        ("x://h:notaport?token=abc", "x://h:notaport?token=***"),
        ("x://u:pw@h:notaport", "x://h:notaport"),
    ],
)
def test_redact_hides_passwords_and_tokens(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("30s", 30.0), ("15m", 900.0), ("1h", 3600.0), ("2d", 172800.0), ("500ms", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_none() -> None:
    assert parse_duration("soon") is None


def test_a_non_string_url_is_refused() -> None:
    with pytest.raises(StoreError, match="must be a string"):
        parse_server_url(None, "influxdb", ())  # type: ignore[arg-type]


def test_a_fragment_is_refused() -> None:
    with pytest.raises(StoreError, match="'#' part"):
        parse_server_url("influxdb+http://h#x", "influxdb", ())
