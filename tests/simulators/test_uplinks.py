"""The simulated city's topology (shared uplinks) and the ``uplink_cut`` fault, without
sockets (the live one is in test_faults_live.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory import import_file
from inventory.db import open_inventory
from inventory.models import Site, Uplink
from inventory.schemas import InventoryDoc
from inventory.secretbox import SecretBox
from simulators.city import City, SimAp, build_city
from simulators.control import create_control_app
from simulators.faults import Fault, FaultBook, FaultError, FaultRates
from simulators.run import write_inventory
from simulators.scenario import ScenarioError, load_and_schedule
from simulators.uplinks import (
    AP_PEAK_BPS,
    HEADROOM,
    SITES_PER_UPLINK,
    apportion,
    capacity_mbps,
    plan_uplinks,
)

T0 = 1_710_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def big() -> City:
    """Demo-sized: about 1,200 sites."""
    return build_city(2000, seed=1)


@pytest.fixture
def city() -> City:
    return build_city(60, seed=3)


@pytest.fixture
def book(city: City) -> FaultBook:
    return FaultBook(city, clock=Clock())


def districts_behind(city: City) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for site in city.sites:
        assert site.uplink is not None
        found[site.uplink].add(site.district)
    return found


def test_a_demo_city_hangs_off_a_few_dozen_uplinks_across_districts(big: City) -> None:
    assert 24 <= len(big.uplinks) <= 60
    assert len(big.uplinks) == round(len(big.sites) / SITES_PER_UPLINK)
    assert all(site.uplink is not None for site in big.sites)
    spans = districts_behind(big)
    assert set(spans) <= {u.id for u in big.uplinks}
    # Catchments are the operators' patches, not the district map.
    assert sum(len(d) >= 2 for d in spans.values()) >= len(big.uplinks) // 2
    assert any(len(d) >= 3 for d in spans.values())
    # ... and a district is served by several uplinks (a cut is not a district outage).
    per_district: dict[str, set[str]] = defaultdict(set)
    for site in big.sites:
        per_district[site.district].add(site.uplink or "")
    assert all(len(u) >= 2 for u in per_district.values())
    assert len({u.operator for u in big.uplinks}) == 3
    assert len({u.name for u in big.uplinks}) == len(big.uplinks)


def test_topology_is_deterministic_by_seed_and_leaves_the_rest_of_the_city(big: City) -> None:
    again = build_city(2000, seed=1)
    assert again.uplinks == big.uplinks
    assert [s.uplink for s in again.sites] == [s.uplink for s in big.sites]
    other = build_city(2000, seed=2)
    assert [s.uplink for s in other.sites] != [s.uplink for s in big.sites]
    # Drawn on a stream of its own, after the sites: planning again changes nothing else.
    names = {d.id: d.name for d in big.districts}
    aps_at = Counter(ap.site for ap in big.aps)
    uplinks, chosen = plan_uplinks(big.sites, names, 1, aps_at)
    assert uplinks == big.uplinks
    # The capacities draw nothing: without them the plan is the same.
    bare, same = plan_uplinks(big.sites, names, 1)
    assert [replace(u, capacity_mbps=None) for u in uplinks] == bare and same == chosen
    assert chosen == {s.id: s.uplink for s in big.sites}


@pytest.mark.parametrize("aps", [1, 2, 5, 12, 60])
def test_small_cities_have_at_least_two_uplinks_when_they_can(aps: int) -> None:
    city = build_city(aps, seed=4)
    assert len(city.uplinks) == min(2, len(city.sites))
    assert {s.uplink for s in city.sites} <= {u.id for u in city.uplinks}


@pytest.mark.parametrize(
    ("aps", "mbps"), [(0, 100.0), (2, 100.0), (3, 200.0), (20, 1_000.0), (50, 5_000.0)]
)
def test_capacity_is_the_smallest_link_sold_with_headroom(aps: int, mbps: float) -> None:
    assert capacity_mbps(aps) == mbps
    assert capacity_mbps(aps) * 1e6 >= HEADROOM * aps * AP_PEAK_BPS
    assert capacity_mbps(10**6) == 100_000.0  # beyond the largest size sold: the largest


def test_the_citys_traffic_stays_well_below_each_uplinks_capacity(city: City) -> None:
    """At the busiest 15-minute slot of the week, every uplink carries at most half its
    capacity (what its APs send and receive, headers included): far from the fault
    engine's backhaul_saturated line (90 % by default)."""
    behind: dict[str, list[SimAp]] = defaultdict(list)
    site_uplink = {s.id: s.uplink for s in city.sites}
    for ap in city.aps:
        behind[site_uplink[ap.site] or ""].append(ap)
    capacity = {u.id: u.capacity_mbps for u in city.uplinks}
    week = [T0 + slot * 900 for slot in range(7 * 24 * 4)]
    for uplink, aps in behind.items():
        peak = max(
            sum(
                ap.device.rate_bps(radio, now) * (1000 + ap.device.upload_permille) / 1000
                for ap in aps
                for radio in range(ap.device.radios)
            )
            for now in week
        )
        cap = capacity[uplink]
        assert cap is not None and 0 < peak <= 0.5 * cap * 1e6


