"""The public report route (no login): a challenge, then a multipart report that is filed
and matched; each defence in its order (the whole-process limit before the body, sizes,
fields, honeypot, proof of work, the per-address and per-hotspot limits counted in the
database), and nothing the citizen sent ever shown on a public route.

The fixture city (tests.api.city): s-park (open incident: ap_down ap-02), s-school
(site_down), s-market; every site has a 60 m coverage radius.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_now
from api.headers import CSP, HEADERS
from citizens import proof
from core.settings import Settings
from inventory.models import AuditEntry, CitizenReport, ReportPhoto
from tests.api.city import NOW, SITE_POSITIONS
from tests.fixtures.photos import CAMERA_MAKE, SERIAL, phone_jpeg
from tests.fixtures.secret_scan import PersonalData

CHALLENGE, REPORTS = "/public/report-challenge", "/public/reports"
BITS = 4
PHONE_SENT, PHONE_STORED = "+62 811-1600-1616", "+6281116001616"  # as sent, as stored
TEXT = "the citizen wrote this near the fountain, call me after five"
FAR = (10.0, 10.0)  # no hotspot within reach


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW + 60)


@pytest.fixture
def make_client(settings: Settings, clock: Clock) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)``: an anonymous client of a fresh app on the fixture city
    with those settings (proof of work at 4 bits unless said), on the test's clock."""
    made: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        chosen = settings.model_copy(update={"citizen_pow_bits": BITS, **overrides})
        client = TestClient(create_app(chosen))
        client.__enter__()
        client.app.dependency_overrides[get_now] = clock  # type: ignore[attr-defined]
        made.append(client)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


@pytest.fixture
def public(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def rows(client: TestClient) -> list[CitizenReport]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(CitizenReport).order_by(CitizenReport.id)))


def solved(client: TestClient) -> dict[str, str]:
    answer = client.get(CHALLENGE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {"token": body["token"], "nonce": proof.solve(body["token"], body["bits"])}


def at(site: str) -> dict[str, str]:
    lat, lon = SITE_POSITIONS[site]
    return {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}


def send(
    client: TestClient,
    fields: dict[str, str],
    *,
    photo: bytes | None = None,
    work: bool = True,
    **kwargs: Any,
) -> Any:
    data = {"problem": "no_signal", "website": "", **fields}
    if work:
        data = {**solved(client), **data}
    files = {"photo": ("IMG_0001.jpg", photo, "image/jpeg")} if photo is not None else None
    if files is None:
        # A form with no file is still sent as multipart, as the page's FormData is.
        files = {"unused": ("", b"", "application/octet-stream")}
    return client.post(REPORTS, data=data, files=files, **kwargs)


def accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"id", "site_name", "known"}
    assert response.headers["cache-control"] == "no-store"
    return body


def refused(response: Any, status: int, message: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["message"] == body["detail"]
    assert body["message"].startswith(message), body["message"]
    assert "\n" not in body["message"]
    text: str = body["message"]
    return text


# -- the challenge and a report filed -----------------------------------------------------


def test_the_challenge_needs_no_login_and_is_not_cached(public: TestClient) -> None:
    answer = public.get(CHALLENGE)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token", "bits", "expires_at"}
    assert body["bits"] == BITS and body["expires_at"] == NOW + 60 + proof.CHALLENGE_TTL_S
    assert answer.headers["cache-control"] == "no-store"
    assert public.get(CHALLENGE).json()["token"] != body["token"]


def test_a_report_with_a_phone_photo_is_filed_without_its_exif(
    public: TestClient, personal_data: PersonalData
) -> None:
    personal_data.names([PHONE_SENT, PHONE_STORED, TEXT])
    response = send(public, {**at("s-park"), "text": TEXT, "phone": PHONE_SENT}, photo=phone_jpeg())
    body = accepted(response)
    assert body["site_name"] == "Riverside Park" and body["known"] is True
    assert not personal_data.found_in(response.text)
    (row,) = rows(public)
    assert (row.id, row.site_id, row.channel, row.match) == (body["id"], "s-park", "web", "joined")
    assert row.text_sealed and row.text_sealed.startswith("sealed:v1:")
    assert row.phone_sealed and row.phone_sealed.startswith("sealed:v1:")
    assert row.address_hash and "testclient" not in row.address_hash
    # The stored photo, read back: no EXIF at all, upright (400x200 turned to 200x400).
    with Session(public.app.state.engine) as session:  # type: ignore[attr-defined]
        stored = session.get(ReportPhoto, row.id)
        assert stored is not None
        data = stored.data
        assert (stored.content_type, stored.width, stored.height) == ("image/jpeg", 200, 400)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target == str(row.id))).one()
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (200, 400) and len(image.getexif()) == 0
        assert "exif" not in image.info
    assert b"Exif" not in data and CAMERA_MAKE.encode() not in data and SERIAL.encode() not in data
    assert (entry.action, entry.actor, entry.address) == (
        "citizen_report_filed", "public report page", None,
    )  # fmt: skip


