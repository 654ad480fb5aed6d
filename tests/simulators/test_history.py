"""The simulated past: deterministic, and shaped exactly like what the collector writes."""

from __future__ import annotations

import dataclasses
import itertools
import types
from collections import defaultdict
from collections.abc import Callable

import pytest

from simulators import ber
from simulators.city import City, SimAp, build_city
from simulators.device import Device
from simulators.device_mib import IFX_ENTRY
from simulators.history import (
    COUNTER32_WRAP,
    OUTAGE_BLOCK_S,
    SOURCE_SIMULATED,
    SOURCE_TAG,
    HistoryRow,
    count_rows,
    has_client_count,
    history_rows,
    poll_times,
)
from simulators.mib import MibView
from simulators.vendors import VENDORS, VendorProfile
from timeseries.vocabulary import AP_METRICS, AP_TAGS

END = 1_700_000_000.0
DAY = 86_400.0


def rows_of(city: City, start: float, end: float, step: float, **kw: float) -> list[HistoryRow]:
    return list(history_rows(city, start, end, step, **kw))


def by_ap(rows: list[HistoryRow]) -> dict[str, list[HistoryRow]]:
    out: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in rows:
        out[row.tags["ap"]].append(row)
    return out


def as_vendor(ap: SimAp, vendor: VendorProfile) -> SimAp:
    """The same AP (id, site, seed, site kind) but built as ``vendor``'s hardware."""
    device = Device(
        ap.device.seed, ap.device.kind, radios=vendor.radios, utc_offset_s=ap.device.utc_offset_s
    )
    return dataclasses.replace(ap, vendor=vendor, model=vendor.models[0], device=device)


def has_hc_counters(ap: SimAp) -> bool:
    return any(oid[: len(IFX_ENTRY) + 1] == (*IFX_ENTRY, 6) for oid in ap.mib.oids)


def test_rows_are_deterministic_and_windows_agree_where_they_overlap() -> None:
    first = rows_of(build_city(8, seed=3), END - DAY, END, 900)
    second = rows_of(build_city(8, seed=3), END - DAY, END, 900)
    assert first == second
    assert len(first) == count_rows(build_city(8, seed=3), END - DAY, END, 900) == 8 * 96
    # A later end: the shared instants carry the same values (rates need a previous row,
    # so compare from the second shared instant on).
    later = rows_of(build_city(8, seed=3), END - DAY + 1234.5, END + 4000, 900)
    shared = {(r.ts, r.tags["ap"]): r for r in later}
    overlap = [r for r in first if (r.ts, r.tags["ap"]) in shared]
    skip_first = overlap[0].ts
    assert len(overlap) > 8 * 90
    for row in overlap:
        if row.ts > skip_first:
            assert shared[(row.ts, row.tags["ap"])] == row
    assert rows_of(build_city(8, seed=4), END - DAY, END, 900) != first


def test_a_generator_on_a_grid_of_the_step() -> None:
    rows = history_rows(build_city(3, seed=1), END - 3600, END, 300)
    assert isinstance(rows, types.GeneratorType)
    assert all(row.ts % 300 == 0 for row in rows)
    assert len(poll_times(1000.5, 1900.0, 300)) == 3  # 1200, 1500, 1800
    with pytest.raises(ValueError, match="at least 1 s"):
        poll_times(0, 10, 0.5)


def test_tags_are_the_collectors_plus_source_simulated() -> None:
    city = build_city(12, seed=2)
    sites = {s.id: s for s in city.sites}
    vendors = {ap.id: ap.vendor.name for ap in city.aps}
    for row in rows_of(city, END - 1800, END, 600):
        assert row.measurement == "ap"
        assert tuple(row.tags) == (*AP_TAGS, SOURCE_TAG)
        assert row.tags[SOURCE_TAG] == SOURCE_SIMULATED
        site = sites[row.tags["site"]]
        assert row.tags["district"] == site.district
        assert row.tags["partner"] == (site.partner or "")
        assert row.tags["profile"] == vendors[row.tags["ap"]]


