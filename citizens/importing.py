"""The operation centre's other channels (its ticket system, a municipal app, a hotline
log) as a CSV or JSON import of citizens' reports: one reader, used by
``POST /api/v1/citizen-reports/import`` and by ``citywifi citizen-reports import``.

All or nothing: every row is read and checked before anything is filed, and the first
bad one is an :class:`~core.errors.InventoryError` naming the file, the line (CSV) or item
(JSON) and the column, so the sender fixes that line and sends the file again. A ``ref``
(the other system's id, stored as ``external_ref``) already imported is skipped, not
filed twice: the same export sent again, or a daily export overlapping yesterday's, is
safe. Rows are filed oldest first, each at its ``received_at``, so several reports about
one hotspot join one incident as they would have had they come in live.

Columns (CSV header, or JSON keys): ``ref`` and ``problem`` (required), ``received_at``
(ISO 8601 with an offset, or epoch seconds; the import's time when empty), ``lat`` and
``lon`` (both or neither), ``site`` (a site id; wins over lat/lon), ``text``, ``phone``.
A message never repeats a row's text or phone number: they are personal data.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from citizens.filing import FiledReport, NewReport, file_report
from citizens.phone import normalise_phone
from core.citizens import Channel, Match, Problem
from core.errors import CitywifiError, InventoryError
from core.settings import Settings
from inventory import citizen_reports
from inventory.secretbox import SecretBox

__all__ = [
    "COLUMNS",
    "FUTURE_SLACK_S",
    "MAX_IMPORT_BYTES",
    "MAX_REF",
    "MAX_ROWS",
    "MAX_TEXT",
    "ImportOutcome",
    "ImportRow",
    "RowOutcome",
    "import_reports",
    "parse_reports",
]

#: The largest import accepted (the API refuses a larger body with 413 before reading on).
MAX_IMPORT_BYTES = 2_000_000
MAX_ROWS = 5000
MAX_REF = 100  # citizen_reports.external_ref
MAX_TEXT = 1000  # a report's free text, as on the report page and the API
MAX_SITE = 64
#: How far in the future a ``received_at`` may be: clocks of other systems drift a little.
FUTURE_SLACK_S = 300.0

COLUMNS = ("ref", "received_at", "lat", "lon", "site", "problem", "text", "phone")
_REQUIRED = ("ref", "problem")
_PROBLEMS = ", ".join(p.value for p in Problem)

Format = Literal["csv", "json"]


@dataclass(frozen=True)
class ImportRow:
    """One checked row; ``line``: where it is in the file (the CSV line, the JSON item)."""

    line: int
    where: str  # "reports.csv:4", "reports.json: item 3": for a message
    ref: str
    problem: Problem
    received_at: float | None = None
    lat: float | None = None
    lon: float | None = None
    site_id: str | None = None
    text: str | None = None
    phone: str | None = None  # normalised (citizens.phone)


class _Bad(Exception):
    """A column's value is wrong: (column, message)."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _where(source: str, fmt: Format, line: int) -> str:
    return f"{source}:{line}" if fmt == "csv" else f"{source}: item {line}"