def test_each_node_serves_the_site_it_stands_at(big: City) -> None:
    at = {(s.lat, s.lon): s.uplink for s in big.sites}
    assert all(at[(u.lat, u.lon)] == u.id for u in big.uplinks)


def testapportion() -> None:
    assert apportion(40, [0.45, 0.35, 0.2]) == [18, 14, 8]
    assert apportion(6, [0.45, 0.35, 0.2]) == [3, 2, 1]
    assert apportion(3, [0.45, 0.35, 0.2]) == [1, 1, 1]
    assert apportion(2, [0.45, 0.35]) == [1, 1]
    assert apportion(1, [1.0]) == [1]


def test_inventory_carries_uplinks_and_each_sites_uplink(city: City, tmp_path: Path) -> None:
    inventory = city.inventory()
    assert list(inventory) == ["partners", "districts", "credentials", "uplinks", "sites", "aps"]
    assert inventory["uplinks"] == [
        {"id": u.id, "name": u.name, "operator": u.operator, "capacity_mbps": u.capacity_mbps}
        for u in city.uplinks
    ]
    assert all(u["capacity_mbps"] for u in inventory["uplinks"])
    assert [s["uplink"] for s in inventory["sites"]] == [s.uplink for s in city.sites]
    doc = InventoryDoc.model_validate(inventory)
    assert {s.uplink for s in doc.sites} <= {u.id for u in doc.uplinks}


def test_the_written_inventory_imports_with_its_topology(
    city: City, tmp_path: Path, secret_box: SecretBox, database_url: str
) -> None:
    path = tmp_path / "inventory.yaml"
    write_inventory(city, path)
    engine = open_inventory(database_url, create=True)
    try:
        report = import_file(engine, path, secret_box)
        assert report.counts["uplinks"]["created"] == len(city.uplinks)
        with Session(engine) as session:
            stored = {
                site: uplink for site, uplink in session.execute(select(Site.id, Site.uplink_id))
            }
            capacities = {
                u: mbps for u, mbps in session.execute(select(Uplink.id, Uplink.capacity_mbps))
            }
    finally:
        engine.dispose()
    assert stored == {s.id: s.uplink for s in city.sites}
    assert capacities == {u.id: u.capacity_mbps for u in city.uplinks}


