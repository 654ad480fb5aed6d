from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.deps import get_now
from timeseries import MetricStore
from timeseries.port import Sample

SampleMaker = Callable[..., Sample]

ISO_NOW = "2026-01-01T00:00:00Z"  # the ``now`` fixture


def test_series_buckets_means_and_gaps(
    client: TestClient, store: MetricStore, make_sample: SampleMaker, now: float
) -> None:
    store.write(
        [make_sample("ap-02", now - 290, clients=4), make_sample("ap-02", now - 250, clients=6)]
    )
    r = client.get(
        "/api/v1/aps/ap-02/series",
        params={"metric": "clients", "start": now - 300, "end": now, "step": 60},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["ap"] == "ap-02"
    assert body["metric"] == "clients"
    assert body["unit"] == "1"
    assert body["start"] == "2025-12-31T23:55:00Z"
    assert body["end"] == ISO_NOW
    assert body["step"] == 60
    assert [p["value"] for p in body["points"]] == [5.0, None, None, None, 3.0]
    assert body["points"][0]["ts"] == "2025-12-31T23:55:00Z"


def test_series_accepts_iso_8601_and_naive_means_utc(client: TestClient) -> None:
    r = client.get(
        "/api/v1/aps/ap-01/series",
        params={"metric": "rx_bps", "start": "2025-12-31T23:58:00", "end": ISO_NOW, "step": 60},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["unit"] == "bit/s"
    assert [p["value"] for p in body["points"]] == [1e6, 2.5e6]


def test_series_defaults_to_last_hour_with_about_300_points(client: TestClient, now: float) -> None:
    client.app.dependency_overrides[get_now] = lambda: now  # type: ignore[attr-defined]
    body = client.get("/api/v1/aps/ap-01/series?metric=clients").json()
    assert (body["start"], body["end"]) == ("2025-12-31T23:00:00Z", ISO_NOW)
    assert body["step"] == 15  # a round step: 3600 s / 15 s = 240 points, ≤ 300
    assert len(body["points"]) == 240


def test_series_default_step_for_a_day(client: TestClient) -> None:
    body = client.get(
        "/api/v1/aps/ap-01/series", params={"metric": "clients", "start": 0, "end": 86400}
    ).json()
    assert body["step"] == 300
    assert len(body["points"]) == 288


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"metric": "temperature"}, "unknown metric 'temperature'; valid metrics: "),
        ({}, "query.metric: Field required"),
        ({"metric": "clients", "start": 100, "end": 100}, "query.end: end ("),
        ({"metric": "clients", "start": 200, "end": 100}, "must be after start"),
        ({"metric": "clients", "step": 0}, "query.step: Input should be greater than or equal"),
        ({"metric": "clients", "step": -5}, "query.step: "),
        ({"metric": "clients", "step": "nan"}, "query.step: "),
        ({"metric": "clients", "step": "inf"}, "query.step: "),
        ({"metric": "clients", "step": 1e12}, "query.step: Input should be less than or equal"),
        ({"metric": "clients", "start": 0, "end": 20000, "step": 1}, "20000 points requested"),
        ({"metric": "clients", "start": "yesterday"}, "query.start: Value error, not a time"),
        ({"metric": "clients", "end": "2026-13-45T00:00:00Z"}, "query.end: "),
        ({"metric": "clients", "start": "nan"}, "query.start: "),
    ],
)
def test_series_422(client: TestClient, params: dict[str, str | float], fragment: str) -> None:
    r = client.get("/api/v1/aps/ap-01/series", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert fragment in body["message"]
    assert body["detail"]


def test_series_at_the_point_limit_is_allowed(client: TestClient) -> None:
    r = client.get(
        "/api/v1/aps/ap-01/series",
        params={"metric": "clients", "start": 0, "end": 11000, "step": 1},
    )
    assert r.status_code == 200
    assert len(r.json()["points"]) == 11000


def test_series_every_metric_name_is_accepted(client: TestClient) -> None:
    from timeseries.vocabulary import AP_METRICS

    for name in AP_METRICS:
        assert client.get(f"/api/v1/aps/ap-01/series?metric={name}").status_code == 200


def test_series_unknown_ap_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/aps/ap-99/series?metric=clients")
    assert r.status_code == 404
    assert "ap-99" in r.json()["message"]


def test_series_store_failure_is_503(client: TestClient, store: MetricStore) -> None:
    store.close()
    r = client.get("/api/v1/aps/ap-01/series?metric=clients")
    assert r.status_code == 503
    assert r.json()["message"].startswith("metric store unavailable: metric store ")
    assert r.json()["message"].endswith(" is closed")


YEAR_S = 365 * 86400


def test_a_year_at_one_second_is_refused_naming_step_before_any_work(
    client: TestClient, store: MetricStore, now: float
) -> None:
    store.close()  # had the store been asked, this would be a 503
    r = client.get(
        "/api/v1/aps/ap-01/series",
        params={"metric": "clients", "start": now - YEAR_S, "end": now, "step": 1},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["detail"][0]["loc"] == ["query", "step"]
    assert body["message"].startswith(
        "query.step: 31536000 points requested; at most 11000: use a larger step (≥ 2867 s)"
    )


def test_a_year_at_the_default_step_is_allowed(client: TestClient, now: float) -> None:
    r = client.get(
        "/api/v1/aps/ap-01/series", params={"metric": "clients", "start": now - YEAR_S, "end": now}
    )
    assert r.status_code == 200
    assert len(r.json()["points"]) <= 300


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"start": 0, "end": 3 * YEAR_S}, "start", "is longer than the longest allowed, 732 days"),
        ({"start": 0}, "start", "is longer than the longest allowed"),  # until now
        ({"end": 1e18}, "end", "time out of range: must be from 1970-01-01T00:00:00Z (0)"),
        ({"start": -1, "end": 10}, "start", "time out of range"),
        ({"start": "0001-01-01T00:00:00+01:00"}, "start", "time out of range"),
        ({"start": "9999-12-31T23:59:59-14:00"}, "start", "time out of range"),
        ({"start": "2026-01-01T00:00:00Z" + " " * 60}, "start", "longer than 64 characters"),
    ],
)
def test_series_time_bounds(
    client: TestClient, params: dict[str, str | float], field: str, fragment: str
) -> None:
    r = client.get("/api/v1/aps/ap-01/series", params={"metric": "clients", **params})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["loc"] == ["query", field]
    assert fragment in body["message"]


def test_series_of_another_partners_ap_is_404_after_checking_the_request(
    client_as: Callable[[str], TestClient],
) -> None:
    """Bad parameters are a 422 whoever's AP it is; good ones, 404 for others' and unknown."""
    partner = client_as("partner")
    for ap in ("ap-03", "ap-99"):
        assert partner.get(f"/api/v1/aps/{ap}/series?metric=nope").status_code == 422
        r = partner.get(f"/api/v1/aps/{ap}/series?metric=clients")
        assert (r.status_code, r.json()["message"]) == (404, f"no access point with id {ap!r}")
    own = partner.get("/api/v1/aps/ap-01/series?metric=clients&start=0&end=60")
    assert own.status_code == 200
