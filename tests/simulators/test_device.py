from __future__ import annotations

from datetime import datetime, timedelta, timezone

from simulators import ber
from simulators.city import SimAp, build_city
from simulators.device import SLOTS, Device, activity
from simulators.device_mib import build_mib

T0 = 1_700_000_000.0  # Tuesday 2023-11-14, 05:13 local (UTC+7)
LOCAL = timezone(timedelta(hours=7))
WRAP32 = 1 << 32


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL).timestamp()


def mib_value(ap: SimAp, oid: str, now: float) -> int | bytes | tuple[int, ...] | None:
    tlv = ap.mib.get(ber.encode_oid(ber.parse_oid(oid)), now)
    return ber.decode_value(tlv[0], tlv[2:]).value


def snapshot(ap: SimAp, now: float) -> list[bytes]:
    return [ap.mib.get(ber.encode_oid(oid), now) for oid in ap.mib.oids]


def test_same_seed_same_city_same_values() -> None:
    first, second = build_city(12, seed=3), build_city(12, seed=3)
    assert first.inventory() == second.inventory()
    for a, b in zip(first.aps, second.aps, strict=True):
        for now in (T0, T0 + 3600.5, T0 + 86_400 * 9):
            assert snapshot(a, now) == snapshot(b, now)
    other = build_city(12, seed=4)
    assert other.inventory() != first.inventory()


def test_counters_are_monotonic_and_32_bit_is_hc_mod_2_32() -> None:
    for ap in build_city(6, seed=5).aps:
        uplink = 1 if ap.vendor.name == "mikrotik" else 2
        boot = ap.device.boot_time(T0)
        start = boot + 3600  # stay inside one boot period
        previous: dict[str, int] = {}
        for step in range(400):
            now = start + step * 137.3
            assert ap.device.boot_time(now) == boot
            for index in (uplink, uplink + 1):
                for hc, low in ((6, 10), (10, 16)):
                    hc_value = mib_value(ap, f"1.3.6.1.2.1.31.1.1.1.{hc}.{index}", now)
                    low_value = mib_value(ap, f"1.3.6.1.2.1.2.2.1.{low}.{index}", now)
                    assert isinstance(hc_value, int)
                    assert low_value == hc_value % WRAP32
                    key = f"{hc}.{index}"
                    assert hc_value >= previous.get(key, 0)
                    previous[key] = hc_value


def test_uplink_carries_the_sum_of_the_radios() -> None:
    ap = next(ap for ap in build_city(6, seed=5).aps if ap.vendor.name == "mikrotik")
    now = ap.device.boot_time(T0) + 5 * 86_400
    uplink_in = mib_value(ap, "1.3.6.1.2.1.31.1.1.1.6.1", now)
    radios_out = [mib_value(ap, f"1.3.6.1.2.1.31.1.1.1.10.{i}", now) for i in (2, 3)]
    assert isinstance(uplink_in, int)
    total = sum(v for v in radios_out if isinstance(v, int))
    assert total > 0
    assert 1.0 <= uplink_in / total <= 1.05


def test_sys_uptime_wraps_at_2_32_centiseconds() -> None:
    device = Device("wrap", "park", reboot_every_s=600 * 86_400)
    ap = build_city(1, seed=1).aps[0]
    view = build_mib(device, ap.vendor, ap.model, ap.identity)
    boot = device.boot_time(T0)
    now = boot + 550 * 86_400
    assert device.uptime_cs(now) == 550 * 86_400 * 100 > WRAP32
    tlv = view.get(ber.encode_oid(ber.parse_oid("1.3.6.1.2.1.1.3.0")), now)
    assert ber.decode_value(tlv[0], tlv[2:]) == (ber.TIMETICKS, (550 * 86_400 * 100) % WRAP32)


def test_uptime_differs_per_ap_and_stays_within_45_days() -> None:
    uptimes = [ap.device.uptime_cs(T0) for ap in build_city(30, seed=2).aps]
    assert len(set(uptimes)) == len(uptimes)
    assert all(0 <= u < 45 * 86_400 * 100 for u in uptimes)


def test_a_reboot_resets_uptime_and_counters() -> None:
    device = Device("r", "market")
    now = device.boot_time(T0) + 10 * 86_400
    before = device.tx_bytes(0, now)
    device.reboot(now - 60)
    assert device.uptime_cs(now) == 6000
    assert 0 < device.tx_bytes(0, now) < before


def test_most_aps_have_a_client_at_night() -> None:
    city = build_city(200, seed=11)
    # A Tuesday, a Saturday and a Sunday, at 03:00 and 03:30 local time.
    for when in (local(2024, 3, 5, 3), local(2024, 3, 9, 3), local(2024, 3, 10, 3, 30)):
        with_clients = sum(ap.device.total_clients(when) >= 1 for ap in city.aps)
        assert with_clients >= 0.85 * len(city.aps)


def test_rates_are_plausible_all_week() -> None:
    city = build_city(60, seed=9)
    start = local(2024, 3, 4, 0)
    for hour in range(0, 7 * 24, 3):
        now = start + hour * 3600 + 60
        for ap in city.aps:
            device = ap.device
            mbps = sum(device.rate_bps(r, now) for r in range(device.radios)) / 1e6
            assert 0.01 < mbps <= 20.0
            assert 0 <= device.cpu_load(now) <= 100
            if device.total_clients(now):
                assert mbps >= 0.1


def test_site_kinds_peak_when_expected() -> None:
    def at(kind: str, day: int, hour: float) -> float:
        return activity(kind)[int(day * 96 + hour * 4)]

    assert len(activity("park")) == SLOTS
    assert at("school", 1, 8.5) > 5 * at("school", 1, 21)
    assert at("school", 1, 8.5) > 3 * at("school", 6, 8.5)
    assert at("office", 2, 10) > 5 * at("office", 5, 10)
    assert at("transit", 0, 7) > 3 * at("transit", 0, 2)
    assert at("mosque", 4, 12) > at("mosque", 4, 10)
    assert at("park", 5, 17.5) > 3 * at("park", 1, 3)
    assert at("residential", 2, 20) > 3 * at("residential", 2, 3)