def test_fields_are_vocabulary_and_a_missing_client_count_is_absent_not_zero() -> None:
    city = build_city(6, seed=2)
    bare = dataclasses.replace(city.aps[0].vendor, radio_tables=(), cells=())
    assert not has_client_count(bare)
    assert has_client_count(VENDORS["mikrotik"]) and has_client_count(VENDORS["unifi"])
    if "openwrt" in VENDORS:  # net-snmp on OpenWrt has no wireless client count
        assert not has_client_count(VENDORS["openwrt"])
    city.aps[0] = as_vendor(city.aps[0], bare)
    for row in rows_of(city, END - 3 * 3600, END, 300, unreachable_share=0.0):
        assert set(row.fields) <= set(AP_METRICS)
        assert {"reachable", "poll_rtt_ms", "uptime_s", "rx_bytes", "tx_bytes"} <= set(row.fields)
        assert 2.0 <= row.fields["poll_rtt_ms"] < 15.0
        ap = next(a for a in city.aps if a.id == row.tags["ap"])
        assert ("clients" in row.fields) == has_client_count(ap.vendor)


def test_counters_monotonic_and_rates_are_the_deltas_over_the_step() -> None:
    city = build_city(6, seed=5)
    city.aps = [
        ap if has_hc_counters(ap) else as_vendor(ap, VENDORS["mikrotik"]) for ap in city.aps
    ]
    step = 600.0
    checked = 0
    for rows in by_ap(rows_of(city, END - 2 * DAY, END, step, unreachable_share=0.0)).values():
        assert "rx_bps" not in rows[0].fields  # no rate on the first poll
        for prev, cur in itertools.pairwise(rows):
            if cur.fields["uptime_s"] < prev.fields["uptime_s"]:
                continue  # a reboot: covered below
            assert cur.fields["uptime_s"] == pytest.approx(prev.fields["uptime_s"] + step)
            for counter, rate in (("rx_bytes", "rx_bps"), ("tx_bytes", "tx_bps")):
                delta = cur.fields[counter] - prev.fields[counter]
                assert delta >= 0  # Counter64 (32-bit wraps: see below)
                assert cur.fields[rate] == pytest.approx(delta * 8 / step)
                checked += 1
    assert checked > 6 * 2 * 280


def test_a_reboot_gives_no_rate_on_that_step_and_uptime_restarts() -> None:
    city = build_city(4, seed=9)
    ap = city.aps[1]
    device = ap.device
    step = 300.0
    # The device's next scheduled reboot after END - 40 days (every 25-45 days).
    t = END - 40 * DAY
    boot = device.boot_ms(int(t * 1000)) + device.reboot_every_ms
    reboot = boot / 1000
    rows = by_ap(rows_of(city, reboot - 3600, reboot + 3600, step, unreachable_share=0.0))[ap.id]
    after = next(i for i, r in enumerate(rows) if r.ts >= reboot)
    before, first, second = rows[after - 1], rows[after], rows[after + 1]
    assert first.fields["uptime_s"] < step <= before.fields["uptime_s"]
    assert first.fields["rx_bytes"] < before.fields["rx_bytes"]  # counters restarted
    assert "rx_bps" not in first.fields and "tx_bps" not in first.fields
    assert second.fields["uptime_s"] == pytest.approx(first.fields["uptime_s"] + step)
    assert second.fields["rx_bps"] == pytest.approx(
        (second.fields["rx_bytes"] - first.fields["rx_bytes"]) * 8 / step
    )


