"""Table-driven polls of canned devices through the fake scraper."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
import tracemalloc
from collections.abc import Sequence

import pytest

from collector import profiles
from collector.derive import CounterReading
from collector.poll import PollResult, poll_ap, walk
from collector.snmp import FakeScraper, Missing, SnmpTarget, Value
from core.states import PollCause
from tests.fixtures.collector_devices import (
    AIRMAX,
    HOTSPOT,
    HR_LOAD,
    HR_RAM,
    HR_STORAGE,
    IFX,
    MIKROTIK,
    MT_CLIENTS,
    OLD_SWITCH,
    OPENWRT,
    SYS,
    UCD,
    UNIFI,
    UNIFI_VAP,
    hotspot,
    storage,
)
from timeseries.vocabulary import AP_METRICS

NO_VENDOR_MIB = {k: v for k, v in MIKROTIK.items() if not k.startswith(MT_CLIENTS)}
BAD_TYPES = {**MIKROTIK, f"{SYS}.3.0": b"not ticks", f"{MT_CLIENTS}.3": b"seven"}

FULL = {"mikrotik", "unifi", "airmax", "openwrt", "32-bit only", "generic with HOST-RESOURCES"}
MIKROTIK_EXPECTED: dict[str, float] = {
    "uptime_s": 1234.56,
    "clients": 12.0,
    "clients_2g4": 7.0,
    "clients_5g": 5.0,
    "rx_bytes": 5e9,
    "tx_bytes": 1e9,
    "wlan_rx_bytes": 40.0,
    "wlan_tx_bytes": 60.0,
    "cpu_pct": 12.0,
    "mem_pct": 25.0,
    "hotspot_sessions": 4.0,
    "hotspot_users": 3.0,
    "if_errors": 24.0,
}
CLIENT_METRICS = ("clients", "clients_2g4", "clients_5g")

CASES: list[tuple[str, dict[str, Value], str, dict[str, float], int]] = [
    ("mikrotik", MIKROTIK, "mikrotik", MIKROTIK_EXPECTED, 0),
    (
        "unifi",
        UNIFI,
        "unifi",
        {
            "uptime_s": 9.99,
            "clients": 12.0,
            "clients_2g4": 3.0,
            "clients_5g": 9.0,
            "rx_bytes": 7e9,
            "tx_bytes": 3e9,
            "wlan_rx_bytes": 1000.0 + 2**40,  # the VAPs, not radios + VAPs
            "wlan_tx_bytes": 11000.0,
            "cpu_pct": 7.0,
            "mem_pct": 25.0,
            "if_errors": 84.0,
        },
        0,
    ),
    (
        "airmax",
        AIRMAX,
        "airmax",
        {
            "uptime_s": 0.77,
            "clients": 14.0,
            "clients_5g": 14.0,
            "rx_bytes": 123_456.0,
            "tx_bytes": 789.0,
            "wlan_rx_bytes": 1000.0,  # ath0 only: wifi0 is the same traffic
            "wlan_tx_bytes": 2000.0,
            "signal_dbm": -61.0,
            "noise_dbm": -95.0,
            "ccq_pct": 93.0,
            "if_errors": 40.0,
        },
        0,
    ),
    (
        "openwrt",
        OPENWRT,
        "openwrt",
        {
            "uptime_s": 0.04,
            "rx_bytes": 8e9,
            "tx_bytes": 2e9,
            "wlan_rx_bytes": 40.0,  # wlan0 + wlan1, found by name (ifType 6)
            "wlan_tx_bytes": 60.0,
            "cpu_pct": 7.0,  # 100 - ssCpuIdle, not hrProcessorLoad
            "mem_pct": 25.0,  # 1 - (avail + buffers + cached) / total
            "if_errors": 60.0,
        },
        0,
    ),
    (
        "32-bit only",
        OLD_SWITCH,
        "generic",
        {"uptime_s": 5.0, "rx_bytes": 3e9, "tx_bytes": 1000.0, "if_errors": 4.0},
        0,
    ),
    (
        "generic with HOST-RESOURCES",
        {**OLD_SWITCH, f"{HR_LOAD}.1": 30, f"{HR_LOAD}.2": 50, **storage([(1, HR_RAM, 400, 100)])},
        "generic",
        {
            "uptime_s": 5.0,
            "rx_bytes": 3e9,
            "tx_bytes": 1000.0,
            "if_errors": 4.0,
            "cpu_pct": 40.0,
            "mem_pct": 25.0,
        },
        0,
    ),
    (
        "vendor MIB missing",
        NO_VENDOR_MIB,
        "mikrotik",
        {k: v for k, v in MIKROTIK_EXPECTED.items() if k not in CLIENT_METRICS},
        1,
    ),
    (
        "wrong types",
        BAD_TYPES,
        "mikrotik",
        {k: v for k, v in MIKROTIK_EXPECTED.items() if k not in (*CLIENT_METRICS, "uptime_s")},
        2,
    ),
    (
        "no hotspot sessions: a true zero",
        {k: v for k, v in MIKROTIK.items() if not k.startswith(HOTSPOT)},
        "mikrotik",
        {**MIKROTIK_EXPECTED, "hotspot_sessions": 0.0, "hotspot_users": 0.0},
        0,
    ),
    (
        "no HOST-RESOURCES on a profile that expects it",
        {k: v for k, v in MIKROTIK.items() if not k.startswith("1.3.6.1.2.1.25.")},
        "mikrotik",
        {k: v for k, v in MIKROTIK_EXPECTED.items() if k not in ("cpu_pct", "mem_pct")},
        2,
    ),
    (
        "hrStorage without a RAM row",
        {k: v for k, v in MIKROTIK.items() if not k.endswith(".65536")},
        "mikrotik",
        {k: v for k, v in MIKROTIK_EXPECTED.items() if k != "mem_pct"},
        1,
    ),
    (
        "band column missing: total only, no error",
        {k: v for k, v in UNIFI.items() if not k.startswith(f"{UNIFI_VAP}.9.")},
        "unifi",
        {"clients": 12.0, "wlan_tx_bytes": 11000.0},
        0,
    ),
    (
        "truncated VAP table: a row without its band",
        {k: v for k, v in UNIFI.items() if k != f"{UNIFI_VAP}.9.2"},
        "unifi",
        {"clients": 12.0, "cpu_pct": 7.0},
        0,
    ),
    (
        "UCD memory partly answered",
        {k: v for k, v in OPENWRT.items() if k != f"{UCD}.4.15.0"},
        "openwrt",
        {"cpu_pct": 7.0, "rx_bytes": 8e9},
        1,
    ),
    (
        "wrong-typed processor load and storage",
        {**UNIFI, f"{HR_LOAD}.196608": b"7%", f"{HR_STORAGE}.6.1": b"lots"},
        "unifi",
        {"clients": 12.0},
        2,
    ),
    (
        "airMAX without its wireless table",
        {k: v for k, v in AIRMAX.items() if not k.startswith("1.3.6.1.4.1.41112.1.4.5")},
        "airmax",
        {"rx_bytes": 123_456.0, "wlan_rx_bytes": 1000.0},
        4,  # clients, signal, noise, ccq
    ),
]
# What each edge case must leave out.
ABSENT: dict[str, set[str]] = {
    "vendor MIB missing": set(CLIENT_METRICS),
    "wrong types": {*CLIENT_METRICS, "uptime_s"},
    "no hotspot sessions: a true zero": set(),
    "no HOST-RESOURCES on a profile that expects it": {"cpu_pct", "mem_pct"},
    "hrStorage without a RAM row": {"mem_pct"},
    "band column missing: total only, no error": {"clients_2g4", "clients_5g"},
    "truncated VAP table: a row without its band": {"clients_2g4", "clients_5g"},
    "UCD memory partly answered": {"mem_pct"},
    "wrong-typed processor load and storage": {"cpu_pct", "mem_pct"},
    "airMAX without its wireless table": {*CLIENT_METRICS, "signal_dbm", "noise_dbm", "ccq_pct"},
    **{name: set() for name in FULL},
}


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
    if name in FULL:  # the complete metric set: nothing more, nothing less
        assert set(result.fields) == {"reachable", "poll_rtt_ms", *expected}
    assert not set(result.fields) & ABSENT[name], "absent metrics must not be made-up zeros"
    assert set(result.fields) <= set(AP_METRICS)
    assert "rx_bps" not in result.fields  # first poll: no rate yet
    assert "wlan_rx_bps" not in result.fields


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
    assert result.cause is PollCause.TIMEOUT
    assert result.error and "127.1.0.1:1161" in result.error


def test_an_answered_poll_says_so() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    result = asyncio.run(poll_ap(fake, target(1), None, None))
    assert result.ok and result.cause is PollCause.ANSWERED


@pytest.mark.parametrize("cause", [c for c in PollCause if c is not PollCause.ANSWERED])
@pytest.mark.parametrize("profile", [None, "mikrotik"], ids=["detecting", "known"])
def test_the_scrapers_cause_is_the_polls(cause: PollCause, profile: str | None) -> None:
    """The cause comes through as data, whatever the error text says."""
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    fake.failing[("127.1.0.1", 1161)] = cause
    chosen = profiles.get(profile) if profile else None
    result = asyncio.run(poll_ap(fake, target(1), chosen, None))
    assert not result.ok and result.cause is cause
    assert result.profile == (profile or profiles.AUTO)


def test_ok_and_cause_cannot_disagree() -> None:
    with pytest.raises(ValueError, match="cause"):
        PollResult(True, {}, "generic", cause=PollCause.TIMEOUT)
    with pytest.raises(ValueError, match="cause"):
        PollResult(False, {"reachable": 0.0}, "generic")


def test_polling_an_ap_again_and_again_keeps_no_memory() -> None:
    """A generic AP without HOST-RESOURCES (every poll finds its CPU and memory absent)
    polled 20,000 times, its layout and reading carried along as the engine does: what
    is allocated after 2,000 polls is all there is after 20,000. (A shared exception
    raised for every absent metric once kept every poll's walk alive through its
    traceback: about 5.7 MB per 1,000 polls.)"""
    fake = FakeScraper({("127.1.0.1", 1161): OLD_SWITCH})
    generic = profiles.get("generic")

    async def polls(n: int, carried: PollResult | None) -> PollResult | None:
        for _ in range(n):
            result = await poll_ap(
                fake,
                target(1),
                generic,
                carried.reading if carried else None,
                carried.layout if carried else None,
            )
            assert result.ok and not result.errors and "cpu_pct" not in result.fields
            carried = result
        return carried

    async def measure() -> tuple[int, int]:
        carried = await polls(100, None)  # caches and first-use allocations
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            carried = await polls(1_900, carried)
            gc.collect()
            after_2k = tracemalloc.get_traced_memory()[0] - base
            carried = await polls(18_000, carried)
            gc.collect()
            after_20k = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        return after_2k, after_20k

    after_2k, after_20k = asyncio.run(measure())
    assert after_20k - after_2k < 64 * 1024, (after_2k, after_20k)


def test_walk_follows_columns_across_many_requests() -> None:
    big = {f"{IFX}.6.{i}": i * 10 for i in range(1, 40)}
    big.update({f"{IFX}.10.{i}": i for i in range(1, 40)})
    fake = FakeScraper({("127.1.0.1", 1161): big})
    got = asyncio.run(walk(fake, target(1), [], [f"{IFX}.6", f"{IFX}.10"], max_repetitions=5))
    assert len(got.columns[f"{IFX}.6"]) == 39
    assert got.columns[f"{IFX}.10"]["39"] == 39
    # 5 rows first; the columns still open then continue with more rows per request
    assert got.requests == 2


def test_walk_of_a_long_session_table_continues_only_that_column() -> None:
    table = {**MIKROTIK, **hotspot([f"guest-{n % 50}" for n in range(125)])}
    fake = FakeScraper({("127.1.0.1", 1161): table})
    result = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), None))
    assert result.fields["hotspot_sessions"] == 125.0
    assert result.fields["hotspot_users"] == 50.0
    assert fake.requests == 2  # 10 rows with everything, then 120 of one column


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


@pytest.mark.parametrize(
    ("table", "name"),
    [(MIKROTIK, "mikrotik"), (UNIFI, "unifi"), (AIRMAX, "airmax"), (OPENWRT, "openwrt")],
)
def test_a_known_profile_polls_in_one_getbulk(table: dict[str, Value], name: str) -> None:
    """The common case (profile known, tables of a few rows) is one round-trip, airMAX's
    32-bit counters included: its profile asks them at once instead of falling back."""
    fake = FakeScraper({("127.1.0.1", 1161): table})
    result = asyncio.run(poll_ap(fake, target(1), profiles.get(name), None))
    assert result.ok and result.errors == 0
    assert fake.requests == 1


class TruncatingScraper(FakeScraper):
    """An agent whose GETBULK answers stop after ``limit`` varbinds (a small msgMaxSize)."""

    def __init__(self, table: dict[str, Value], limit: int) -> None:
        super().__init__({("127.1.0.1", 1161): table})
        self.limit = limit

    async def bulk(
        self,
        target: SnmpTarget,
        non_repeaters: Sequence[str],
        repeaters: Sequence[str],
        max_repetitions: int,
    ) -> list[tuple[str, Value]]:
        answer = await super().bulk(target, non_repeaters, repeaters, max_repetitions)
        return answer[: self.limit]


@pytest.mark.parametrize("table", [MIKROTIK, UNIFI, OPENWRT], ids=["mikrotik", "unifi", "openwrt"])
def test_truncated_answers_give_the_same_fields_in_more_requests(table: dict[str, Value]) -> None:
    whole = asyncio.run(poll_ap(FakeScraper({("127.1.0.1", 1161): table}), target(1), None, None))
    small = TruncatingScraper(table, limit=40)
    cut = asyncio.run(poll_ap(small, target(1), None, None))
    assert small.requests > 2
    drop = {"poll_rtt_ms"}
    assert {k: v for k, v in cut.fields.items() if k not in drop} == {
        k: v for k, v in whole.fields.items() if k not in drop
    }
    assert cut.errors == whole.errors == 0


def test_wireless_rates_from_unifi_vap_counters() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): UNIFI})
    first = asyncio.run(poll_ap(fake, target(1), profiles.get("unifi"), None))
    assert first.reading is not None
    wlan = first.reading.sides["wlan"]
    assert wlan.width == 64 and wlan.rx_bytes == 1000 + 2**40  # exact, not via float
    earlier = CounterReading(
        ts=wlan.ts - 10.0,
        uptime_ticks=999 - 1000 + 2**32,  # 10 s earlier, across the 497-day wrap
        rx_bytes=first.reading.rx_bytes,
        tx_bytes=first.reading.tx_bytes,
        width=64,
        speed_bps=None,
        sides={"wlan": dataclasses.replace(wlan, ts=wlan.ts - 10.0, rx_bytes=2**40 - 24_000)},
    )
    second = asyncio.run(poll_ap(fake, target(1), profiles.get("unifi"), earlier))
    assert second.fields["wlan_rx_bps"] == pytest.approx(25_000 * 8 / 10, rel=0.01)
    assert second.fields["wlan_tx_bps"] == pytest.approx(0.0, abs=1.0)


def test_a_vap_counter_reset_gives_no_wireless_rate() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): UNIFI})
    first = asyncio.run(poll_ap(fake, target(1), profiles.get("unifi"), None))
    assert first.reading is not None
    wlan = first.reading.sides["wlan"]
    earlier = dataclasses.replace(
        first.reading,
        ts=first.reading.ts - 60,
        uptime_ticks=999 - 6000 + 2**32,
        sides={"wlan": dataclasses.replace(wlan, ts=wlan.ts - 60, rx_bytes=2**41)},
    )
    second = asyncio.run(poll_ap(fake, target(1), profiles.get("unifi"), earlier))
    assert "wlan_rx_bps" not in second.fields  # Counter64 went back: a reset, not traffic
    assert "wlan_tx_bps" in second.fields


def test_airmax_wireless_counter32_sum_crosses_a_wrap() -> None:
    """The wireless side of a 32-bit device is kept modulo 2^32, so it wraps like one
    Counter32 and collector.derive adds 2^32 once."""
    fake = FakeScraper({("127.1.0.1", 1161): AIRMAX})
    first = asyncio.run(poll_ap(fake, target(1), profiles.get("airmax"), None))
    assert first.reading is not None
    wlan = first.reading.sides["wlan"]
    assert wlan.width == 32 and wlan.speed_bps == 300e6
    earlier = dataclasses.replace(
        first.reading,
        ts=first.reading.ts - 60,
        uptime_ticks=None,
        sides={"wlan": dataclasses.replace(wlan, ts=wlan.ts - 60, rx_bytes=2**32 - 599_000)},
    )
    second = asyncio.run(poll_ap(fake, target(1), profiles.get("airmax"), earlier))
    assert second.fields["wlan_rx_bps"] == pytest.approx(600_000 * 8 / 60, rel=0.01)


def test_a_reboot_gives_no_wireless_rate_either() -> None:
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    first = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), None))
    assert first.reading is not None
    ts, ticks = first.reading.ts - 60, 10**8  # uptime went back
    wlan = dataclasses.replace(first.reading.sides["wlan"], ts=ts, uptime_ticks=ticks)
    earlier = dataclasses.replace(first.reading, ts=ts, uptime_ticks=ticks, sides={"wlan": wlan})
    second = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), earlier))
    assert not {"rx_bps", "wlan_rx_bps", "wlan_tx_bps"} & set(second.fields)


# --- a remembered layout: static tables by GET, sessions still walked -------------------


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    skip = {"poll_rtt_ms"}
    return {k: v for k, v in a.items() if k not in skip} == {
        k: v for k, v in b.items() if k not in skip
    }


def test_layout_reads_static_tables_by_get_with_the_same_result() -> None:
    walked = asyncio.run(
        poll_ap(FakeScraper({("127.1.0.1", 1161): MIKROTIK}), target(1), None, None)
    )
    assert walked.layout is not None and walked.layout.cells
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    profile = profiles.get("mikrotik")
    again = asyncio.run(poll_ap(fake, target(1), profile, None, walked.layout))
    assert _same(again.fields, walked.fields)
    assert again.layout is not None and again.layout.polls_left == walked.layout.polls_left - 1
    # one GET for the known cells, one GETBULK for the session table
    assert fake.requests == 2


def test_sessions_are_walked_even_with_a_layout() -> None:
    walked = asyncio.run(
        poll_ap(FakeScraper({("127.1.0.1", 1161): MIKROTIK}), target(1), None, None)
    )
    busier = {
        **{k: v for k, v in MIKROTIK.items() if not k.startswith(HOTSPOT)},
        **hotspot([f"guest-{n}" for n in range(40)]),
    }
    fake = FakeScraper({("127.1.0.1", 1161): busier})
    again = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), None, walked.layout))
    assert again.fields["hotspot_sessions"] == 40.0
    assert again.fields["hotspot_users"] == 40.0


def test_a_vanished_row_falls_back_to_a_walk() -> None:
    walked = asyncio.run(
        poll_ap(FakeScraper({("127.1.0.1", 1161): MIKROTIK}), target(1), None, None)
    )
    fewer = {k: v for k, v in MIKROTIK.items() if not k.endswith(".3") or HOTSPOT in k}
    fake = FakeScraper({("127.1.0.1", 1161): fewer})  # interface 3 (wlan2) is gone
    again = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), None, walked.layout))
    fresh = asyncio.run(
        poll_ap(
            FakeScraper({("127.1.0.1", 1161): fewer}), target(1), profiles.get("mikrotik"), None
        )
    )
    assert _same(again.fields, fresh.fields)
    assert again.layout is not None
    assert all(index != "3" for column, index in again.layout.cells if column.startswith(IFX))


def test_layout_expires_and_is_walked_again() -> None:
    walked = asyncio.run(
        poll_ap(FakeScraper({("127.1.0.1", 1161): MIKROTIK}), target(1), None, None)
    )
    assert walked.layout is not None
    spent = dataclasses.replace(walked.layout, polls_left=0)
    fake = FakeScraper({("127.1.0.1", 1161): MIKROTIK})
    again = asyncio.run(poll_ap(fake, target(1), profiles.get("mikrotik"), None, spent))
    assert again.layout is not None and again.layout.polls_left == walked.layout.polls_left
    assert _same(again.fields, walked.fields)
