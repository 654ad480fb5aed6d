"""``/api/v1/reports/usage``: a partner's report through the API, as every role, in the
three formats, over the fixture city (tests/api/city.py: p-bank owns s-park (ap-01,
ap-02) and the planned s-planned; p-telco s-market (ap-03, ap-06); s-school is the
city's own), its metrics around 2026-01-01T00:00Z (07:00 on the 1st in Jakarta) and its
sessions (tests/fixtures/sessions.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import get_now
from api.report_models import report_public
from api.routes.reports import file_name
from core.settings import Settings
from reports import UsageReport, month_period, usage_report
from reports.csvformat import gigabytes, usage_csv
from timeseries import MetricStore
from timeseries.port import Sample

USAGE = "/api/v1/reports/usage"
JANUARY = {"month": "2026-01"}
STAFF = ("admin", "engineer", "planner")
TELCO_MARKERS = ("s-market", "Central Market", "ap-03", "ap-06", "p-telco", "Telco Ltd")
SCHOOL_MARKERS = ("s-school", "Hill School", "ap-04", "ap-05")


@pytest.fixture
def polled(store: MetricStore, now: float) -> None:
    """Ten minutes of polls on January 1st (local) as the collector tags them: ap-01 of
    p-bank answering 9 of 10 with 1 MB down a poll, ap-03 of p-telco all 10."""
    samples = []
    for n in range(10):
        ts = now + 3600 + 60 * n
        for ap, site, partner, ok in (
            ("ap-01", "s-park", "p-bank", n != 4),
            ("ap-03", "s-market", "p-telco", True),
        ):
            tags = {"ap": ap, "site": site, "district": "d-north", "partner": partner}
            fields = {"reachable": 1.0 if ok else 0.0}
            if ok:
                fields |= {"clients": 5.0 + n, "rx_bytes_delta": 1e6, "tx_bytes_delta": 2e5}
            samples.append(Sample(measurement="ap", tags=tags, fields=fields, ts=ts))
    store.write(samples)


@pytest.fixture
def clock(client: TestClient, now: float) -> Iterator[float]:
    """The app's clock a day after the fixture's now: the report's ``generated_at``."""
    at = now + 86_400
    client.app.dependency_overrides[get_now] = lambda: at  # type: ignore[attr-defined]
    yield at
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


def direct(client: TestClient, settings: Settings, partner: str, at: float) -> UsageReport:
    """The report as :func:`reports.usage_report` makes it, on the app's own inventory and
    store: what every format must render, figure for figure."""
    app: Any = client.app
    with app.state.session_factory() as session:
        return usage_report(
            session,
            app.state.store,
            settings,
            partner=partner,
            period=month_period("2026-01", settings.city_tz),
            now=at,
        )


def refused(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert [error["loc"] for error in body["detail"]] == [["query", field]], body
    message: str = body["message"]
    return message


def test_json_is_the_report_field_for_field(
    client: TestClient, settings: Settings, polled: None, clock: float
) -> None:
    response = client.get(USAGE, params={"partner": "p-bank", **JANUARY})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    report = direct(client, settings, "p-bank", clock)
    assert body == report_public(report).model_dump(mode="json")
    assert (body["partner"], body["partner_name"], body["city"]) == (
        "p-bank", "Bank of Example", "Bekasi"
    )  # fmt: skip
    assert (body["period_label"], body["timezone"]) == ("2026-01", "Asia/Jakarta")
    assert (body["start"], body["end"]) == ("2025-12-31T17:00:00Z", "2026-01-31T17:00:00Z")
    assert body["generated_at"] == "2026-01-02T00:00:00Z"
    assert body["previous_label"] == "2025-12"
    assert len(body["heatmap"]) == 7 and {len(row) for row in body["heatmap"]} == {24}
    assert "s-park" in [site["site"] for site in body["sites"]]
    assert (body["totals"]["polls"], body["totals"]["polls_ok"]) == (10, 9)
    assert body["totals"]["availability_pct"] == 90.0
    assert body["totals"]["down_bytes"] == 9_000_000 and body["totals"]["down_gb"] == 0.009
    assert body["totals"]["clients_peak"] == 14.0
    for figures in [body["totals"], *(site["figures"] for site in body["sites"])]:
        assert figures["down_gb"] == float(gigabytes(figures["down_bytes"]))
        assert figures["up_gb"] == float(gigabytes(figures["up_bytes"]))


@pytest.mark.parametrize("role", [*STAFF, "partner"])
def test_every_role_may_read_reports(
    role: str, client_as: Callable[[str], TestClient], clock: float
) -> None:
    """``reports:read`` is everyone's; a partner's token needs no ``partner``."""
    params = JANUARY if role == "partner" else {"partner": "p-bank", **JANUARY}
    response = client_as(role).get(USAGE, params=params)
    assert response.status_code == 200, response.text
    assert response.json()["partner"] == "p-bank"


def test_anonymous_is_refused(anon_client: TestClient) -> None:
    response = anon_client.get(USAGE, params={"partner": "p-bank", **JANUARY})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_partner_gets_only_its_own_sites(
    fmt: str, client_as: Callable[[str], TestClient], polled: None, clock: float
) -> None:
    """Through the API with a partner's token: its sites only, and nothing of the other
    partner's or the city's own in any byte of the answer."""
    response = client_as("partner").get(USAGE, params={**JANUARY, "format": fmt})
    assert response.status_code == 200, response.text
    for marker in (*TELCO_MARKERS, *SCHOOL_MARKERS):
        assert not re.search(rf"(?<![\w-]){re.escape(marker)}(?![\w-])", response.text), marker
    if fmt == "json":
        body = response.json()
        assert {site["site"] for site in body["sites"]} <= {"s-park", "s-planned"}
        assert body["totals"]["polls"] == 10  # p-telco's 10 polls are not in it


def test_another_partner_is_a_404_like_an_unknown_one(
    client_as: Callable[[str], TestClient], clock: float
) -> None:
    me = client_as("partner")
    other = me.get(USAGE, params={"partner": "p-telco", **JANUARY})
    missing = me.get(USAGE, params={"partner": "zz-nowhere", **JANUARY})
    assert other.status_code == missing.status_code == 404
    assert other.text.replace("p-telco", "zz-nowhere") == missing.text
    for fmt in ("csv", "pdf"):  # no format is a way around it
        response = me.get(USAGE, params={"partner": "p-telco", "format": fmt, **JANUARY})
        assert response.status_code == 404


def test_staff_name_the_partner(client: TestClient, clock: float) -> None:
    assert "partner" in refused(client.get(USAGE, params=JANUARY), "partner")
    assert client.get(USAGE, params={"partner": "zz-nowhere", **JANUARY}).status_code == 404
    telco = client.get(USAGE, params={"partner": "p-telco", **JANUARY})
    assert telco.status_code == 200 and telco.json()["partner_name"] == "Telco Ltd"


def test_csv_download(client: TestClient, settings: Settings, polled: None, clock: float) -> None:
    response = client.get(USAGE, params={"partner": "p-bank", "format": "csv", **JANUARY})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="citywifi-usage-p-bank-2026-01.csv"'
    )
    assert response.text == usage_csv(direct(client, settings, "p-bank", clock))


