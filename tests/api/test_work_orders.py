"""The field-work routes: managers make teams and orders, a technician sees and works only
their own teams' orders, nobody sets ``verified`` by hand, a partner sees nothing; every
change is audited."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable

from fastapi.testclient import TestClient
from PIL import Image

from core.settings import Settings

ORDERS = "/api/v1/work-orders"
TEAMS = "/api/v1/field-teams"


def png(side: int = 8, noisy: bool = False) -> bytes:
    image = Image.new("RGB", (side, side), (20, 120, 200))
    if noisy:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def team(client: TestClient, team_id: str, members: list[str]) -> None:
    made = client.post(TEAMS, json={"id": team_id, "name": f"Team {team_id}", "responsible": "noc"})
    assert made.status_code == 201, made.text
    put = client.put(f"{TEAMS}/{team_id}/members", json={"members": members})
    assert put.status_code == 200, put.text
    assert put.json()["members"] == sorted(members)


def test_a_technician_works_their_own_orders(
    client: TestClient, client_as: Callable[[str], TestClient]
) -> None:
    engineer, tech, partner = client_as("engineer"), client_as("field"), client_as("partner")
    team(engineer, "t-city", ["field"])
    team(engineer, "t-vendor", ["planner"])
    # Incident 4: site_down at s-school (its one site, so no site_id needed).
    made = engineer.post(ORDERS, json={"incident_id": 4, "team_id": "t-city", "note": "go"})
    assert made.status_code == 201, made.text
    order = made.json()
    assert (order["state"], order["site"]["id"], order["site"]["name"]) == (
        "assigned", "s-school", "Hill School"
    )  # fmt: skip
    assert order["incident"]["class"] == "site_down"
    assert [ap["id"] for ap in order["aps"]] == ["ap-04"]  # enabled APs only
    assert order["actions"] == ["assign", "cancel"]  # the engineer's buttons
    other = engineer.post(ORDERS, json={"incident_id": 4, "team_id": "t-vendor"}).json()

    mine = tech.get(f"{ORDERS}/mine", params={"open": "true"}).json()
    assert [o["id"] for o in mine["data"]] == [order["id"]] and mine["count"] == 1
    assert mine["data"][0]["actions"] == ["on_site", "note", "photo"]
    assert tech.get(f"{ORDERS}/mine/{other['id']}").status_code == 404
    assert tech.post(f"{ORDERS}/{other['id']}/state", json={"state": "on_site"}).status_code == 404
    assert tech.get(ORDERS).status_code == 403  # every order: managers only
    assert partner.get(f"{ORDERS}/mine").status_code == 403
    assert partner.get(ORDERS).status_code == 403
    assert (
        engineer.post(f"{ORDERS}/{order['id']}/state", json={"state": "on_site"}).status_code == 403
    )

    url = f"{ORDERS}/{order['id']}"
    assert tech.post(url + "/state", json={"state": "fixed"}).status_code == 409  # not on site
    on_site = tech.post(url + "/state", json={"state": "on_site"})
    assert on_site.status_code == 200 and on_site.json()["state"] == "on_site"
    fixed = tech.post(url + "/state", json={"state": "fixed", "note": "replaced the PSU"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["note"] == "replaced the PSU" and fixed.json()["fixed_at"] is not None

    refused = tech.post(url + "/state", json={"state": "verified"})
    assert refused.status_code == 422
    assert "telemetry" in refused.json()["message"]
    assert client.post(url + "/state", json={"state": "verified"}).status_code == 422  # admin too

    detail = engineer.get(url).json()
    assert detail["state"] == "fixed"
    assert [e["kind"] for e in detail["timeline"]] == [
        "created", "note", "assigned", "state", "state", "note"
    ]  # fmt: skip
    audit = client.get("/api/v1/audit", params={"limit": 50}).json()["data"]
    ours = [
        (a["actor"], a["action"], a["target"]) for a in audit if "work order" in (a["target"] or "")
    ]
    assert ("engineer", "work_order_created", f"work order {order['id']}") in ours
    assert ours.count(("field", "work_order_changed", f"work order {order['id']}")) == 2
    teams = [a for a in audit if a["action"] == "field_team_changed"]
    assert len(teams) == 4


def test_the_photo_of_the_fix(
    client: TestClient, client_as: Callable[[str], TestClient], settings: Settings
) -> None:
    engineer, tech = client_as("engineer"), client_as("field")
    team(engineer, "t-city", ["field"])
    order = engineer.post(ORDERS, json={"incident_id": 4, "team_id": "t-city"}).json()
    url = f"{ORDERS}/{order['id']}/photo"
    assert tech.put(url, json={"data": "!!not base64!!"}).status_code == 422
    assert tech.put(url, json={"data": b64(b"GIF89a not a photo")}).status_code == 422
    stored = tech.put(url, json={"data": b64(png())})
    assert stored.status_code == 200 and stored.json()["has_photo"], stored.text
    shown = engineer.get(url)
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/jpeg"
    assert "no-store" in shown.headers["cache-control"]
    assert Image.open(io.BytesIO(shown.content)).getexif() == {}
    assert tech.get(f"{ORDERS}/mine/{order['id']}/photo").content == shown.content
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"citizen_photo_max_bytes": 1024}
    )
    assert tech.put(url, json={"data": b64(png(64, noisy=True))}).status_code == 413
    # Past the cap (base64 of 1 KiB, line breaks, envelope): refused before it is held,
    # declared or sent in chunks with no length.
    big = b'{"data": "' + b"A" * 8192 + b'"}'
    declared = tech.put(url, content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413, declared.text
    assert declared.json()["message"] == "the photo is over 1024 bytes"
    chunked = tech.put(
        url, content=iter([big[:4000], big[4000:]]), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413 and "content-length" not in chunked.request.headers
    missing = tech.put(url, json={"photo": "x"})
    assert missing.status_code == 422 and "data" in missing.json()["message"], missing.text
    assert (
        tech.put(url, content=b"{", headers={"content-type": "application/json"}).status_code == 422
    )


def test_orders_need_an_active_incident_and_a_known_team(
    client_as: Callable[[str], TestClient],
) -> None:
    engineer = client_as("engineer")
    assert engineer.post(ORDERS, json={"incident_id": 6}).status_code == 409  # resolved
    bad = engineer.post(ORDERS, json={"incident_id": 4, "team_id": "t-nowhere"})
    assert bad.status_code == 422 and "team_id" in bad.json()["message"]
    # Incident 3 covers two sites' APs? It covers s-park only here; a wrong site is named.
    wrong = engineer.post(ORDERS, json={"incident_id": 4, "site_id": "s-park"})
    assert wrong.status_code == 422 and "site_id" in wrong.json()["message"]
    unknown = engineer.put(f"{TEAMS}/t-nowhere/members", json={"members": []})
    assert unknown.status_code == 404
    team(engineer, "t-city", [])
    ghost = engineer.put(f"{TEAMS}/t-city/members", json={"members": ["nobody-here"]})
    assert ghost.status_code == 422
    again = engineer.post(TEAMS, json={"id": "t-city", "name": "x", "responsible": "noc"})
    assert again.status_code == 409
    cancelled = engineer.post(ORDERS, json={"incident_id": 4}).json()
    assert cancelled["state"] == "new"
    done = engineer.post(f"{ORDERS}/{cancelled['id']}/cancel", json={"reason": "duplicate"})
    assert done.status_code == 200 and done.json()["state"] == "cancelled"
    assert engineer.post(f"{ORDERS}/{cancelled['id']}/cancel").status_code == 409
