"""Fault book, device conditions and scenarios, without sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators import ber
from simulators.city import City, SimAp, build_city
from simulators.faults import (
    DEMO_FAULT_RATES,
    KINDS,
    FaultBook,
    FaultError,
    FaultRates,
    UnknownFault,
    build_fault_book,
)
from simulators.scenario import ScenarioError, load_and_schedule, parse_scenario

T0 = 1_710_000_000.0
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
IF_IN = "1.3.6.1.2.1.2.2.1.10"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
MT_CLIENTS = "1.3.6.1.4.1.14988.1.1.1.3.1.6"
UNIFI_CLIENTS = "1.3.6.1.4.1.41112.1.6.1.2.1.8"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def city() -> City:
    return build_city(40, seed=3)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(city: City, clock: Clock) -> FaultBook:
    return FaultBook(city, clock=clock)


def get(ap: SimAp, oid: str, now: float) -> ber.Value:
    tlv = ap.mib.get(ber.encode_oid(ber.parse_oid(oid)), now)
    return ber.decode_value(tlv[0], tlv[2:])


def district_with_two_sites(city: City) -> str:
    counts: dict[str, int] = {}
    for site in city.sites:
        counts[site.district] = counts.get(site.district, 0) + 1
    return max(counts, key=lambda d: counts[d])


def test_targets_resolve_by_kind(city: City, book: FaultBook) -> None:
    ap = city.aps[5]
    site_aps = tuple(a.id for a in city.aps if a.site == ap.site)
    district = next(s.district for s in city.sites if s.id == ap.site)
    district_aps = {a.id for a in city.aps if book.site_district[a.site] == district}
    assert book.resolve("ap_down", ap.id) == (ap.id,)
    assert book.resolve("silent", ap.site) == site_aps
    assert book.resolve("site_power", ap.site) == site_aps
    assert set(book.resolve("district_power", district)) == district_aps
    assert set(book.resolve("slow", district)) == district_aps


@pytest.mark.parametrize(
    ("kind", "target", "duration", "message"),
    [
        ("meteor", "ap00001", 10, "unknown fault kind 'meteor'"),
        ("ap_down", "ap99999", 10, "'ap99999' is none of them"),
        ("site_power", "ap00001", 10, "site_power needs a site id"),
        ("district_power", "s0001", 10, "district_power needs a district id"),
        ("ap_down", "ap00001", 0, "duration_s must be a positive"),
        ("ap_down", "ap00001", -5, "duration_s must be a positive"),
    ],
)
def test_invalid_faults_are_refused_clearly(
    book: FaultBook, kind: str, target: str, duration: float, message: str
) -> None:
    with pytest.raises(FaultError, match=message):
        book.add(kind, target, duration)
    assert book.listing() == []


def test_no_fault_means_no_effect(city: City, book: FaultBook) -> None:
    assert all(book.effect(ap.id, T0) is None for ap in city.aps)


def test_district_power_drops_exactly_its_aps_then_they_boot(
    city: City, book: FaultBook, clock: Clock
) -> None:
    district = district_with_two_sites(city)
    fault = book.add("district_power", district, 120)
    inside = set(fault.ap_ids)
    assert len(inside) > 1
    for ap in city.aps:
        effect = book.effect(ap.id, T0 + 60)
        assert (effect is not None and effect.drop) == (ap.id in inside)
    after = T0 + 125
    for ap in city.aps:
        assert book.effect(ap.id, after) is None
        if ap.id in inside:
            assert ap.device.uptime_cs(after) == 500
            octets = IF_HC_IN if ap.vendor.if_x_table else IF_IN  # airMAX: 32-bit only
            counter = get(ap, f"{octets}.1", after).value
            assert isinstance(counter, int) and counter < 50_000_000
    assert book.listing(after) == []


def test_deleting_a_power_cut_boots_the_aps_then(city: City, book: FaultBook, clock: Clock) -> None:
    site = city.aps[0].site
    fault = book.add("site_power", site, 3600)
    clock.now = T0 + 30
    book.end(fault.id)
    ap = city.aps[0]
    assert book.effect(ap.id, T0 + 31) is None
    assert ap.device.uptime_cs(T0 + 31) == 100
    # The original end no longer reboots it.
    assert ap.device.uptime_cs(T0 + 4000) == (4000 - 30) * 100
    with pytest.raises(UnknownFault):
        book.end(fault.id)
    with pytest.raises(UnknownFault):
        book.end("f9999")


def test_cancelling_a_scheduled_cut_leaves_no_trace(city: City, book: FaultBook) -> None:
    ap = city.aps[1]
    before = ap.device.uptime_cs(T0 + 500)
    fault = book.add("ap_down", ap.id, 60, start=T0 + 100)
    assert [f.as_dict(T0)["state"] for f in book.listing()] == ["scheduled"]
    assert book.effect(ap.id, T0 + 50) is None
    book.end(fault.id)
    assert book.listing() == []
    assert ap.device.uptime_cs(T0 + 500) == before


def test_backhaul_cut_keeps_uptime_running(city: City, book: FaultBook) -> None:
    ap = city.aps[2]
    before = ap.device.uptime_cs(T0)
    fault = book.add("backhaul_cut", ap.site, 60)
    assert ap.id in fault.ap_ids
    effect = book.effect(ap.id, T0 + 10)
    assert effect is not None and effect.drop
    assert book.effect(ap.id, T0 + 61) is None
    assert ap.device.uptime_cs(T0 + 61) == before + 6100


def test_ap_reboot_restarts_uptime_and_counters_consistently(city: City, book: FaultBook) -> None:
    ap = city.aps[3]
    now = T0 + 10
    hc_before = get(ap, f"{IF_HC_IN}.2", now).value
    assert isinstance(hc_before, int)
    book.add("ap_reboot", ap.id, 45, start=now)
    effect = book.effect(ap.id, now + 20)
    assert effect is not None and effect.drop
    readings = []
    for t in (now + 46, now + 100, now + 400, now + 4000):
        assert book.effect(ap.id, t) is None
        hc, c32 = get(ap, f"{IF_HC_IN}.2", t).value, get(ap, f"{IF_IN}.2", t).value
        assert isinstance(hc, int) and c32 == hc % 2**32
        readings.append(hc)
    assert get(ap, SYS_UPTIME, now + 46).value == 4600
    assert readings == sorted(readings) and readings[0] < hc_before


def test_flapping_alternates(city: City, book: FaultBook) -> None:
    ap = city.aps[4]
    book.add("flapping", ap.id, 100, period_s=10)
    phases = []
    for second in (1, 9, 11, 19, 21, 35):
        effect = book.effect(ap.id, T0 + second)
        phases.append(effect is not None and effect.drop)
    assert phases == [True, True, False, False, True, False]


def test_slow_delays_are_seeded_and_between_2_and_5_s(city: City, clock: Clock) -> None:
    def delays() -> list[float]:
        book = FaultBook(city, clock=clock, seed=9)
        book.add("slow", city.aps[0].id, 60)
        out = []
        for i in range(20):
            effect = book.effect(city.aps[0].id, T0 + i)
            assert effect is not None and not effect.drop
            out.append(effect.delay_s)
        return out

    first = delays()
    assert all(2 <= d <= 5 for d in first)
    assert len(set(first)) > 5
    assert delays() == first


def ap_of(city: City, vendor: str) -> SimAp:
    return next(ap for ap in city.aps if ap.vendor.name == vendor)


def test_silent_ap_has_no_clients_and_flat_counters(city: City, book: FaultBook) -> None:
    ap = ap_of(city, "mikrotik")
    # Local noon on a weekday: people around.
    noon = T0 - T0 % 86_400 + 5 * 3600 + 7 * 86_400
    book.add("silent", ap.id, 1800, start=noon)
    assert ap.device.total_clients(noon - 60) > 0
    assert get(ap, f"{MT_CLIENTS}.2", noon + 60).value == 0
    assert ap.device.cpu_load(noon + 60) < 15
    readings = [ap.device.tx_bytes(0, noon + s) for s in (-900, 0, 600, 1200, 1799, 1900, 3600)]
    assert readings == sorted(readings)
    assert readings[4] - readings[1] <= 1800 * 2000  # background trickle only
    assert readings[6] - readings[5] > readings[4] - readings[1]
    effect = book.effect(ap.id, noon + 60)
    assert effect is not None and effect.silent and not effect.drop


def test_overload_pins_cpu_and_crowds_the_ap(city: City, book: FaultBook) -> None:
    ap = ap_of(city, "unifi")
    usual = ap.device.total_clients(T0 + 60)
    book.add("overload", ap.id, 600)
    assert 93 <= ap.device.cpu_load(T0 + 60) <= 97
    assert ap.device.total_clients(T0 + 60) > max(2 * usual, 10)
    assert ap.device.total_clients(T0 + 700) == usual


@pytest.mark.parametrize("vendor", ["mikrotik", "unifi"])
def test_malformed_answers_wrong_types(city: City, book: FaultBook, vendor: str) -> None:
    ap = ap_of(city, vendor)
    clients = f"{MT_CLIENTS}.2" if vendor == "mikrotik" else f"{UNIFI_CLIENTS}.1"
    book.add("malformed", ap.id, 60)
    now = T0 + 1
    assert get(ap, SYS_UPTIME, now).tag == ber.OCTET_STRING
    hc = get(ap, f"{IF_HC_IN}.1", now)
    assert hc.tag == ber.OCTET_STRING and isinstance(hc.value, bytes) and hc.value.isdigit()
    assert get(ap, clients, now).tag == ber.NO_SUCH_OBJECT
    later = T0 + 61
    assert get(ap, SYS_UPTIME, later).tag == ber.TIMETICKS
    assert get(ap, f"{IF_HC_IN}.1", later).tag == ber.COUNTER64
    assert get(ap, clients, later).tag in (ber.COUNTER32, ber.INTEGER)


def test_overlapping_faults_merge(city: City, book: FaultBook) -> None:
    ap = city.aps[0]
    book.add("slow", ap.id, 60)
    book.add("malformed", ap.site, 60)
    effect = book.effect(ap.id, T0 + 1)
    assert effect is not None and effect.delay_s >= 2 and effect.malformed


def test_random_faults_are_off_by_default_and_seeded_when_on(city: City, clock: Clock) -> None:
    assert build_fault_book(city, clock=clock).listing() == []
    busy = FaultRates(ap_down=2, slow=2, site_power=1, district_power=30)
    first = FaultBook(city, clock=clock, seed=4, rates=busy).listing()
    again = FaultBook(city, clock=clock, seed=4, rates=busy).listing()
    assert len(first) > 5
    assert {f.kind for f in first} <= {"ap_down", "slow", "site_power", "district_power"}
    assert [(f.kind, f.target, f.start) for f in first] == [
        (f.kind, f.target, f.start) for f in again
    ]
    assert all(T0 <= f.start < T0 + 3600 and f.source == "random" for f in first)
    assert DEMO_FAULT_RATES.any()


def test_random_faults_keep_coming(city: City, clock: Clock) -> None:
    book = FaultBook(city, clock=clock, seed=1, rates=FaultRates(ap_reboot=5))
    clock.now = T0 + 7200
    book.effect(city.aps[0].id, clock.now)
    assert any(f.start >= T0 + 7200 for f in book.listing())


def test_scenario_schedules_relative_to_start(city: City, book: FaultBook, tmp_path: Path) -> None:
    district = city.districts[0].id
    path = tmp_path / "outage.yaml"
    path.write_text(
        f"- {{at: 30, kind: district_power, target: {district}, duration_s: 120}}\n"
        f"- {{at: 10, kind: flapping, target: {city.aps[0].id}, duration_s: 60, period_s: 5}}\n"
    )
    faults = load_and_schedule(book, path, start=T0)
    assert [(f.kind, f.start, f.end) for f in faults] == [
        ("district_power", T0 + 30, T0 + 150),
        ("flapping", T0 + 10, T0 + 70),
    ]
    assert faults[1].period_s == 5 and faults[0].source == "scenario"


def test_scenario_problems_are_all_reported(city: City, book: FaultBook, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as shape:
        parse_scenario(
            [
                {"at": 1, "kind": "ap_down", "target": "ap00001"},
                {"at": -1, "kind": "ap_down", "target": "ap00001", "duration_s": 0},
                {"at": "soon", "kind": "ap_down", "target": "x", "duration_s": 5, "colour": 1},
                "ap_down",
            ],
            "s.yaml",
        )
    assert shape.value.problems == [
        "s.yaml: step 1: missing duration_s",
        "s.yaml: step 2: at must be >= 0 seconds after start, not -1",
        "s.yaml: step 2: duration_s must be positive, not 0",
        "s.yaml: step 3: unknown keys colour",
        "s.yaml: step 3: at must be a number of seconds, not 'soon'",
        "s.yaml: step 4: expected a mapping with at, kind, target, duration_s",
    ]
    path = tmp_path / "bad.yaml"
    path.write_text("faults:\n  - {at: 0, kind: site_power, target: d01, duration_s: 5}\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: step 1: site_power needs a site id"):
        load_and_schedule(book, path)
    assert book.listing() == []
    with pytest.raises(ScenarioError, match="cannot read"):
        load_and_schedule(book, tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("- {at: 1\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_and_schedule(book, tmp_path / "broken.yaml")


def test_every_kind_can_be_injected(city: City, book: FaultBook) -> None:
    ap = city.aps[0]
    district = book.site_district[ap.site]
    uplink = book.site_uplink[ap.site]
    assert uplink is not None
    for kind in KINDS:
        target = {
            "site_power": ap.site,
            "backhaul_cut": ap.site,
            "district_power": district,
            "uplink_cut": uplink,
        }
        book.add(kind, target.get(kind, ap.id), 30)
    assert len(book.listing()) == len(KINDS)
