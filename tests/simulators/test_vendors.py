"""The four vendor profiles, read straight from the MIB views (no sockets): what each
vendor answers, that SNMP and the SSH CLIs agree, and that airMAX's 32-bit counters wrap."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import pytest

from inventory.schemas import InventoryDoc
from simulators import ber, cli_openwrt, cli_routeros
from simulators.city import City, SimAp, build_city
from simulators.device_mib import LiveMibView
from simulators.ssh import ssh_aps_for
from simulators.vendors import VENDORS
from tests.fixtures.simulated import busy_instant

T0 = 1_700_000_000.0
IF_IN = "1.3.6.1.2.1.2.2.1.10"
IFX = "1.3.6.1.2.1.31.1.1.1"
WL_STAT = "1.3.6.1.4.1.41112.1.4.5.1"
RADIO = "1.3.6.1.4.1.41112.1.4.1.1"
HOTSPOT = "1.3.6.1.4.1.14988.1.1.5.1.1"
HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"
UCD = "1.3.6.1.4.1.2021"


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(40, seed=3)


def first(city: City, vendor: str) -> SimAp:
    return next(ap for ap in city.aps if ap.vendor.name == vendor)


def value(ap: SimAp, oid: str, now: float) -> ber.Value:
    tlv = ap.mib.get(ber.encode_oid(ber.parse_oid(oid)), now)
    return ber.decode_value(tlv[0], tlv[2:])


def walk(ap: SimAp, prefix: str, now: float) -> Iterator[tuple[str, ber.Value]]:
    """GETNEXT from ``prefix`` while inside it (bounded by the view's size)."""
    root = ber.parse_oid(prefix)
    oid = ber.encode_oid(root)
    for _ in range(len(ap.mib.oids) + 1000):
        name, tlv = ap.mib.get_next(oid, now)
        decoded = ber.decode_oid_tlv(name)
        if tlv == ber.END_OF_MIB_VIEW_TLV or decoded[: len(root)] != root:
            return
        yield ".".join(map(str, decoded)), ber.decode_value(tlv[0], tlv[2:])
        oid = name
    raise AssertionError("walk did not end")


# --- airMAX --------------------------------------------------------------------------------


def test_airmax_tables_types_and_no_ifxtable(city: City) -> None:
    ap = first(city, "airmax")
    now = busy_instant(ap)
    stat = dict(walk(ap, WL_STAT, now))
    assert {int(oid.rsplit(".", 2)[1]) for oid in stat} == set(range(1, 16))
    assert all(oid.endswith(".1") for oid in stat)  # one row: radio 1
    signal, noise = stat[f"{WL_STAT}.5.1"], stat[f"{WL_STAT}.8.1"]
    assert signal.tag == ber.INTEGER and isinstance(signal.value, int) and signal.value < 0
    assert noise.tag == ber.INTEGER and isinstance(noise.value, int) and -100 < noise.value < 0
    assert stat[f"{WL_STAT}.6.1"].value == signal.value - noise.value  # RSSI above the floor
    ccq = stat[f"{WL_STAT}.7.1"].value
    assert isinstance(ccq, int) and 0 < ccq <= 100
    sta = stat[f"{WL_STAT}.15.1"]
    assert sta.tag == ber.GAUGE32 and sta.value == ap.device.clients(0, now) > 0
    assert stat[f"{WL_STAT}.2.1"].value == b"CityWiFi"
    radio = dict(walk(ap, RADIO, now))
    assert {int(oid.rsplit(".", 2)[1]) for oid in radio} == set(range(1, 10))
    assert radio[f"{RADIO}.4.1"].value in (5180, 5200, 5745, 5765, 5785, 5805)
    assert value(ap, "1.3.6.1.2.1.1.2.0", now).value == ber.parse_oid("1.3.6.1.4.1.41112.1.4")
    assert value(ap, f"{IFX}.6.2", now).tag == ber.NO_SUCH_OBJECT
    assert list(walk(ap, IFX, now)) == []
    names = [v.value for _, v in walk(ap, "1.3.6.1.2.1.2.2.1.2", now)]
    assert names == [b"lo", b"eth0", b"wifi0", b"ath0"]


def test_airmax_link_quality_moves_with_load_and_is_stable_in_time(city: City) -> None:
    ap = first(city, "airmax")
    busy, quiet = busy_instant(ap), busy_instant(ap, quiet=True)

    def link(now: float) -> tuple[int, int, int]:
        return tuple(  # type: ignore[return-value]
            value(ap, f"{WL_STAT}.{column}.1", now).value for column in (5, 7, 8)
        )

    assert link(busy) == link(busy + 1.5)  # same slot: the same reading, to the dB
    (sig_busy, ccq_busy, noise_busy), (sig_quiet, ccq_quiet, noise_quiet) = link(busy), link(quiet)
    assert ccq_busy < ccq_quiet
    assert noise_busy >= noise_quiet - 1
    assert sig_busy <= sig_quiet + 4
    readings = [link(busy + k * 900) for k in range(-8, 8)]
    assert all(-75 <= s <= -45 and 20 <= c <= 100 and -98 <= n <= -85 for s, c, n in readings)


def test_airmax_counter32_wraps_without_a_reboot(city: City) -> None:
    ap = first(city, "airmax")
    uplink = 2  # lo, eth0, ...
    boot = ap.device.boot_time(T0)
    step = 600.0
    t, before = boot + 60, value(ap, f"{IF_IN}.{uplink}", boot + 60).value
    for _ in range(20_000):  # bounded: some weeks of 10-minute steps
        after = value(ap, f"{IF_IN}.{uplink}", t + step).value
        assert isinstance(before, int) and isinstance(after, int)
        if after < before:
            break
        t, before = t + step, after
    else:
        raise AssertionError("ifInOctets never wrapped")
    assert value(ap, f"{IF_IN}.{uplink}", t).tag == ber.COUNTER32
    assert ap.device.boot_time(t + step) == ap.device.boot_time(t) == boot  # no reboot
    up_before = value(ap, "1.3.6.1.2.1.1.3.0", t).value
    up_after = value(ap, "1.3.6.1.2.1.1.3.0", t + step).value
    assert isinstance(up_before, int) and isinstance(up_after, int) and up_after > up_before
    # The wrap is exactly 2^32: the traffic across it is what the radios carried, +3 %.
    delta = after + 2**32 - before
    carried = (ap.device.tx_bytes(0, t + step) - ap.device.tx_bytes(0, t)) * 1.03
    assert delta == pytest.approx(carried, rel=0.001, abs=10)


# --- OpenWrt -------------------------------------------------------------------------------


def test_openwrt_host_resources_and_ucd(city: City) -> None:
    ap = first(city, "openwrt")
    now = busy_instant(ap)
    assert b"OpenWrt" in bytes(value(ap, "1.3.6.1.2.1.1.1.0", now).value)  # type: ignore[arg-type]
    names = [v.value for _, v in walk(ap, f"{IFX}.1", now)]
    assert names == [b"lo", b"eth0", b"br-lan", b"wlan0", b"wlan1"]
    assert all(v.tag == ber.COUNTER64 for _, v in walk(ap, f"{IFX}.6", now))
    loads = [v for _, v in walk(ap, f"{UCD}.10.1.3", now)]
    assert len(loads) == 3 and all(v.tag == ber.OCTET_STRING for v in loads)
    texts = [bytes(v.value).decode() for v in loads]  # type: ignore[arg-type]
    assert all(re.fullmatch(r"\d+\.\d\d", text) for text in texts)
    assert float(texts[0]) == pytest.approx(ap.device.load_average(now)[0], abs=0.005)
    ints = [v.value for _, v in walk(ap, f"{UCD}.10.1.5", now)]
    assert ints == [round(float(text) * 100) for text in texts]
    idle = value(ap, f"{UCD}.11.11.0", now).value
    assert idle == 100 - ap.device.cpu_load(now)
    storage = dict(walk(ap, HR_STORAGE, now))
    assert storage[f"{HR_STORAGE}.2.1"].value == ber.parse_oid("1.3.6.1.2.1.25.2.1.2")  # RAM
    assert storage[f"{HR_STORAGE}.3.31"].value == b"/overlay"
    assert storage[f"{HR_STORAGE}.5.1"].value == ap.model.memory_kib
    # No wireless client count over SNMP: nothing under any vendor subtree but UCD's.
    enterprise = [oid for oid in ap.mib.oids if oid[:6] == (1, 3, 6, 1, 4, 1)]
    assert enterprise and all(oid[6] == 2021 for oid in enterprise)


def test_openwrt_memory_agrees_with_ubus(city: City) -> None:
    ap = first(city, "openwrt")
    for now in (busy_instant(ap), busy_instant(ap, quiet=True)):
        info = json.loads(cli_openwrt.system_info(ap.device, now))["memory"]
        assert info["total"] == ap.model.memory_kib * 1024
        assert value(ap, f"{UCD}.4.5.0", now).value == info["total"] // 1024
        assert value(ap, f"{UCD}.4.6.0", now).value == info["free"] // 1024
        assert value(ap, f"{UCD}.4.15.0", now).value == info["cached"] // 1024
        used = value(ap, f"{HR_STORAGE}.6.1", now).value
        assert used == (info["total"] - info["available"]) // 1024


# --- MikroTik ------------------------------------------------------------------------------


def test_mikrotik_hotspot_rows_equal_the_cli_count(city: City) -> None:
    ap = first(city, "mikrotik")
    assert isinstance(ap.mib, LiveMibView)
    seen = set()
    for k in range(0, 96 * 7, 7):
        now = T0 + k * 900 + 17
        names = [v for _, v in walk(ap, f"{HOTSPOT}.3", now)]
        cli = cli_routeros.run(
            "/ip hotspot active print count-only",
            identity=ap.name,
            device=ap.device,
            board=ap.model.name,
            now=now,
        )
        assert cli is not None and len(names) == int(cli) == ap.device.hotspot_sessions(now)
        assert len(names) <= ap.device.total_clients(now)
        assert all(re.fullmatch(rb"guest-\d{4}", bytes(v.value)) for v in names)  # type: ignore[arg-type]
        seen.add(len(names))
    assert len(seen) > 3 and max(seen) > 0  # the row count follows the clients


def test_mikrotik_hotspot_columns_and_counters(city: City) -> None:
    ap = first(city, "mikrotik")
    now = busy_instant(ap)
    rows = dict(walk(ap, HOTSPOT, now))
    ids = [oid.rsplit(".", 1)[1] for oid in rows if oid.startswith(f"{HOTSPOT}.3.")]
    assert ids
    for i in ids:
        assert rows[f"{HOTSPOT}.5.{i}"].tag == ber.IP_ADDRESS
        assert len(bytes(rows[f"{HOTSPOT}.6.{i}"].value)) == 6  # type: ignore[arg-type]
        assert rows[f"{HOTSPOT}.7.{i}"].tag == ber.TIMETICKS
        assert rows[f"{HOTSPOT}.12.{i}"].tag == rows[f"{HOTSPOT}.13.{i}"].tag == ber.COUNTER64
    later = dict(walk(ap, HOTSPOT, now + 120))
    for i in ids:  # the same sessions a little later: counters only grew
        for column in (7, 12, 13):
            old, new = rows[f"{HOTSPOT}.{column}.{i}"].value, later[f"{HOTSPOT}.{column}.{i}"].value
            assert isinstance(old, int) and isinstance(new, int) and new >= old
    clients = value(ap, "1.3.6.1.4.1.14988.1.1.1.4.0", now)  # mtxrWlRtabEntryCount
    assert clients.tag == ber.GAUGE32 and clients.value == ap.device.total_clients(now)
    leases = value(ap, "1.3.6.1.4.1.14988.1.1.6.1.0", now).value  # mtxrDHCPLeaseCount
    assert isinstance(leases, int) and leases >= ap.device.total_clients(now)


def test_live_view_walks_and_bulks_in_order(city: City) -> None:
    ap = first(city, "mikrotik")
    now = busy_instant(ap)
    by_next = [ber.parse_oid(oid) for oid, _ in walk(ap, "1.3", now)]
    assert by_next == sorted(set(by_next))
    assert any(oid[:12] == ber.parse_oid(HOTSPOT) for oid in by_next)
    # GETBULK over the whole view, in chunks, gives the same sequence.
    cursor, bulked = ber.encode_oid((1, 3)), []
    for _ in range(100):
        answer = ap.mib.get_bulk([cursor], 0, 25, now, 1 << 20)
        names = [name for name, tlv in answer if tlv != ber.END_OF_MIB_VIEW_TLV]
        bulked += [ber.decode_oid_tlv(name) for name in names]
        if len(names) < len(answer) or not names:
            break
        cursor = names[-1]
    assert bulked == by_next
    inside = ber.encode_oid(ber.parse_oid(f"{HOTSPOT}.3.1"))
    assert ap.mib.get(inside, now) == ber.NO_SUCH_INSTANCE_TLV
    # The rows are built once per set of sessions, not per cell or per request.
    view = ap.mib
    assert isinstance(view, LiveMibView)
    live = view.live
    assert live.rows(now) is live.rows(now + 1) is live.rows(now)


# --- memory, all vendors -------------------------------------------------------------------


def ram_row(ap: SimAp) -> int:
    return next(row.index for row in ap.vendor.storage if row.kind == "ram")


@pytest.mark.parametrize("vendor", ["mikrotik", "unifi", "openwrt"])
def test_memory_moves_with_load_and_overload(city: City, vendor: str) -> None:
    ap = first(city, vendor)
    index = ram_row(ap)
    busy, quiet = busy_instant(ap), busy_instant(ap, quiet=True)

    def used_pct(now: float) -> float:
        used, size = (value(ap, f"{HR_STORAGE}.{c}.{index}", now).value for c in (6, 5))
        assert isinstance(used, int) and isinstance(size, int)
        return 100 * used / size

    assert used_pct(quiet) < used_pct(busy) < 85
    assert used_pct(busy) == pytest.approx(ap.device.mem_used_pct(busy), abs=0.5)
    ap.device.set_condition("overload", "t", busy - 10, busy + 10)
    try:
        assert used_pct(busy) > 85
    finally:
        ap.device.clear_condition("overload", "t")


def test_mikrotik_memory_agrees_with_system_resource(city: City) -> None:
    ap = first(city, "mikrotik")
    now = busy_instant(ap)
    text = cli_routeros.resource(
        ap.device, now, cli_routeros.hardware(ap.device.seed, ap.model.name)
    )
    fields = dict(line.strip().split(": ", 1) for line in text.splitlines())
    size, used = (value(ap, f"{HR_STORAGE}.{c}.65536", now).value for c in (5, 6))
    assert isinstance(size, int) and isinstance(used, int)
    assert fields["total-memory"] == cli_routeros.size_text(size * 1024)
    assert fields["free-memory"] == cli_routeros.size_text((size - used) * 1024)


def test_mikrotik_models_match_the_routeros_boards() -> None:
    for model in VENDORS["mikrotik"].models:
        hw = cli_routeros.hardware("any", model.name)
        assert hw.board == model.name and hw.total_memory == model.memory_kib * 1024


# --- the city ------------------------------------------------------------------------------


def test_vendor_mix_is_seeded_and_near_the_target_shares() -> None:
    a, b = build_city(2000, seed=1), build_city(2000, seed=1)
    assert [ap.vendor.name for ap in a.aps] == [ap.vendor.name for ap in b.aps]
    assert [ap.model.name for ap in a.aps] == [ap.model.name for ap in b.aps]
    assert [ap.vendor.name for ap in build_city(2000, seed=2).aps] != [
        ap.vendor.name for ap in a.aps
    ]
    share = {k: v / 2000 for k, v in Counter(ap.vendor.name for ap in a.aps).items()}
    assert share["mikrotik"] == pytest.approx(0.40, abs=0.05)
    assert share["unifi"] == pytest.approx(0.35, abs=0.05)
    assert share["airmax"] == pytest.approx(0.15, abs=0.04)
    assert share["openwrt"] == pytest.approx(0.10, abs=0.03)
    assert all(ap.vendor.models.count(ap.model) == 1 for ap in a.aps)


@pytest.mark.parametrize("seed", [1, 2, 9])
def test_every_vendor_mix_inventory_validates(seed: int) -> None:
    city = build_city(150, seed=seed)
    assert {ap.vendor.name for ap in city.aps} == set(VENDORS)
    doc = InventoryDoc.model_validate(city.inventory())
    assert len(doc.aps) == 150


def test_ssh_aps_for_serves_mikrotik_and_openwrt() -> None:
    city = build_city(60, seed=3)
    capable = [ap for ap in city.aps if ap.vendor.name in ("mikrotik", "openwrt")]
    aps = ssh_aps_for(city, limit=30)
    assert [a.host for a in aps] == [ap.host for ap in capable[:30]]
    flavours = {a.host: a.flavour for a in aps}
    for ap in capable[:30]:
        assert flavours[ap.host] == ("routeros" if ap.vendor.name == "mikrotik" else "openwrt")
    assert set(flavours.values()) == {"routeros", "openwrt"}
    assert len(ssh_aps_for(city)) == len(capable)  # default limit 200: all of them
    only = ssh_aps_for(city, vendor="openwrt")
    assert only and all(a.flavour == "openwrt" for a in only)
    assert ssh_aps_for(city, vendor="airmax") == []