def test_unreachable_polls_are_reachable_zero_only_and_the_next_rate_spans_the_gap() -> None:
    city = build_city(10, seed=6)
    step = 300.0
    end = END - END % OUTAGE_BLOCK_S  # whole outage blocks only
    rows = rows_of(city, end - 3 * DAY, end, step, unreachable_share=0.05)
    down = [r for r in rows if r.fields["reachable"] == 0.0]
    assert down and all(r.fields == {"reachable": 0.0} for r in down)
    assert all(r.tags[SOURCE_TAG] == SOURCE_SIMULATED for r in down)
    # Outages come in whole blocks.
    blocks = {(r.tags["ap"], int(r.ts // OUTAGE_BLOCK_S)) for r in down}
    assert len(down) == len(blocks) * OUTAGE_BLOCK_S / step
    spanned = 0
    narrow = {ap.id for ap in city.aps if not has_hc_counters(ap)}
    for ap_id, ap_rows in by_ap(rows).items():
        last_up: HistoryRow | None = None
        for row in ap_rows:
            if row.fields["reachable"] == 0.0:
                continue
            gap = row.ts - last_up.ts if last_up else 0.0
            if last_up and gap > step and row.fields["uptime_s"] > gap:
                delta = row.fields["rx_bytes"] - last_up.fields["rx_bytes"]
                if delta < 0 and ap_id in narrow:
                    delta += COUNTER32_WRAP  # wrapped (once, as the collector assumes)
                assert row.fields["rx_bps"] == pytest.approx(delta * 8 / gap)
                spanned += 1
            last_up = row
    assert spanned
    everything_down = rows_of(city, END - 600, END, 300, unreachable_share=1.0)
    assert all(r.fields == {"reachable": 0.0} for r in everything_down)


def without_ifx_table(ap: SimAp) -> SimAp:
    """The AP with its MIB view stripped of ifXTable, like a device with 32-bit counters
    only (values still come from the AP's own view, through its public ``get``)."""
    view = ap.mib
    kept = [oid for oid in view.oids if oid[: len(IFX_ENTRY)] != IFX_ENTRY]

    def source(oid: tuple[int, ...]) -> Callable[[float], bytes]:
        tlv = ber.encode_oid(oid)
        return lambda now: view.get(tlv, now)

    ap.__dict__["mib"] = MibView([(oid, source(oid)) for oid in kept], [])
    return ap


@pytest.mark.parametrize("how", ["ifXTable stripped", "a vendor without ifXTable"])
def test_counter32_only_devices_report_wrapped_counters(how: str) -> None:
    city = build_city(4, seed=8)
    if how == "ifXTable stripped":
        city.aps = [without_ifx_table(ap) for ap in city.aps]
    else:
        narrow = [v for v in VENDORS.values() if not has_hc_counters(as_vendor(city.aps[0], v))]
        if not narrow:
            pytest.skip("no simulated vendor lacks ifXTable (64-bit) counters yet")
        city.aps = [as_vendor(ap, narrow[0]) for ap in city.aps]
    assert not any(has_hc_counters(ap) for ap in city.aps)
    step = 300.0
    wraps = 0
    for rows in by_ap(rows_of(city, END - 2 * DAY, END, step, unreachable_share=0.0)).values():
        for prev, cur in itertools.pairwise(rows):
            assert cur.fields["rx_bytes"] < COUNTER32_WRAP
            if cur.fields["uptime_s"] < prev.fields["uptime_s"]:
                continue
            delta = cur.fields["rx_bytes"] - prev.fields["rx_bytes"]
            if delta < 0:
                wraps += 1
                delta += COUNTER32_WRAP
            assert cur.fields["rx_bps"] == pytest.approx(delta * 8 / step)
    assert wraps, "two days of traffic should wrap a 32-bit byte counter"


def test_counters_are_what_the_mib_reports_on_the_uplink() -> None:
    city = build_city(6, seed=4)
    for row in rows_of(city, END - 900, END, 300, unreachable_share=0.0):
        ap = next(a for a in city.aps if a.id == row.tags["ap"])
        uplink = next(i for i, s in enumerate(ap.vendor.interfaces, 1) if s.if_type == 6)
        oid = ber.encode_oid((*IFX_ENTRY, 6, uplink))
        tlv = ap.mib.get(oid, row.ts)
        assert row.fields["rx_bytes"] == ber.decode_value(tlv[0], tlv[2:]).value
        assert row.fields["clients"] == ap.device.total_clients(row.ts)
        assert row.fields["uptime_s"] == ap.device.uptime_cs(row.ts) / 100
