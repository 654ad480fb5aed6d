"""The import of other channels' reports: every row checked before anything is filed, the
first bad one named by file, line (or item) and column without repeating personal data;
refs imported before skipped; rows filed oldest first at their own time."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from citizens.importing import MAX_IMPORT_BYTES, MAX_TEXT, import_reports, parse_reports
from core.citizens import Match, Problem
from core.errors import InventoryError
from core.settings import Settings
from inventory.db import open_inventory, transaction
from inventory.models import (
    CitizenReport,
    Incident,
)
from inventory.secretbox import SecretBox
from tests.citizens.city import seed_square
from tests.fixtures.secret_scan import PersonalData

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LAT, LON = -6.2, 106.8
PHONE_TYPED, PHONE = "+62 812-7000-4411", "+6281270004411"

HEADER = "ref,received_at,lat,lon,site,problem,text,phone\n"


def csv_of(*lines: str) -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode()


def test_csv_rows_are_read_in_file_order() -> None:
    rows = parse_reports(
        csv_of(
            f"T-1,2025-12-31T23:00:00+07:00,{LAT},{LON},,no_signal,dead since noon,",
            "T-2,1767225000,,,s-1,slow,,(0812) 3456 7890",
            "",  # a blank line is no row
        ),
        "csv",
        "t.csv",
        now=NOW,
    )
    assert [(r.line, r.ref, r.problem) for r in rows] == [
        (2, "T-1", Problem.NO_SIGNAL),
        (3, "T-2", Problem.SLOW),
    ]
    assert rows[0].received_at == NOW - 8 * 3600
    assert (rows[0].lat, rows[0].lon, rows[0].text) == (LAT, LON, "dead since noon")
    assert (rows[1].site_id, rows[1].phone, rows[1].lat) == ("s-1", "081234567890", None)


def test_json_rows_with_only_some_keys() -> None:
    data = json.dumps(
        [
            {"ref": "J-1", "lat": LAT, "lon": LON, "problem": "damaged"},
            {"ref": "J-2", "site": "s-1", "problem": "no_internet", "received_at": None},
        ]
    ).encode()
    rows = parse_reports(data, "json", "j.json")
    assert [(r.line, r.ref, r.where) for r in rows] == [(1, "J-1", "j.json: item 1"),
                                                        (2, "J-2", "j.json: item 2")]  # fmt: skip
    assert rows[1].received_at is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("X-1,,1,2,,broken,,", "t.csv:3: column problem: 'broken' is not one of no_signal"),
        (",,1,2,,slow,,", "t.csv:3: column ref: required"),
        ("X-1,,91,2,,slow,,", "t.csv:3: column lat: must be from -90 to 90 (got 91)"),
        ("X-1,,1,,,slow,,", "t.csv:3: column lon: give both lat and lon"),
        ("X-1,,,,,slow,,", "t.csv:3: column lat: give lat and lon, or site"),
        ("X-1,yesterday,1,2,,slow,,", "t.csv:3: column received_at: not a time: 'yesterday'"),
        ("X-1,2025-12-31T10:00:00,1,2,,slow,,",
         "t.csv:3: column received_at: '2025-12-31T10:00:00' has no offset"),
        ("X-1,1999999999,1,2,,slow,,", "t.csv:3: column received_at: is in the future"),
        ("X-1,,1,2,,slow,,12-34", "t.csv:3: column phone: a phone number has 6 to 16 digits"),
        ("X-1,,1,2,,slow,x" + "y" * MAX_TEXT + ",", f"t.csv:3: column text: at most {MAX_TEXT}"),
        ("X-1,,1,2,,slow", "t.csv:3: 6 cells where the header has 8"),
        ("A-1,,1,2,,slow,,", "t.csv:3: column ref: 'A-1' already given at 2"),
    ],
)  # fmt: skip
def test_the_first_bad_row_is_named_by_line_and_column(line: str, message: str) -> None:
    data = csv_of("A-1,,1,2,,slow,,", line, "Z-9,,nonsense,,,,,")
    with pytest.raises(InventoryError) as caught:
        parse_reports(data, "csv", "t.csv", now=NOW)
    assert caught.value.problems == [caught.value.problems[0]]  # the first one only
    assert str(caught.value).startswith(message)


def test_a_bad_phone_or_text_is_never_repeated(personal_data: PersonalData) -> None:
    personal_data.names(["0812-999-BAD-1", "my secret complaint text"])
    data = csv_of("B-1,,1,2,,slow,my secret complaint text,0812-999-BAD-1")
    with pytest.raises(InventoryError) as caught:
        parse_reports(data, "csv", "t.csv")
    assert str(caught.value) == (
        "t.csv:2: column phone: a phone number holds only digits, spaces, - . / ( ) and a leading +"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "t.csv:1: empty file"),
        (b"ref,problem,colour\n", "t.csv:1: column 'colour': unknown"),
        (b"ref,lat,lon\n", "t.csv:1: column 'problem' missing"),
        (b"ref,problem\n", "t.csv: no reports in it"),
        (b"ref,problem\nA,slow\n\xff,slow\n", "t.csv:3: not UTF-8"),
        (b"x" * (MAX_IMPORT_BYTES + 1), "t.csv: larger than"),
    ],
)
def test_a_file_that_is_no_import_is_said_so(data: bytes, message: str) -> None:
    with pytest.raises(InventoryError, match="^" + message):
        parse_reports(data, "csv", "t.csv")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{}", "t.json: a JSON list of reports is expected"),
        ("[1]", "t.json: item 1: a report is a JSON object"),
        ('[{"ref": 7, "problem": "slow"}]', "t.json: item 1: column ref: must be a string"),
        ('[{"ref": "a", "problem": "slow", "lat": "1"}]', "t.json: item 1: column lat: must be"),
        ('[{"ref": "a", "problem": "slow", "colour": 1}]', "t.json: item 1: column colour: unk"),
        ("[\n{", "t.json:2: not JSON"),
    ],
)
def test_json_that_is_no_import_is_said_so(document: str, message: str) -> None:
    with pytest.raises(InventoryError, match="^" + message):
        parse_reports(document.encode(), "json", "t.json")


# -- filing -------------------------------------------------------------------------------


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """Site s-1 (one enabled AP, radius 80 m) at LAT/LON."""
    engine = open_inventory(database_url, create=True)
    with transaction(engine) as session:
        seed_square(session, LAT, LON)
    yield engine
    engine.dispose()


def test_rows_are_filed_oldest_first_and_a_ref_only_once(
    engine: Engine, secret_box: SecretBox, personal_data: PersonalData
) -> None:
    personal_data.names([PHONE_TYPED, PHONE])
    data = csv_of(
        f"R-2,{NOW - 60:.0f},{LAT},{LON},,slow,,{PHONE_TYPED}",
        f"R-1,{NOW - 600:.0f},,,s-1,no_signal,,",
        f"R-3,,{LAT + 1},{LON},,damaged,,",  # far from any hotspot
    )
    rows = parse_reports(data, "csv", "t.csv", now=NOW)
    with transaction(engine) as session:
        outcome = import_reports(
            session, rows, box=secret_box, settings=Settings(), now=NOW, filed_by="cli:test"
        )
    assert (outcome.filed, outcome.skipped, outcome.unmatched) == (3, 0, 1)
    first, second, third = (row.report for row in outcome.rows)
    assert first is not None and second is not None and third is not None
    assert second.match is Match.OPENED and first.match is Match.JOINED  # R-1 came first
    assert first.incident_id == second.incident_id
    assert third.match is Match.UNMATCHED and third.incident_id is None
    assert outcome.summary("t.csv").startswith(
        "t.csv: 3 filed, 0 skipped (imported before), 1 unmatched"
    )
    with Session(engine) as session:
        stored = {r.external_ref: r for r in session.scalars(select(CitizenReport))}
        incident = session.get(Incident, first.incident_id)
        assert incident is not None and incident.priority == 2
    assert stored["R-1"].received_at == NOW - 600 and stored["R-3"].received_at == NOW
    assert PHONE not in (stored["R-2"].phone_sealed or "")
    assert secret_box.open(stored["R-2"].phone_sealed) == PHONE

    again = parse_reports(data + b"R-4,,,,s-1,slow,,\n", "csv", "t.csv", now=NOW)
    with transaction(engine) as session:
        outcome = import_reports(
            session, again, box=secret_box, settings=Settings(), now=NOW, filed_by="cli:test"
        )
    assert (outcome.filed, outcome.skipped) == (1, 3)
    assert [row.ref for row in outcome.rows if not row.skipped] == ["R-4"]


def test_a_row_that_cannot_be_filed_names_its_line(engine: Engine, secret_box: SecretBox) -> None:
    rows = parse_reports(csv_of("R-1,,,,s-1,slow,,", "R-2,,,,s-nowhere,slow,,"), "csv", "t.csv")
    with pytest.raises(InventoryError, match=r"^t\.csv:3: column site: "), Session(engine) as s:
        import_reports(s, rows, box=secret_box, settings=Settings(), now=NOW, filed_by="x")
