"""The public hotspot status (``GET /public/hotspots``): no login, the whole city's active
hotspots with up or down and a note when a fix is under way, cached, and nothing a
citizen may not see (no sponsor, no figures, no device detail).

The fixture city (tests.api.city): s-park (ap-01, ap-02 up), s-market (ap-03 down, ap-06
up), s-school (ap-04 never judged, ap-05 disabled); s-planned is not built.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.deps import get_now
from inventory.db import transaction
from inventory.models import ApStatus
from tests.api.city import NOW, SECRETS

PUBLIC = "/public/hotspots"
TTL = 30.0  # the default public_cache_s


@pytest.fixture
def clock(client: TestClient) -> Iterator[list[float]]:
    """The app's clock, set by the test (``clock[0]``)."""
    now = [NOW]
    client.app.dependency_overrides[get_now] = lambda: now[0]  # type: ignore[attr-defined]
    yield now
    client.app.dependency_overrides.pop(get_now, None)  # type: ignore[attr-defined]


def hotspots(client: TestClient) -> dict[str, Any]:
    response = client.get(PUBLIC)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def states(body: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["properties"]["state"] for f in body["features"]}


def test_anyone_sees_every_active_hotspot_with_its_state(
    anon_client: TestClient, clock: list[float]
) -> None:
    body = hotspots(anon_client)
    assert states(body) == {"s-market": "up", "s-park": "up", "s-school": "unknown"}
    assert (body["count"], body["up"], body["down"]) == (3, 2, 0)
    park = next(f for f in body["features"] if f["id"] == "s-park")
    assert park["type"] == "Feature" and park["geometry"]["type"] == "Point"
    assert park["properties"]["district"] == "North"
    assert body["as_of"] == "2026-01-01T00:00:00Z"


def test_it_says_nothing_a_citizen_may_not_see(anon_client: TestClient, clock: list[float]) -> None:
    response = anon_client.get(PUBLIC)
    text = response.text
    for word in ("p-bank", "Bank of Example", "p-telco", "Telco Ltd", "ap-0", "127.1.0.", *SECRETS):
        assert word not in text, word
    for feature in response.json()["features"]:
        assert set(feature["properties"]) == {
            "id", "name", "kind", "district", "state", "fix_under_way",
        }  # fmt: skip
    assert "clients" not in text and "partner" not in text and "host" not in text


def test_the_answer_is_cached_for_its_period(
    anon_client: TestClient, client: TestClient, clock: list[float]
) -> None:
    first = anon_client.get(PUBLIC)
    assert first.headers["cache-control"] == f"public, max-age={int(TTL)}"
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with transaction(engine) as session:
        session.execute(
            update(ApStatus).where(ApStatus.ap_id.in_(["ap-01", "ap-02"])).values(state="down")
        )
    clock[0] = NOW + TTL - 1
    assert states(hotspots(anon_client))["s-park"] == "up"  # still the cached answer
    clock[0] = NOW + TTL
    body = hotspots(anon_client)
    assert states(body)["s-park"] == "down"
    assert (body["up"], body["down"]) == (1, 1)


def test_a_fix_is_under_way_once_an_incident_there_is_taken_on(
    anon_client: TestClient, client_as: Any, clock: list[float]
) -> None:
    assert not any(f["properties"]["fix_under_way"] for f in hotspots(anon_client)["features"])
    engineer = client_as("engineer")
    listed = engineer.get("/api/v1/sites/s-school/incidents").json()["data"]
    school = next(i for i in listed if i["state"] == "open")
    assert engineer.post(f"/api/v1/incidents/{school['id']}/ack").status_code == 200
    clock[0] = NOW + TTL
    fixing = {
        f["id"] for f in hotspots(anon_client)["features"] if f["properties"]["fix_under_way"]
    }
    assert "s-school" in fixing
    assert json.dumps(hotspots(anon_client)).count("fix_under_way") == 3
