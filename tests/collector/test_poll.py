"""Table-driven polls of canned devices through the fake scraper."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from collector import profiles
from collector.derive import CounterReading
from collector.poll import poll_ap, walk
from collector.snmp import FakeScraper, Missing, SnmpTarget, Value

SYS = "1.3.6.1.2.1.1"
IFT = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
MT_CLIENTS = "1.3.6.1.4.1.14988.1.1.1.3.1.6"
UNIFI_VAP = "1.3.6.1.4.1.41112.1.6.1.2.1"
AIRMAX_STA = "1.3.6.1.4.1.41112.1.4.5.1.15"


def interfaces(
    rows: list[tuple[int, str, int, int, int, int]], hc: bool = True
) -> dict[str, Value]:
    """rows: (ifIndex, name, ifType, speed_mbps, in_octets, out_octets)."""
    t: dict[str, Value] = {}
    for idx, name, if_type, mbps, rx, tx in rows:
        t[f"{IFT}.1.{idx}"] = idx
        t[f"{IFT}.2.{idx}"] = name.encode()
        t[f"{IFT}.3.{idx}"] = if_type
        t[f"{IFT}.5.{idx}"] = min(mbps * 1_000_000, 2**32 - 1)
        t[f"{IFT}.10.{idx}"] = rx % 2**32
        t[f"{IFT}.16.{idx}"] = tx % 2**32
        if hc:
            t[f"{IFX}.1.{idx}"] = name.encode()
            t[f"{IFX}.6.{idx}"] = rx
            t[f"{IFX}.10.{idx}"] = tx
            t[f"{IFX}.15.{idx}"] = mbps
    return t


def system(object_id: str, descr: str, ticks: Value) -> dict[str, Value]:
    return {
        f"{SYS}.1.0": descr.encode(),
        f"{SYS}.2.0": object_id,
        f"{SYS}.3.0": ticks,
        f"{SYS}.5.0": b"ap",
    }


MIKROTIK = {
    **system("1.3.6.1.4.1.14988.1", "RouterOS RB951Ui-2HnD", 123_456),
    **interfaces(
        [
            (1, "ether1", 6, 100, 5 * 10**9, 10**9),
            (2, "wlan1", 71, 300, 10, 20),
            (3, "wlan2", 71, 866, 30, 40),
        ]
    ),
    f"{MT_CLIENTS}.2": 7,
    f"{MT_CLIENTS}.3": 5,
}
UNIFI = {
    **system("1.3.6.1.4.1.8072.3.2.10", "UAP-AC-Pro-Gen2 6.6.77.15402", 999),
    **interfaces(
        [
            (1, "lo", 24, 0, 5, 5),
            (2, "eth0", 6, 1000, 7 * 10**9, 3 * 10**9),
            (3, "wifi0", 71, 300, 0, 0),
            (4, "wifi1", 71, 866, 0, 0),
            (5, "ath0", 71, 300, 0, 0),
            (6, "ath1", 71, 866, 0, 0),
        ]
    ),
    f"{UNIFI_VAP}.8.1": 3,
    f"{UNIFI_VAP}.8.2": 9,
    f"{UNIFI_VAP}.9.1": b"ng",
    f"{UNIFI_VAP}.9.2": b"na",
}
OLD_SWITCH = {  # no ifXTable: 32-bit counters only
    **system("1.3.6.1.4.1.9.1.1", "Some old device", 500),
    **interfaces([(1, "eth0", 6, 100, 3_000_000_000, 1_000)], hc=False),
}
AIRMAX = {  # airOS: no ifXTable, the counters are Counter32 and have wrapped
    **system("1.3.6.1.4.1.41112.1.4", "Linux 2.6.32.68 #1 Tue Oct 8 10:36:21 EEST 2024 mips", 77),
    **interfaces(
        [
            (1, "lo", 24, 10, 5, 5),
            (2, "eth0", 6, 100, 3 * 2**32 + 123_456, 2**32 + 789),
            (3, "wifi0", 71, 300, 0, 0),
            (4, "ath0", 71, 300, 0, 0),
        ],
        hc=False,
    ),
    f"{AIRMAX_STA}.1": 14,
    "1.3.6.1.4.1.41112.1.4.5.1.5.1": -61,  # ubntWlStatSignal
}
OPENWRT = {  # net-snmp: ifXTable and HOST-RESOURCES, but no wireless client count
    **system(
        "1.3.6.1.4.1.8072.3.2.10", "Linux OpenWrt 5.15.137 #0 SMP Sun Nov 12 18:48:00 2023 mips", 4
    ),
    **interfaces(
        [
            (1, "lo", 24, 10, 5, 5),
            (2, "eth0", 6, 1000, 8 * 10**9, 2 * 10**9),
            (3, "br-lan", 6, 1000, 2 * 10**9, 8 * 10**9),
            (4, "wlan0", 6, 300, 10, 20),
            (5, "wlan1", 6, 867, 30, 40),
        ]
    ),
    "1.3.6.1.2.1.25.2.3.1.2.1": "1.3.6.1.2.1.25.2.1.2",
    "1.3.6.1.4.1.2021.10.1.3.1": b"0.42",
}
NO_VENDOR_MIB = {k: v for k, v in MIKROTIK.items() if not k.startswith(MT_CLIENTS)}
BAD_TYPES = {**MIKROTIK, f"{SYS}.3.0": b"not ticks", f"{MT_CLIENTS}.3": b"seven"}

CASES: list[tuple[str, dict[str, Value], str, dict[str, Any], int]] = [
    (
        "mikrotik",
        MIKROTIK,
        "mikrotik",
        {"uptime_s": 1234.56, "clients": 12.0, "rx_bytes": 5e9, "tx_bytes": 1e9},
        0,
    ),
    (
        "unifi",
        UNIFI,
        "unifi",
        {"uptime_s": 9.99, "clients": 12.0, "rx_bytes": 7e9, "tx_bytes": 3e9},
        0,
    ),
    (
        "airmax",
        AIRMAX,
        "airmax",
        {"uptime_s": 0.77, "clients": 14.0, "rx_bytes": 123_456.0, "tx_bytes": 789.0},
        0,
    ),
    (
        "openwrt",
        OPENWRT,
        "openwrt",
        {"uptime_s": 0.04, "rx_bytes": 8e9, "tx_bytes": 2e9},
        0,
    ),
    (
        "32-bit only",
        OLD_SWITCH,
        "generic",
        {"uptime_s": 5.0, "rx_bytes": 3e9, "tx_bytes": 1000.0},
        0,
    ),
    (
        "vendor MIB missing",
        NO_VENDOR_MIB,
        "mikrotik",
        {"uptime_s": 1234.56, "rx_bytes": 5e9, "tx_bytes": 1e9},
        1,
    ),
    ("wrong types", BAD_TYPES, "mikrotik", {"rx_bytes": 5e9, "tx_bytes": 1e9}, 2),
]


def target(i: int) -> SnmpTarget:
    return SnmpTarget(host=f"127.1.0.{i}", port=1161, community="public")


@pytest.mark.parametrize(
    ("name", "table", "profile", "expected", "errors"), CASES, ids=[c[0] for c in CASES]
)
def test_poll_normalises_each_device(
    name: str, table: dict[str, Value], profile: str, expected: dict[str, float], errors: int
) -> None:
    fake = FakeScraper({("127.1.0.1", 1161): table})
    result = asyncio.run(poll_ap(fake, target(1), None, None))
    assert result.ok
    assert result.profile == profile
    assert result.errors == errors
    assert result.fields["reachable"] == 1.0
    for key, value in expected.items():
        assert result.fields[key] == pytest.approx(value), key
    absent = {"uptime_s", "clients", "rx_bytes", "tx_bytes"} - set(expected)
    assert not absent & set(result.fields), "absent metrics must not be made-up zeros"
    assert "rx_bps" not in result.fields  # first poll: no rate yet


def test_second_poll_derives_rates_from_the_uplink() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    prev = CounterReading(
        ts=time.time() - 60.0,
        uptime_ticks=123_456 - 6_000,
        rx_bytes=5 * 10**9 - 75_000_000,
        tx_bytes=10**9 - 15_000_000,
        width=64,
        speed_bps=100e6,
    )
    result = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), prev))
    assert result.fields["rx_bps"] == pytest.approx(10e6, rel=0.01)
    assert result.fields["tx_bps"] == pytest.approx(2e6, rel=0.01)


def test_airmax_rates_cross_a_counter32_wrap() -> None:
    """Counter32 ifInOctets went back without a reboot: one wrap, not a reset."""
    fake = FakeScraper({("127.1.0.1", 1161): AIRMAX})
    prev = CounterReading(
        ts=time.time() - 60.0,
        uptime_ticks=77 - 6_000 + 2**32,  # sysUpTime wrapped too: 497 days up
        rx_bytes=2**32 - 7_376_544,  # 7.5 MB before the wrap point
        tx_bytes=789 - 1_500_000 + 2**32,
        width=32,
        speed_bps=100e6,
    )
    result = asyncio.run(poll_ap(fake, target(1), profiles.get("airmax"), prev))
    assert result.reading is not None and result.reading.width == 32
    assert result.fields["rx_bps"] == pytest.approx(7_500_000 * 8 / 60, rel=0.01)
    assert result.fields["tx_bps"] == pytest.approx(1_500_000 * 8 / 60, rel=0.01)


def test_rate_above_link_speed_is_dropped_not_spiked() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    prev = CounterReading(
        ts=time.time() - 1.0,
        uptime_ticks=123_456 - 100,
        rx_bytes=0,
        tx_bytes=10**9,
        width=64,
        speed_bps=100e6,
    )
    result = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), prev))
    assert "rx_bps" not in result.fields  # 5 GB in a second on a 100 Mbit/s port
    assert result.fields["tx_bps"] == 0.0


def test_unreachable_device_fails_the_poll_only() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    fake.unreachable.add(("127.1.0.1", 1161))
    result = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), None))
    assert not result.ok
    assert result.fields == {"reachable": 0.0}
    assert result.error and "timeout" in result.error


def test_walk_follows_columns_across_many_requests() -> None:
    big = {f"{IFX}.6.{i}": i * 10 for i in range(1, 40)}
    big.update({f"{IFX}.10.{i}": i for i in range(1, 40)})
    fake = FakeScraper({("127.1.0.1", 1161): big})
    got = asyncio.run(walk(fake, target(1), [], [f"{IFX}.6", f"{IFX}.10"], max_repetitions=5))
    assert len(got.columns[f"{IFX}.6"]) == 39
    assert got.columns[f"{IFX}.10"]["39"] == 39
    assert 8 <= got.requests <= 10


def test_walk_of_a_missing_column_is_empty() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): {f"{SYS}.3.0": 5}})
    got = asyncio.run(walk(fake, target(1), [f"{SYS}.3"], [MT_CLIENTS]))
    assert got.scalars[f"{SYS}.3"] == 5
    assert got.columns[MT_CLIENTS] == {}
    assert got.requests == 1


def test_fake_get_distinguishes_missing_kinds() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): {f"{SYS}.3.0": 5}})
    answer = dict(asyncio.run(fake.get(target(1), [f"{SYS}.3.1", "1.3.6.1.9.9.0"])))
    assert answer[f"{SYS}.3.1"] is Missing.NO_SUCH_INSTANCE
    assert answer["1.3.6.1.9.9.0"] is Missing.NO_SUCH_OBJECT


@pytest.mark.parametrize(
    ("object_id", "descr", "expected"),
    [
        ("1.3.6.1.4.1.14988.1", "RouterOS wAP ac", "mikrotik"),
        (".1.3.6.1.4.1.14988.1", "", "mikrotik"),
        ("1.3.6.1.4.1.8072.3.2.10", "UAP-AC-Lite 6.5.62.14789", "unifi"),
        ("1.3.6.1.4.1.8072.3.2.10", "U6-Lite 6.6.55.15189", "unifi"),
        ("1.3.6.1.4.1.8072.3.2.10", "Linux OpenWrt 5.15", "openwrt"),
        ("1.3.6.1.4.1.8072.3.2.10", "Linux ap 5.15.137 #0 SMP", "generic"),
        ("1.3.6.1.4.1.41112.1.4", "Linux 2.6.32.68 #1 mips", "airmax"),
        (".1.3.6.1.4.1.41112.1.4", "", "airmax"),
        ("1.3.6.1.4.1.41112.1.6", "", "generic"),  # UniFi's subtree is not airMAX
        ("1.3.6.1.4.1.149880", "", "generic"),  # a prefix must end at an arc boundary
    ],
)
def test_profile_detection(object_id: str, descr: str, expected: str) -> None:
    assert profiles.detect(object_id, descr).name == expected


def test_unknown_profile_name_falls_back_to_generic() -> None:
    assert profiles.get("no-such-vendor").name == "generic"