def test_pdf_download(client: TestClient, clock: float) -> None:
    response = client.get(USAGE, params={"partner": "p-bank", "format": "pdf", **JANUARY})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="citywifi-usage-p-bank-2026-01.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


def test_a_range_of_local_dates(client: TestClient, clock: float) -> None:
    """Dates are the city's calendar: the start's local midnight to the end of the last
    day, which is included."""
    params = {"partner": "p-bank", "start": "2026-01-01", "end": "2026-01-31"}
    body = client.get(USAGE, params=params).json()
    assert (body["start"], body["end"]) == ("2025-12-31T17:00:00Z", "2026-01-31T17:00:00Z")
    assert "2026-01-01" in body["period_label"] and "2026-01-31" in body["period_label"]


def test_a_range_of_times(client: TestClient, clock: float) -> None:
    """A time is an instant (UTC without an offset), the end excluded, as on every route."""
    params = {"partner": "p-bank", "start": "2025-12-31T17:00:00Z", "end": 1_767_286_800}
    body = client.get(USAGE, params=params).json()
    assert (body["start"], body["end"]) == ("2025-12-31T17:00:00Z", "2026-01-01T17:00:00Z")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "month"),
        ({"month": "2026-01", "start": "2026-01-01", "end": "2026-01-02"}, "month"),
        ({"month": "2026-13"}, "month"),
        ({"month": "2026-1"}, "month"),
        ({"start": "2026-01-01"}, "end"),
        ({"end": "2026-01-01"}, "start"),
        ({"start": "2026-01-10", "end": "2026-01-09"}, "end"),
        ({"start": "2026-01-31T00:00:00Z", "end": "2026-01-30T00:00:00Z"}, "end"),
        ({"start": "2024-12-31", "end": "2026-01-01"}, "start"),  # 367 days
        ({"start": "2026-02-30", "end": "2026-03-01"}, "start"),
        ({"start": "2026-01-01", "end": "9999-12-31"}, "end"),
    ],
)
def test_a_period_asked_wrongly_is_a_422_naming_the_parameter(
    params: dict[str, str], field: str, client: TestClient, clock: float
) -> None:
    refused(client.get(USAGE, params={"partner": "p-bank", **params}), field)


def test_a_year_of_dates_is_allowed(client: TestClient, clock: float) -> None:
    params = {"partner": "p-bank", "start": "2024-01-01", "end": "2024-12-31"}  # 366 days
    response = client.get(USAGE, params=params)
    assert response.status_code == 200, response.text


def test_file_names_carry_no_header_breaking_characters(hand_report: UsageReport) -> None:
    assert file_name(hand_report, "csv") == "citywifi-usage-p-bank-2026-11.csv"
    ranged = replace(hand_report, period_label="2026-11-03 to 2026-11-17")
    assert file_name(ranged, "pdf") == "citywifi-usage-p-bank-2026-11-03_2026-11-17.pdf"
    odd = replace(hand_report, partner='a"b\r\nc d')
    assert file_name(odd, "csv") == "citywifi-usage-a-b-c-d-2026-11.csv"


def test_json_model_mirrors_a_hand_built_report(hand_report: UsageReport) -> None:
    body = report_public(hand_report).model_dump(mode="json")
    assert body["start"] == "2026-10-31T17:00:00Z"
    park, pier, planned = body["sites"]
    assert park["figures"]["down_bytes"] == 1_000_500_000
    assert park["figures"]["down_gb"] == 1.001  # the CSV's figure, not 1.0005 nor 1.000
    assert park["incidents"][0] == {
        "id": 3,
        "kind": "ap_down",
        "started_at": "2026-10-31T18:00:00Z",
        "ended_at": "2026-10-31T18:15:00Z",
        "duration_s": 900.0,
    }
    assert pier["district"] is None and pier["figures"]["sessions"] is None
    assert planned["figures"]["availability_pct"] is None
    assert body["totals"]["down_gb"] == 6.001
    assert body["heatmap"][6][23] == 623
    assert body["previous"]["availability_pct"] == 97.0
    assert body["days"][1]["availability_pct"] is None