def test_a_picked_hotspot_wins_and_an_unmatched_place_is_said(public: TestClient) -> None:
    picked = accepted(send(public, {**at("s-park"), "site_id": "s-school"}))
    assert picked["site_name"] == "Hill School"
    far = accepted(send(public, {"lat": str(FAR[0]), "lon": str(FAR[1])}))
    assert far == {"id": far["id"], "site_name": None, "known": False}
    assert [row.match for row in rows(public)] == ["joined", "unmatched"]


def test_nothing_sent_shows_on_the_public_routes(
    public: TestClient, personal_data: PersonalData
) -> None:
    personal_data.names([PHONE_SENT, PHONE_STORED, TEXT])
    before = public.get("/public/hotspots").json()
    accepted(send(public, {**at("s-market"), "text": TEXT, "phone": PHONE_SENT}))
    for path in ("/public/hotspots", CHALLENGE, "/openapi.json"):
        answer = public.get(path)
        assert answer.status_code == 200
        assert not personal_data.found_in(answer.text), path
    after = public.get("/public/hotspots").json()
    assert set(after) == set(before) and after["count"] == before["count"]
    for feature in after["features"]:
        assert set(feature["properties"]) == {
            "id", "name", "kind", "district", "state", "fix_under_way",
        }  # fmt: skip


def test_answers_and_refusals_carry_the_security_headers(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(citizen_public_per_minute=1)
    answers = [
        client.get(CHALLENGE),
        send(client, at("s-park")),  # 202
        send(client, at("s-park"), work=False),  # 429: shed
    ]
    assert [a.status_code for a in answers] == [200, 202, 429]
    for answer in answers:
        for name, value in HEADERS.items():
            assert answer.headers[name] == value, name
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["cache-control"] == "no-store"


def test_without_proof_of_work_bits_no_challenge_is_needed(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(citizen_pow_bits=0)
    accepted(send(client, at("s-park"), work=False))


def test_the_default_sixteen_bits_are_solved_too(make_client: Callable[..., TestClient]) -> None:
    client = make_client(citizen_pow_bits=16)
    assert client.get(CHALLENGE).json()["bits"] == 16
    accepted(send(client, at("s-park")))


# -- the honeypot and the proof of work ---------------------------------------------------


def test_a_filled_honeypot_is_answered_as_if_filed_and_nothing_is_stored(
    public: TestClient,
) -> None:
    body = accepted(send(public, {**at("s-park"), "website": "http://spam.example"}, work=False))
    assert body["site_name"] is None and body["known"] is False and body["id"] > 0
    assert rows(public) == []


def test_the_proof_of_work_is_required_and_checked(public: TestClient, clock: Clock) -> None:
    refused(send(public, at("s-park"), work=False), 403, "proof of work missing")
    work = solved(public)
    weak = next(
        str(n)
        for n in range(10_000)
        if proof.leading_zero_bits(hashlib.sha256(f"{work['token']}:{n}".encode()).digest()) < BITS
    )
    bad = dict(work, nonce=weak)
    refused(
        send(public, {**at("s-park"), **bad}, work=False), 403, "the proof of work does not hold"
    )
    forged = dict(work, token=work["token"][:-2] + "00")
    refused(send(public, {**at("s-park"), **forged}, work=False), 403, "the challenge is not one")
    accepted(send(public, {**at("s-park"), **work}, work=False))
    refused(send(public, {**at("s-park"), **work}, work=False), 403, "this challenge was used")
    late = solved(public)
    clock.t += proof.CHALLENGE_TTL_S + 1
    refused(send(public, {**at("s-park"), **late}, work=False), 403, "the challenge has expired")
    assert len(rows(public)) == 1


# -- types, sizes and fields --------------------------------------------------------------


def test_only_multipart_is_taken(public: TestClient) -> None:
    refused(public.post(REPORTS, json={"problem": "slow"}), 415, "send the report as multipart")
    refused(public.post(REPORTS), 415, "send the report as multipart")


def test_sizes_are_capped_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(citizen_photo_max_bytes=20_000)
    big = phone_jpeg(1200, 900, orientation=1)
    assert 20_000 < len(big) < 20_000 + 16 * 1024, len(big)  # under the body's cap
    refused(send(client, at("s-park"), photo=big), 413, "photo too large")
    huge = b"\xff\xd8" + b"\x00" * 60_000  # past the body's cap: refused while reading
    refused(send(client, at("s-park"), photo=huge), 413, "the report is too large")
    long_field = {**at("s-park"), "text": "x" * 5000}
    refused(send(client, long_field), 413, "a form field is too large")
    declared = client.post(
        REPORTS,
        content=b"--b--\r\n",
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": "99999999"},
    )
    refused(declared, 413, "the report is too large")
    assert rows(client) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"problem": "bored"}, "problem: one of no_signal, no_internet"),
        ({"problem": ""}, "problem: required"),
        ({"lat": "91", "lon": "0"}, "lat: must be between -90 and 90"),
        ({"lat": "1", "lon": "nan"}, "lon: must be between -180 and 180"),
        ({"lat": "north", "lon": "0"}, "lat: not a number"),
        ({"lat": "1"}, "lat and lon, or site_id: say where"),
        ({"site_id": "s-nowhere"}, "site_id: not an active hotspot (see GET /public/hotspots)"),
        ({"site_id": "s-planned"}, "site_id: not an active hotspot"),
        ({"site_id": "s" * 65}, "site_id: at most 64 characters"),
        ({**at("s-park"), "text": "y" * 1001}, "text: at most 1000 characters"),
        ({**at("s-park"), "text": "a\x00b"}, "text: must not contain NUL"),
    ],
    ids=[
        "problem", "no-problem", "lat", "lon-nan", "lat-text", "half-place", "unknown-site",
        "planned-site", "long-site", "long-text", "nul",
    ],
)  # fmt: skip
def test_bad_fields_are_refused_naming_the_field(
    public: TestClient, fields: dict[str, str], message: str
) -> None:
    text = refused(send(public, fields), 422, message)
    assert not [value for value in fields.values() if len(value) > 2 and value in text]
    assert rows(public) == []


