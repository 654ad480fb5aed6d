"""The engineers' citizen-report routes on the fixture city (tests.api.city): the call
centre files a caller's report (matched to a hotspot and its incident, audited without
the number), engineers list and read them (the number only there, until closed), see the
photo (never cached, audited), close them, and import other channels' CSV or JSON, all or
nothing.

Every phone number and text sent here is registered with the personal-data scan: the
session fails if one shows up in any response, log line or error, except in the one test
marked ``allow_personal_data`` that reads the engineer's view of a report on purpose.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import get_now
from citizens.importing import MAX_IMPORT_BYTES
from inventory.models import CitizenReport, Incident, ReportPhoto
from tests.api.city import SITE_POSITIONS
from tests.fixtures.secret_scan import PersonalData

BASE = "/api/v1/citizen-reports"
PARK_LAT, PARK_LON = SITE_POSITIONS["s-park"]
FAR = (PARK_LAT + 1.0, PARK_LON)  # no hotspot within reach
# The seeded incidents (tests.api.city.seed_incidents): ap_down ap-02 at s-park is the
# oldest active one there; site_down s-school the only one at s-school.
BANK_AP, SCHOOL = 1, 4

PHONE_TYPED, PHONE = "+62 812-5550-1234", "+6281255501234"
TEXT = "the hotspot by the fountain died this morning"


@pytest.fixture
def clock(client: TestClient, now: float) -> Iterator[float]:
    """The app's clock fixed 60 s after the fixture's now."""
    client.app.dependency_overrides[get_now] = lambda: now + 60  # type: ignore[attr-defined]
    yield now + 60
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


@pytest.fixture
def engineer(client_as: Any, clock: float) -> TestClient:
    found: TestClient = client_as("engineer")
    return found


@pytest.fixture
def caller(personal_data: PersonalData) -> dict[str, str]:
    """What a caller tells the operator, registered as personal data (every spelling)."""
    personal_data.names([PHONE_TYPED, PHONE, TEXT])
    return {"phone": PHONE_TYPED, "text": TEXT}


def filed(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(BASE, json=body)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def session_of(client: TestClient) -> Session:
    return client.app.state.session_factory()  # type: ignore[attr-defined,no-any-return]


def audit_rows(client: TestClient, action: str) -> list[tuple[str, str, str | None]]:
    entries = client.get("/api/v1/audit", params={"action": action, "limit": 50}).json()["data"]
    return [(e["actor"], e["target"], e["detail"]) for e in entries]


def test_an_operator_files_a_call_at_a_known_outage(
    engineer: TestClient, client: TestClient, caller: dict[str, str]
) -> None:
    body = filed(engineer, lat=PARK_LAT, lon=PARK_LON + 0.0002, problem="no_signal", **caller)
    assert body == {
        "id": body["id"],
        "match": "joined",
        "site_id": "s-park",
        "site_name": "Riverside Park",
        "distance_m": pytest.approx(body["distance_m"]),
        "incident": {"id": BANK_AP, "class": "ap_down", "state": "open", "priority": 1},
        "known": True,
    }
    assert 15 < body["distance_m"] < 30
    detail = f"no_signal at site s-park: joined, incident {BANK_AP}"
    assert audit_rows(client, "citizen_report_filed") == [
        ("engineer", f"citizen report {body['id']}", detail)
    ]
    incident = client.get(f"/api/v1/incidents/{BANK_AP}").json()
    assert (incident["priority"], incident["citizen_reports"]) == (1, 1)
    assert [e["detail"] for e in incident["timeline"] if e["kind"] == "citizen_report"] == [
        f"citizen report #{body['id']}: no WiFi signal (call_centre)"
    ]
    with session_of(client) as session:
        row = session.get(CitizenReport, body["id"])
        assert row is not None and row.filed_by == "engineer" and row.channel == "call_centre"
        assert row.phone_sealed and PHONE not in row.phone_sealed
        assert row.text_sealed and TEXT not in row.text_sealed


def test_a_call_about_a_hotspot_without_incident_opens_one_the_next_joins(
    engineer: TestClient, client: TestClient
) -> None:
    resolved = client.post(f"/api/v1/incidents/{SCHOOL}/resolve", json={})
    assert resolved.status_code == 200, resolved.text
    first = filed(engineer, site_id="s-school", problem="slow")
    assert (first["match"], first["known"], first["distance_m"]) == ("opened", False, None)
    opened = first["incident"]
    assert (opened["class"], opened["state"], opened["priority"]) == ("citizen_reported", "open", 1)
    second = filed(engineer, site_id="s-school", problem="damaged")
    assert (second["match"], second["known"]) == ("joined", True)
    assert second["incident"] == {**opened, "priority": 2}
    by_priority = client.get("/api/v1/incidents", params={"sort": "priority"}).json()["data"]
    assert by_priority[0]["id"] == opened["id"]
    assert by_priority[0]["citizen_reports"] == 2
    newest = client.get("/api/v1/incidents").json()["data"]
    assert [i["opened_at"] for i in newest] == sorted(
        (i["opened_at"] for i in newest), reverse=True
    )


def test_a_call_from_nowhere_near_a_hotspot_is_stored_unmatched(engineer: TestClient) -> None:
    body = filed(engineer, lat=FAR[0], lon=FAR[1], problem="no_internet", text="  ")
    assert (body["match"], body["site_id"], body["incident"], body["known"]) == (
        "unmatched", None, None, False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"problem": "slow"}, "body.lat: give lat and lon, or site_id"),
        ({"problem": "slow", "lat": 1.0}, "body.lon: give both lat and lon"),
        ({"problem": "slow", "site_id": "s-planned"},
         "body.site_id: site 's-planned' is not an active hotspot"),
        ({"problem": "slow", "site_id": "s-nowhere"}, "body.site_id: site 's-nowhere' is not"),
        ({"problem": "broken", "site_id": "s-park"}, "body.problem: Input should be"),
        ({"problem": "slow", "site_id": "s-park", "text": "x" * 1001},
         "body.text: String should have at most 1000 characters"),
    ],
)  # fmt: skip
def test_a_report_that_cannot_be_filed_is_a_one_line_422(
    engineer: TestClient, client: TestClient, body: dict[str, Any], message: str
) -> None:
    response = engineer.post(BASE, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(message)
    assert client.get(BASE).json()["count"] == 0
    assert audit_rows(client, "citizen_report_filed") == []


def test_a_bad_number_is_refused_without_repeating_it(
    engineer: TestClient, personal_data: PersonalData
) -> None:
    personal_data.names(["0812-BAD-55501"])
    response = engineer.post(
        BASE, json={"problem": "slow", "site_id": "s-park", "phone": "0812-BAD-55501"}
    )
    assert response.status_code == 422
    assert response.json()["message"].startswith("body.phone: Value error, a phone number holds")
    missing = engineer.post(BASE, json={"phone": "0812-BAD-55501", "site_id": "s-park"})
    assert missing.status_code == 422  # the whole body echoed: the number redacted in it


@pytest.mark.parametrize("user", ["planner", "partner", "partner-telco"])
def test_only_engineers_read_and_file(client_as: Any, clock: float, user: str) -> None:
    other: TestClient = client_as(user)
    assert other.post(BASE, json={"problem": "slow", "site_id": "s-park"}).status_code == 403
    assert other.get(BASE).status_code == 403
    imported = other.post(
        f"{BASE}/import", content=b"ref,problem,site\nX,slow,s-park\n",
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert imported.status_code == 403


def test_the_list_filters_and_counts(engineer: TestClient, clock: float) -> None:
    a = filed(engineer, lat=PARK_LAT, lon=PARK_LON, problem="slow")
    b = filed(engineer, lat=FAR[0], lon=FAR[1], problem="damaged")
    c = filed(engineer, site_id="s-market", problem="no_signal")
    engineer.post(f"{BASE}/{a['id']}/close")

    def ids(**params: Any) -> list[int]:
        body = engineer.get(BASE, params=params).json()
        assert body["count"] == len(body["data"]) or params.get("limit")
        return [row["id"] for row in body["data"]]

    assert ids() == [c["id"], b["id"], a["id"]]  # newest first (ties: the latest id)
    assert ids(site_id="s-park") == [a["id"]]
    assert ids(match="unmatched") == [b["id"]]
    assert ids(incident_id=c["incident"]["id"]) == [c["id"]]
    assert ids(open="true") == [c["id"], b["id"]]
    assert ids(open="false") == [a["id"]]
    page = engineer.get(BASE, params={"limit": 1, "offset": 1}).json()
    assert (page["count"], [r["id"] for r in page["data"]]) == (3, [b["id"]])
    row = engineer.get(BASE, params={"site_id": "s-market"}).json()["data"][0]
    assert row["incident"]["id"] == c["incident"]["id"]
    assert (row["channel"], row["problem"], row["site_name"]) == (
        "call_centre",
        "no_signal",
        "Central Market",
    )
    seen = (row["phone"], row["text"], row["has_photo"], row["filed_by"])
    assert seen == (None, None, False, "engineer")
    assert row["received_at"] == "2026-01-01T00:01:00Z"


@pytest.mark.allow_personal_data("the engineer's view of a report shows the caller's number")
def test_the_engineer_reads_the_number_until_the_report_is_closed(
    engineer: TestClient, client: TestClient, caller: dict[str, str]
) -> None:
    made = filed(engineer, lat=PARK_LAT, lon=PARK_LON, problem="login_broken", **caller)
    report = engineer.get(f"{BASE}/{made['id']}").json()
    assert (report["phone"], report["text"], report["closed_at"]) == (PHONE, TEXT, None)
    closed = engineer.post(f"{BASE}/{made['id']}/close")
    assert closed.status_code == 200, closed.text
    assert (closed.json()["phone"], closed.json()["text"]) == (None, TEXT)
    assert closed.json()["closed_at"] == "2026-01-01T00:01:00Z"
    assert engineer.post(f"{BASE}/{made['id']}/close").json() == closed.json()  # once
    assert audit_rows(client, "citizen_report_closed") == [
        ("engineer", f"citizen report {made['id']}", None)
    ]
    with session_of(client) as session:
        row = session.get(CitizenReport, made["id"])
        assert row is not None and row.phone_sealed is None
    assert engineer.get(f"{BASE}/999999").status_code == 404
    assert engineer.post(f"{BASE}/999999/close").status_code == 404


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_photo_is_served_uncached_and_audited(engineer: TestClient, client: TestClient) -> None:
    made = filed(engineer, site_id="s-park", problem="damaged")
    path = f"{BASE}/{made['id']}/photo"
    assert engineer.get(path).status_code == 404
    data = _png()
    with session_of(client) as session:
        session.add(
            ReportPhoto(
                report_id=made["id"], content_type="image/png", width=4, height=3, data=data
            )
        )
        session.commit()
    response = engineer.get(path)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"
    assert engineer.get(f"{BASE}/{made['id']}").json()["has_photo"] is True
    assert audit_rows(client, "citizen_photo_viewed") == [
        ("engineer", f"citizen report {made['id']}", None)
    ]


CSV_GOOD = (
    "ref,received_at,lat,lon,site,problem,text,phone\n"
    f"CC-1,2025-12-31T23:50:00Z,{PARK_LAT},{PARK_LON},,slow,,\n"
    f"CC-2,,{FAR[0]},{FAR[1]},,no_signal,,\n"
    "CC-3,1767225000,,,s-market,damaged,,\n"
)


def post_import(client: TestClient, data: bytes, media: str) -> Any:
    return client.post(f"{BASE}/import", content=data, headers={"Content-Type": media})


def test_a_csv_import_files_each_new_ref_once(engineer: TestClient, client: TestClient) -> None:
    response = post_import(engineer, CSV_GOOD.encode(), "text/csv; charset=utf-8")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["filed"], body["skipped"], body["unmatched"]) == (3, 0, 1)
    assert [(r["line"], r["ref"], r["status"]) for r in body["reports"]] == [
        (2, "CC-1", "filed"), (3, "CC-2", "filed"), (4, "CC-3", "filed"),
    ]  # fmt: skip
    first, far, market = (r["report"] for r in body["reports"])
    assert (first["site_id"], first["match"], first["incident"]["id"]) == (
        "s-park",
        "joined",
        BANK_AP,
    )
    assert (far["match"], market["site_name"]) == ("unmatched", "Central Market")
    listed = {r["external_ref"]: r for r in client.get(BASE).json()["data"]}
    assert listed["CC-1"]["received_at"] == "2025-12-31T23:50:00Z"
    assert listed["CC-2"]["received_at"] == "2026-01-01T00:01:00Z"  # none given: now
    assert {r["channel"] for r in listed.values()} == {"import"}

    again = post_import(engineer, (CSV_GOOD + "CC-4,,,,s-park,slow,,\n").encode(), "text/csv")
    assert again.status_code == 200, again.text
    assert (again.json()["filed"], again.json()["skipped"]) == (1, 3)
    assert [r["status"] for r in again.json()["reports"]] == ["skipped"] * 3 + ["filed"]
    assert client.get(BASE).json()["count"] == 4
    rows = audit_rows(client, "citizen_reports_imported")
    assert [(actor, target) for actor, target, _ in rows] == [
        ("engineer", "citizen reports import.csv")
    ] * 2
    assert rows[0][2] is not None and rows[0][2].startswith("import.csv: 1 filed, 3 skipped")


def test_a_json_import_with_a_number_and_a_text(
    engineer: TestClient, client: TestClient, caller: dict[str, str]
) -> None:
    rows = [
        {"ref": "J-1", "lat": PARK_LAT, "lon": PARK_LON, "problem": "slow", **caller},
        {"ref": "J-2", "site": "s-school", "problem": "no_internet", "received_at": None},
    ]
    response = post_import(engineer, json.dumps(rows).encode(), "application/json")
    assert response.status_code == 200, response.text
    assert response.json()["filed"] == 2
    with session_of(client) as session:
        stored = session.scalars(
            select(CitizenReport).where(CitizenReport.external_ref == "J-1")
        ).one()
        assert stored.phone_sealed and PHONE not in stored.phone_sealed


@pytest.mark.parametrize(
    ("data", "media", "message"),
    [
        (CSV_GOOD + "CC-9,,1,2,,melted,,\n", "text/csv",
         "body: import.csv:5: column problem: 'melted' is not one of"),
        (CSV_GOOD + "CC-9,,,,s-planned,slow,,\n", "text/csv",
         "body: import.csv:5: column site: site 's-planned' is not an active hotspot"),
        (CSV_GOOD + f"CC-9,,,,s-park,slow,,{PHONE_TYPED}x\n", "text/csv",
         "body: import.csv:5: column phone: a phone number holds only digits"),
        (json.dumps([{"ref": "J-1", "site": "s-park", "problem": "slow"}, {"ref": "J-2"}]),
         "application/json", "body: import.json: item 2: column problem: required"),
    ],
)  # fmt: skip
def test_a_bad_row_files_nothing_and_is_named(
    engineer: TestClient,
    client: TestClient,
    data: str,
    media: str,
    message: str,
    personal_data: PersonalData,
) -> None:
    personal_data.names([PHONE_TYPED + "x"])
    response = post_import(engineer, data.encode(), media)
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(message)
    assert "\n" not in response.json()["message"]
    assert client.get(BASE).json()["count"] == 0
    with session_of(client) as session:
        assert session.scalars(select(Incident).where(Incident.priority > 0)).all() == []
    assert audit_rows(client, "citizen_reports_imported") == []


def test_an_import_that_is_not_csv_or_json_or_too_large(engineer: TestClient) -> None:
    wrong = post_import(engineer, b"ref,problem\nA,slow\n", "text/plain")
    assert wrong.status_code == 415
    assert wrong.json()["message"] == (
        "send the reports as text/csv or application/json, not text/plain"
    )
    big = post_import(engineer, b"x" * (MAX_IMPORT_BYTES + 1), "text/csv")
    assert big.status_code == 413
    assert big.json()["message"] == f"over {MAX_IMPORT_BYTES} bytes: split it"
