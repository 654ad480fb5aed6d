"""The report as CSV: the columns and rows the spec fixes, numbers a spreadsheet reads in
any locale, empty cells for what was not measured, and names that stay text."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from reports.csvformat import DAY_COLUMNS, SITE_COLUMNS, gigabytes, usage_csv
from reports.model import UsageReport


def sections(text: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The site rows (TOTAL last) and the day rows, split at the blank line."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    blank = rows.index([])
    sites, days = rows[:blank], rows[blank + 1 :]
    assert tuple(sites[0]) == SITE_COLUMNS
    assert tuple(days[0]) == DAY_COLUMNS
    return (
        [dict(zip(sites[0], row, strict=True)) for row in sites[1:]],
        [dict(zip(days[0], row, strict=True)) for row in days[1:]],
    )


def test_one_row_per_site_then_the_total(hand_report: UsageReport) -> None:
    sites, _ = sections(usage_csv(hand_report))
    assert [row["id"] for row in sites] == ["s-park", "s-pier", "s-planned", "TOTAL"]
    park, pier, _planned, total = sites
    assert park == {
        "id": "s-park",
        "name": "Riverside Park",
        "district": "d-north",
        "availability_pct": "99.500",
        "sla_target_pct": "95.000",
        "sla_met": "yes",
        "downtime_s": "12960",
        "maintenance_s": "0",
        "down_gb": "1.001",  # 1 000 500 000 bytes: exactly 1.0005 GB, the half rounded up
        "up_gb": "0.099",
        "source": "radius",
        "sessions": "420",
        "users": "137",
        "median_session_s": "1234",  # 1234.5 s, whole seconds (half to even)
        "clients_peak": "41",
        "clients_mean": "12.35",  # 12.345: two decimals
        "incidents": "2",
    }
    assert pier["name"] == "Pier, North End" and pier["district"] == ""
    assert (pier["sla_met"], pier["source"], pier["down_gb"], pier["up_gb"]) == (
        "no", "snmp", "5.000", "0.000"
    )  # fmt: skip
    assert (pier["sessions"], pier["users"], pier["median_session_s"]) == ("", "", "")
    assert total["name"] == "Bank of Example"
    assert total["availability_pct"] == "96.333"  # 2890 / 3000
    assert total["down_gb"] == "6.001"
    assert total["incidents"] == "2"  # incident 7 took down two sites: counted once


def test_not_measured_is_an_empty_cell_never_zero(hand_report: UsageReport) -> None:
    sites, days = sections(usage_csv(hand_report))
    planned = sites[2]
    for column in ("availability_pct", "sla_met", "downtime_s", "clients_peak", "clients_mean"):
        assert planned[column] == "", column
    assert planned["down_gb"] == "0.000"  # bytes are counted: none is 0
    assert days[1] == {
        "day": "2026-11-02",
        "availability_pct": "",
        "down_gb": "0.000",
        "up_gb": "0.000",
        "clients_peak": "",
        "sessions": "0",
    }


def test_the_daily_section(hand_report: UsageReport) -> None:
    _, days = sections(usage_csv(hand_report))
    assert days[0] == {
        "day": "2026-11-01",
        "availability_pct": "100.000",
        "down_gb": "0.002",  # 1.5 MB
        "up_gb": "0.001",  # 0.5 MB: the half rounded up
        "clients_peak": "12",
        "sessions": "14",
    }
    assert len(days) == len(hand_report.days)


def test_numbers_have_a_dot_and_no_separators(
    make_hand_report: Callable[..., UsageReport], hand_report: UsageReport
) -> None:
    """Large figures are plain digits (no thousands separator, no exponent), so every
    locale's spreadsheet reads the same number."""
    big = replace(hand_report.totals, down_bytes=12_345_678_901_234_567, downtime_s=2_592_000.0)
    sites, _ = sections(usage_csv(make_hand_report(totals=big)))
    total = sites[-1]
    assert total["down_gb"] == "12345678.901"
    assert total["downtime_s"] == "2592000"


def test_formula_like_names_stay_text(hand_report: UsageReport) -> None:
    """A site named "=New Library" would run as a formula in a spreadsheet (CSV
    injection): it arrives with a leading apostrophe, which spreadsheets hide."""
    sites, _ = sections(usage_csv(hand_report))
    assert sites[2]["name"] == "'=New Library"


def test_lines_end_in_crlf(hand_report: UsageReport) -> None:
    text = usage_csv(hand_report)
    assert text.count("\r\n") == text.count("\n")
    assert "\r\n\r\n" in text  # the blank line between the sections


def test_gigabytes_are_decimal_and_exact() -> None:
    assert gigabytes(0) == Decimal("0.000")
    assert gigabytes(999_499_999) == Decimal("0.999")
    assert gigabytes(1_000_500_000) == Decimal("1.001")
    assert gigabytes(10**18) == Decimal("1000000000.000")