def test_uplink_cut_resolves_to_every_ap_behind_it(city: City, book: FaultBook) -> None:
    spans = districts_behind(city)
    uplink = max(spans, key=lambda u: len(spans[u]))
    behind_sites = {s.id for s in city.sites if s.uplink == uplink}
    expected = {ap.id for ap in city.aps if ap.site in behind_sites}
    assert len(spans[uplink]) >= 2 and expected
    assert set(book.resolve("uplink_cut", uplink)) == expected
    assert book.uplink_aps[uplink] == book.resolve("uplink_cut", uplink)
    with pytest.raises(FaultError, match="uplink_cut needs an uplink id; 's0001' is not an"):
        book.resolve("uplink_cut", "s0001")
    with pytest.raises(FaultError, match="site_power needs a site id"):
        book.resolve("site_power", uplink)


def test_uplink_cut_drops_its_aps_and_keeps_them_running(city: City, book: FaultBook) -> None:
    uplink = city.uplinks[0].id
    fault = book.add("uplink_cut", uplink, 60)
    inside = set(fault.ap_ids)
    before = {ap.id: ap.device.uptime_cs(T0) for ap in city.aps}
    for ap in city.aps:
        effect = book.effect(ap.id, T0 + 10)
        assert (effect is not None and effect.drop) == (ap.id in inside)
    for ap in city.aps:
        assert book.effect(ap.id, T0 + 61) is None
        assert ap.device.uptime_cs(T0 + 61) == before[ap.id] + 6100  # no reboot
    assert fault.as_dict(T0)["affected_aps"] == len(inside)


def test_random_uplink_cuts_are_seeded_and_leave_other_kinds_as_they_were(city: City) -> None:
    others = FaultRates(ap_down=2, site_power=1, district_power=30)
    with_cuts = FaultRates(ap_down=2, site_power=1, district_power=30, uplink_cut=5000)
    plain = FaultBook(city, clock=Clock(), seed=4, rates=others).listing()
    first = FaultBook(city, clock=Clock(), seed=4, rates=with_cuts).listing()
    again = FaultBook(city, clock=Clock(), seed=4, rates=with_cuts).listing()

    def key(faults: list[Fault]) -> list[tuple[str, str, float]]:
        return [(f.kind, f.target, f.start) for f in faults]

    cuts = [f for f in first if f.kind == "uplink_cut"]
    assert cuts and {f.target for f in cuts} <= {u.id for u in city.uplinks}
    assert all(300 <= f.end - f.start <= 5400 and f.source == "random" for f in cuts)
    assert key(first) == key(again)
    assert key([f for f in first if f.kind != "uplink_cut"]) == key(plain)


def test_scenario_with_an_uplink_cut(city: City, book: FaultBook, tmp_path: Path) -> None:
    uplink = city.uplinks[1].id
    path = tmp_path / "cut.yaml"
    path.write_text(f"- {{at: 30, kind: uplink_cut, target: {uplink}, duration_s: 300}}\n")
    (fault,) = load_and_schedule(book, path, start=T0)
    assert (fault.kind, fault.target, fault.start, fault.end) == (
        "uplink_cut",
        uplink,
        T0 + 30,
        T0 + 330,
    )
    path.write_text("- {at: 0, kind: uplink_cut, target: d01, duration_s: 5}\n")
    with pytest.raises(ScenarioError, match=r"step 1: uplink_cut needs an uplink id"):
        load_and_schedule(book, path)


def test_control_api_takes_an_uplink_cut_and_lists_uplinks(city: City, book: FaultBook) -> None:
    client = TestClient(create_control_app(book, city))
    uplink = city.uplinks[0].id
    summary = client.get("/city").json()
    assert summary["uplinks"] == {u: len(aps) for u, aps in book.uplink_aps.items()}
    assert sum(summary["uplinks"].values()) == len(city.aps)
    created = client.post(
        "/faults", json={"kind": "uplink_cut", "target": uplink, "duration_s": 60}
    )
    assert created.status_code == 201, created.text
    assert created.json()["affected_aps"] == summary["uplinks"][uplink]
    wrong = client.post("/faults", json={"kind": "uplink_cut", "target": "d01", "duration_s": 5})
    assert wrong.status_code == 422 and "needs an uplink id" in wrong.json()["detail"]