def _text(value: Any, column: str, *, limit: int) -> str | None:
    """A value as stripped text (None when empty); the message never quotes it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Bad(column, "must be text")
    text = str(value).strip()
    if "\x00" in text:
        raise _Bad(column, "must not contain a NUL character")
    if len(text) > limit:
        raise _Bad(column, f"at most {limit} characters")
    return text or None


def _number(value: Any, column: str, low: float, high: float) -> float | None:
    if isinstance(value, bool):
        raise _Bad(column, "must be a number")
    text = value if isinstance(value, int | float) else _text(value, column, limit=40)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise _Bad(column, f"not a number: {text!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise _Bad(column, f"must be from {low:g} to {high:g} (got {number:g})")
    return number


def _iso_or_epoch(text: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(
            column, f"not a time: {text!r}; use ISO 8601 with an offset or epoch seconds"
        ) from None
    if when.tzinfo is None:
        raise _Bad(column, f"{text!r} has no offset: add Z or +07:00")
    return when.timestamp()


def _time(value: Any, now: float | None) -> float | None:
    column = "received_at"
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = _text(value, column, limit=40)
        if text is None:
            return None
        seconds = _iso_or_epoch(text, column)
    if not math.isfinite(seconds) or seconds < 0:
        raise _Bad(column, "must be a time after 1970")
    if now is not None and seconds > now + FUTURE_SLACK_S:
        raise _Bad(column, "is in the future")
    return seconds


def _row(line: int, where: str, values: Mapping[str, Any], now: float | None) -> ImportRow:
    unknown = sorted(str(k) for k in values if k not in COLUMNS)
    if unknown:
        raise _Bad(unknown[0], f"unknown column; the columns are {', '.join(COLUMNS)}")
    ref = _text(values.get("ref"), "ref", limit=MAX_REF)
    if ref is None:
        raise _Bad("ref", "required: the report's id in the system it comes from")
    given = _text(values.get("problem"), "problem", limit=40)
    if given is None:
        raise _Bad("problem", f"required: one of {_PROBLEMS}")
    try:
        problem = Problem(given)
    except ValueError:
        raise _Bad("problem", f"{given!r} is not one of {_PROBLEMS}") from None
    lat = _number(values.get("lat"), "lat", -90, 90)
    lon = _number(values.get("lon"), "lon", -180, 180)
    if (lat is None) != (lon is None):
        raise _Bad("lon" if lon is None else "lat", "give both lat and lon, or neither")
    site = _text(values.get("site"), "site", limit=MAX_SITE)
    if site is None and lat is None:
        raise _Bad("lat", "give lat and lon, or site: where the problem is")
    phone_text = _text(values.get("phone"), "phone", limit=40)
    phone = None
    if phone_text is not None:
        try:
            phone = normalise_phone(phone_text)
        except ValueError as exc:
            raise _Bad("phone", str(exc)) from None
    return ImportRow(
        line=line,
        where=where,
        ref=ref,
        problem=problem,
        received_at=_time(values.get("received_at"), now),
        lat=lat,
        lon=lon,
        site_id=site,
        text=_text(values.get("text"), "text", limit=MAX_TEXT),
        phone=phone,
    )


# What each key's JSON value may be: the import's OpenAPI schema says the same, so a value
# of another type is refused whatever it would convert to.
_JSON_TYPES = {
    "ref": "text",
    "problem": "text",
    "site": "text",
    "text": "text",
    "phone": "text",
    "lat": "number",
    "lon": "number",
    "received_at": "time",
}
_JSON_TYPE_WORDS = {"text": "a string", "number": "a number", "time": "a string or a number"}


def _json_type_ok(value: Any, wanted: str) -> bool:
    if value is None:
        return True
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if wanted == "text":
        return isinstance(value, str)
    if wanted == "number":
        return number
    return number or isinstance(value, str)


def _csv_rows(data: bytes, source: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InventoryError([f"{source}:{line}: not UTF-8 text"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InventoryError([f"{source}:1: empty file: a header line is expected"]) from None
    except csv.Error as exc:
        raise InventoryError([f"{source}:1: {exc}"]) from None
    columns = [name.strip().lower() for name in header]
    for name in columns:
        if name not in COLUMNS:
            raise InventoryError(
                [f"{source}:1: column {name!r}: unknown; the columns are {', '.join(COLUMNS)}"]
            )
    for name in _REQUIRED:
        if name not in columns:
            raise InventoryError([f"{source}:1: column {name!r} missing from the header"])
    if len(set(columns)) != len(columns):
        raise InventoryError([f"{source}:1: a column is named twice"])
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InventoryError([f"{source}:{start}: {exc}"]) from None
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # a blank line (a trailing one, mostly)
        if len(cells) != len(columns):
            raise InventoryError(
                [f"{source}:{line}: {len(cells)} cells where the header has {len(columns)}"]
            )
        yield line, dict(zip(columns, cells, strict=True))


def _json_rows(data: bytes, source: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", 1)
        raise InventoryError([f"{source}:{line}: not JSON ({type(exc).__name__})"]) from None
    if not isinstance(document, list):
        raise InventoryError([f"{source}: a JSON list of reports is expected"])
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            raise InventoryError([f"{source}: item {number}: a report is a JSON object"])
        for key, value in item.items():
            wanted = _JSON_TYPES.get(key)
            if wanted is not None and not _json_type_ok(value, wanted):
                raise InventoryError(
                    [f"{source}: item {number}: column {key}: must be {_JSON_TYPE_WORDS[wanted]}"]
                )
        yield number, item


def parse_reports(
    data: bytes, fmt: Format, source: str, *, now: float | None = None
) -> list[ImportRow]:
    """Every row of ``data`` checked, in file order; InventoryError naming ``source``,
    the line and the column of the first bad one (or of a ``ref`` given twice).
    ``now``: a ``received_at`` after it (and :data:`FUTURE_SLACK_S`) is refused."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InventoryError([f"{source}: larger than {MAX_IMPORT_BYTES} bytes: split it"])
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    found = _csv_rows(data, source) if fmt == "csv" else _json_rows(data, source)
    for line, values in found:
        where = _where(source, fmt, line)
        if len(rows) >= MAX_ROWS:
            raise InventoryError([f"{where}: more than {MAX_ROWS} reports: split the file"])
        try:
            row = _row(line, where, values, now)
        except _Bad as bad:
            raise InventoryError([f"{where}: column {bad.column}: {bad.message}"]) from None
        if row.ref in seen:
            first = _where(source, fmt, seen[row.ref]).removeprefix(f"{source}:").strip()
            raise InventoryError([f"{where}: column ref: {row.ref!r} already given at {first}"])
        seen[row.ref] = line
        rows.append(row)
    if not rows:
        raise InventoryError([f"{source}: no reports in it"])
    return rows