def test_a_bad_phone_is_refused_without_repeating_it(
    public: TestClient, personal_data: PersonalData
) -> None:
    wrong = "+62 811 ABC 1616 99"
    personal_data.names([wrong])
    text = refused(send(public, {**at("s-park"), "phone": wrong}), 422, "phone: not a phone")
    assert "ABC" not in text


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (b"%PDF-1.7 a document", "photo is not a JPEG, PNG or WebP image"),
        (phone_jpeg(orientation=1)[:900], "photo is damaged"),
    ],
    ids=["pdf", "truncated"],
)
def test_a_photo_that_is_not_one_is_refused(public: TestClient, photo: bytes, message: str) -> None:
    refused(send(public, at("s-park"), photo=photo), 422, message)
    assert rows(public) == []


def test_a_decompression_bomb_is_refused(public: TestClient) -> None:
    out = io.BytesIO()
    Image.new("L", (9000, 9000)).save(out, "PNG", optimize=True)
    refused(send(public, at("s-park"), photo=out.getvalue()), 422, "photo has too many pixels")


# -- the limits -----------------------------------------------------------------------------


def test_the_whole_process_limit_sheds_before_reading_and_the_api_keeps_answering(
    make_client: Callable[..., TestClient], clock: Clock
) -> None:
    client = make_client(citizen_public_per_minute=3, citizen_pow_bits=0)
    for _ in range(3):
        accepted(send(client, at("s-park"), work=False))
    # Not even the type is looked at: a JSON body (else a 415) is shed as it is.
    shed = client.post(REPORTS, json={"problem": "slow"})
    refused(shed, 429, "too many reports are arriving")
    assert shed.headers["retry-after"] == "20"  # one report per 60/3 s
    assert client.get("/public/hotspots").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get(CHALLENGE).status_code == 200
    clock.t += 20
    accepted(send(client, at("s-park"), work=False))
    assert len(rows(client)) == 4


def test_the_per_address_limit_is_counted_in_the_database(
    make_client: Callable[..., TestClient], clock: Clock, settings: Settings
) -> None:
    client = make_client(citizen_reports_per_address=2)
    accepted(send(client, at("s-park")))
    accepted(send(client, at("s-school")))
    over = send(client, at("s-market"))
    refused(over, 429, "too many reports from this connection")
    assert over.headers["retry-after"] == str(int(settings.citizen_rate_window_s))
    # Counted in the database: a new process (another app on the same inventory) agrees.
    refused(send(make_client(citizen_reports_per_address=2), at("s-market")), 429, "too many")
    clock.t += settings.citizen_rate_window_s + 1
    accepted(send(client, at("s-market")))
    assert len(rows(client)) == 3


def test_the_per_hotspot_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(citizen_reports_per_site=2)
    accepted(send(client, at("s-park")))
    accepted(send(client, {"site_id": "s-park"}))
    refused(send(client, at("s-park")), 429, "this hotspot has been reported many times")
    refused(send(client, {"site_id": "s-park"}), 429, "this hotspot has been reported")
    accepted(send(client, at("s-school")))
    accepted(send(client, {"lat": str(FAR[0]), "lon": str(FAR[1])}))  # unmatched: no hotspot
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        query = select(CitizenReport.site_id, func.count()).group_by(CitizenReport.site_id)
        by_site = {site: n for site, n in session.execute(query)}
    assert by_site == {"s-park": 2, "s-school": 1, None: 1}
