from __future__ import annotations

import ipaddress
import math
from collections import Counter
from pathlib import Path

import pytest
import yaml

from core.errors import SimulatorError
from inventory.schemas import InventoryDoc
from simulators import bekasi
from simulators.city import build_city, ssh_password
from simulators.run import write_inventory

CENTER = bekasi.CENTER


def distance_km(lat: float, lon: float) -> float:
    north = (lat - CENTER[0]) * 110.574
    east = (lon - CENTER[1]) * 111.320 * math.cos(math.radians(CENTER[0]))
    return math.hypot(north, east)


@pytest.mark.parametrize("aps", [1, 5, 37, 300])
def test_inventory_validates_against_the_project_schema(aps: int) -> None:
    city = build_city(aps, seed=2)
    doc = InventoryDoc.model_validate(city.inventory())
    assert len(doc.aps) == aps
    assert {ap.site for ap in doc.aps} == {site.id for site in doc.sites}
    assert {ap.credentials for ap in doc.aps} <= {c.id for c in doc.credentials}


def test_city_shape() -> None:
    city = build_city(300, seed=1)
    inventory = city.inventory()
    assert len(inventory["districts"]) == 12
    assert len(inventory["partners"]) == 8
    versions = Counter(c["snmp"]["version"] for c in inventory["credentials"])
    assert versions["2c"] == 12 and 1 <= versions["3"] <= 12
    assert inventory["districts"][0]["id"] == "d01"
    assert inventory["sites"][0]["id"] == "s0001"
    assert inventory["aps"][0]["id"] == "ap00001"
    assert inventory["partners"][0]["id"] == "p01"
    sponsored = sum(site["partner"] is not None for site in inventory["sites"])
    assert 0.45 < sponsored / len(inventory["sites"]) < 0.75
    per_site = Counter(ap["site"] for ap in inventory["aps"])
    assert set(per_site.values()) <= {1, 2, 3}
    assert {site["kind"] for site in inventory["sites"]} == {
        "park",
        "market",
        "school",
        "office",
        "transit",
        "mosque",
        "residential",
    }
    assert all(distance_km(s["lat"], s["lon"]) <= 8.0 for s in inventory["sites"])
    assert len({s["name"] for s in inventory["sites"]}) == len(inventory["sites"])
    vendors = Counter(ap.vendor.name for ap in city.aps)
    assert set(vendors) == {"mikrotik", "unifi", "airmax", "openwrt"}
    assert vendors["openwrt"] < vendors["airmax"] < vendors["unifi"]  # ~10 / ~14 / ~35 %
    snmp = {c["id"]: c["snmp"] for c in inventory["credentials"]}
    for ap, row in zip(city.aps, inventory["aps"], strict=True):
        if ap.v3 is None:
            assert snmp[row["credentials"]] == {"version": "2c", "community": ap.community}
        else:
            assert row["credentials"] == ap.v3.id and snmp[ap.v3.id]["user"] == ap.v3.user
        assert row["ssh_port"] == 2222 and row["profile"] == "auto" and row["enabled"]
    v3_share = sum(ap.v3 is not None for ap in city.aps) / len(city.aps)
    assert 0.2 < v3_share < 0.45  # about a third of the city migrated to SNMPv3
    ssh = {c["ssh"]["password"] for c in inventory["credentials"]}
    assert ssh == {ssh_password(1)}


def test_small_city_has_few_districts_and_partners() -> None:
    inventory = build_city(5, seed=1).inventory()
    assert 1 <= len(inventory["districts"]) <= 3
    assert 1 <= len(inventory["partners"]) <= 2
    assert len(inventory["aps"]) == 5


def test_addresses_are_sequential_loopback_and_skip_0_and_255() -> None:
    city = build_city(600, seed=1, base_address="127.1.0.250", snmp_port=1234)
    hosts = [ipaddress.IPv4Address(ap.host) for ap in city.aps]
    assert str(hosts[0]) == "127.1.0.250"
    assert len(set(hosts)) == 600
    assert hosts == sorted(hosts)
    assert all(h.is_loopback and h in ipaddress.IPv4Network("127.1.0.0/16") for h in hosts)
    assert not any(h.packed[3] in (0, 255) for h in hosts)
    assert "127.1.1.1" in {str(h) for h in hosts} and "127.1.1.0" not in {str(h) for h in hosts}
    assert {ap.snmp_port for ap in city.aps} == {1234}


@pytest.mark.parametrize("base", ["10.0.0.1", "192.168.1.10", "not-an-ip"])
def test_non_loopback_base_addresses_are_refused(base: str) -> None:
    with pytest.raises(SimulatorError):
        build_city(3, base_address=base)


def test_a_city_that_overflows_its_16_is_refused() -> None:
    with pytest.raises(SimulatorError, match="do not fit"):
        build_city(10, base_address="127.1.255.250")


def test_write_inventory_is_plain_yaml_in_order(tmp_path: Path) -> None:
    city = build_city(8, seed=6)
    path = tmp_path / "deep" / "inventory.yaml"
    write_inventory(city, path)
    text = path.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == city.inventory()
    assert text.startswith("partners:")
    assert text.index("districts:") < text.index("credentials:") < text.index("sites:")
    assert list(tmp_path.joinpath("deep").iterdir()) == [path]
    InventoryDoc.model_validate(yaml.safe_load(text))