@dataclass(frozen=True)
class RowOutcome:
    """What importing one row did: ``report`` None when its ref was imported before."""

    line: int
    ref: str
    report: FiledReport | None

    @property
    def skipped(self) -> bool:
        return self.report is None


@dataclass(frozen=True)
class ImportOutcome:
    rows: list[RowOutcome]  # in file order

    @property
    def filed(self) -> int:
        return sum(1 for row in self.rows if not row.skipped)

    @property
    def skipped(self) -> int:
        return sum(1 for row in self.rows if row.skipped)

    @property
    def unmatched(self) -> int:
        return sum(
            1 for row in self.rows if row.report is not None and row.report.match is Match.UNMATCHED
        )

    def summary(self, source: str) -> str:
        """The audit detail and the CLI's line: counts and the ids filed, no content."""
        ids = sorted(row.report.id for row in self.rows if row.report is not None)
        named = f"; report {ids[0]}..{ids[-1]}" if ids else ""
        return (
            f"{source}: {self.filed} filed, {self.skipped} skipped (imported before), "
            f"{self.unmatched} unmatched{named}"
        )


def import_reports(
    session: Session,
    rows: list[ImportRow],
    *,
    box: SecretBox,
    settings: Settings,
    now: float,
    filed_by: str,
) -> ImportOutcome:
    """File every row whose ref is new, oldest first, in the caller's transaction (flush,
    never commit: the caller commits with its audit row, or rolls back). A row that
    cannot be filed (a site that is not there or not active) is an InventoryError naming
    its line: the caller rolls back, and nothing of the file is kept."""
    known = citizen_reports.existing_refs(session, [row.ref for row in rows])
    filed: dict[int, FiledReport] = {}
    for row in sorted(rows, key=lambda r: (r.received_at or now, r.line)):
        if row.ref in known:
            continue
        report = NewReport(
            problem=row.problem,
            channel=Channel.IMPORT,
            lat=row.lat,
            lon=row.lon,
            site_id=row.site_id,
            text=row.text,
            phone=row.phone,
            filed_by=filed_by,
            external_ref=row.ref,
        )
        when = row.received_at if row.received_at is not None else now
        try:
            filed[row.line] = file_report(session, report, box=box, settings=settings, now=when)
        except (CitywifiError, ValueError) as exc:
            column = "site" if row.site_id is not None else "lat"
            raise InventoryError([f"{row.where}: column {column}: {exc}"]) from None
    return ImportOutcome(
        [RowOutcome(line=row.line, ref=row.ref, report=filed.get(row.line)) for row in rows]
    )
