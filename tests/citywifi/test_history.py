"""``simulate --history``: the past of the simulated city in a real store, looking exactly
like what the collector writes."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from citywifi.cli import app
from citywifi.history import HistoryReport, history_samples, parse_duration, write_history
from collector.derive import CounterReading, derive_rates
from collector.poll import poll_ap
from collector.snmp import FakeScraper, Missing, SnmpTarget, Value
from simulators import ber
from simulators.city import SimAp, build_city
from simulators.device import Device
from simulators.history import SOURCE_SIMULATED, SOURCE_TAG, has_client_count, history_rows
from simulators.vendors import VENDORS, Model, VendorProfile
from timeseries import Sample
from timeseries.embedded import EmbeddedStore
from timeseries.vocabulary import AP_METRICS

END = 1_700_000_000.0
DAY = 86_400.0
runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("CITYWIFI_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_write_history_into_an_embedded_store(tmp_path: Path) -> None:
    city = build_city(20, seed=11)
    seen: list[tuple[int, int]] = []
    with EmbeddedStore(tmp_path / "metrics") as store:
        report = write_history(
            city,
            store,
            days=1,
            step_s=600,
            end=END,
            batch=1000,
            progress=lambda done, total: seen.append((done, total)),
        )
        rows = list(history_rows(city, END - DAY, END, 600))
        assert isinstance(report, HistoryReport)
        assert report.samples == len(rows) == 20 * 144
        assert report.values == sum(len(r.fields) for r in rows)
        assert report.values_per_s > 0 and "values/s" in report.summary()
        assert seen[-1] == (report.samples, report.samples)
        assert [done for done, _ in seen] == [1000, 2000, 2880]

        latest = store.latest()
        assert set(latest) == {ap.id for ap in city.aps}
        last = {r.tags["ap"]: r for r in rows if r.ts == rows[-1].ts}
        for ap_id, newest in latest.items():
            row = last[ap_id]
            if row.fields["reachable"] == 1.0:
                assert newest.values == row.fields
                assert set(newest.times.values()) == {row.ts}

        ap = city.aps[3].id
        start = END - DAY - (END - DAY) % 600  # buckets on the poll grid: one point each
        points = store.series(ap, "clients", start, start + DAY, 600)
        expected = {r.ts: r.fields.get("clients") for r in rows if r.tags["ap"] == ap}
        assert len(points) == 144
        assert [p.value for p in points] == [expected.get(p.ts) for p in points]
        assert any(p.value for p in points)


def test_writing_the_same_window_twice_changes_nothing(tmp_path: Path) -> None:
    city = build_city(5, seed=2)

    def dump() -> list[tuple[Any, ...]]:
        with sqlite3.connect(tmp_path / "m" / "metrics.sqlite") as conn:
            return conn.execute(
                "SELECT a.name, t.tags, r.* FROM ap_raw r JOIN aps a ON a.id = r.ap_id"
                " JOIN tagsets t ON t.id = r.tagset_id ORDER BY a.name, r.ts"
            ).fetchall()

    with EmbeddedStore(tmp_path / "m") as store:
        write_history(city, store, days=0.25, step_s=300, end=END)
        first = dump()
        write_history(build_city(5, seed=2), store, days=0.25, step_s=300, end=END)
        assert dump() == first
        assert first and all(f'"{SOURCE_TAG}":"{SOURCE_SIMULATED}"' in row[1] for row in first)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    city = build_city(2, seed=1)
    with EmbeddedStore(tmp_path / "m") as store:
        for kwargs in ({"days": 0, "step_s": 300}, {"days": 1, "step_s": 0.1}):
            with pytest.raises(ValueError):
                write_history(city, store, end=END, **kwargs)
        with pytest.raises(ValueError):
            write_history(city, store, days=1, step_s=300, batch=0)


# --- the same as the real collector ----------------------------------------------------


def _decode(tlv: bytes) -> Value:
    """A MIB value TLV as the collector's scraper hands values up."""
    tag, length, pos = tlv[0], tlv[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, pos = int.from_bytes(tlv[2 : 2 + size], "big"), 2 + size
    value = ber.decode_value(tag, tlv[pos : pos + length])
    if tag == ber.NO_SUCH_OBJECT:
        return Missing.NO_SUCH_OBJECT
    if tag == ber.NO_SUCH_INSTANCE:
        return Missing.NO_SUCH_INSTANCE
    if tag == ber.OBJECT_IDENTIFIER:
        assert isinstance(value.value, tuple)
        return ".".join(map(str, value.value))
    assert isinstance(value.value, int | bytes)
    return value.value


def _snapshot(ap: SimAp, now: float) -> dict[str, Value]:
    return {
        ".".join(map(str, oid)): _decode(ap.mib.get(ber.encode_oid(oid), now))
        for oid in ap.mib.oids
    }


def _reading(sample: Sample, width: int, speed_bps: float | None) -> CounterReading:
    rx, tx = sample.fields.get("rx_bytes"), sample.fields.get("tx_bytes")
    return CounterReading(
        ts=sample.ts,
        uptime_ticks=round(sample.fields["uptime_s"] * 100),
        rx_bytes=None if rx is None else int(rx),
        tx_bytes=None if tx is None else int(tx),
        width=width,
        speed_bps=speed_bps,
    )


def as_vendor(ap: SimAp, vendor: VendorProfile, model: Model | None = None) -> SimAp:
    """The same AP (id, site, seed, site kind) but built as ``vendor``'s hardware."""
    device = Device(
        ap.device.seed, ap.device.kind, radios=vendor.radios, utc_offset_s=ap.device.utc_offset_s
    )
    model = model or vendor.models[0]
    return dataclasses.replace(ap, vendor=vendor, model=model, device=device)


def test_samples_match_what_the_collector_reads_from_the_same_device() -> None:
    """Poll an AP of every simulated vendor with the real collector at past instants: the
    detected profile, the fields and the rates are the history's."""
    city = build_city(len(VENDORS), seed=5)
    city.aps = [as_vendor(ap, v) for ap, v in zip(city.aps, VENDORS.values(), strict=True)]
    samples = list(history_samples(city, END - 3600, END, 300, unreachable_share=0.0))
    for ap in city.aps:
        mine = [s for s in samples if s.tags["ap"] == ap.id]
        assert len(mine) == 12
        for prev, sample in itertools.pairwise(mine):
            target = SnmpTarget(ap.host, ap.snmp_port, "x")
            scraper = FakeScraper({(ap.host, ap.snmp_port): _snapshot(ap, sample.ts)})
            polled = asyncio.run(poll_ap(scraper, target, None, None))
            assert polled.ok and polled.errors == 0 and polled.reading is not None
            assert sample.tags["profile"] == polled.profile, ap.vendor.name
            measured = {**polled.fields, "poll_rtt_ms": sample.fields["poll_rtt_ms"]}
            plain = {k: v for k, v in sample.fields.items() if not k.endswith(("_bps", "_delta"))}
            # History writes the foundation's metric set; the collector reads more
            # (CPU, memory, hotspot, wireless side), which history does not fake.
            assert plain == {k: measured[k] for k in plain}, ap.vendor.name
            assert set(plain) <= set(AP_METRICS)
            width, speed = polled.reading.width, polled.reading.speed_bps
            rates = derive_rates(_reading(prev, width, speed), _reading(sample, width, speed))
            assert sample.fields.get("rx_bps") == rates.rx_bps
            assert sample.fields.get("tx_bps") == rates.tx_bps
            elapsed = sample.ts - prev.ts
            if rates.rx_bps is not None:
                assert sample.fields["rx_bytes_delta"] == pytest.approx(rates.rx_bps * elapsed / 8)


def test_a_device_the_collector_polls_as_generic_has_no_client_count() -> None:
    city = build_city(2, seed=3)
    vendor = next(v for v in VENDORS.values() if has_client_count(v))
    odd = dataclasses.replace(vendor, sys_object_id="1.3.6.1.4.1.99999.1")
    city.aps[0] = as_vendor(city.aps[0], odd, Model("Box 1", "SomeOS 1.0", 100_000_000))
    rows = list(history_rows(city, END - 900, END, 300, unreachable_share=0.0))
    assert all("clients" in r.fields for r in rows if r.tags["ap"] == city.aps[0].id)
    samples = list(history_samples(city, END - 900, END, 300, unreachable_share=0.0))
    mine = [s for s in samples if s.tags["ap"] == city.aps[0].id]
    assert mine and all(s.tags["profile"] == "generic" for s in mine)
    assert all("clients" not in s.fields and "rx_bytes" in s.fields for s in mine)


# --- the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * DAY),
        ("12h", 43_200.0),
        ("90m", 5400.0),
        ("3600s", 3600.0),
        ("3600", 3600.0),
        ("1.5h", 5400.0),
        ("2w", 14 * DAY),
        (" 7D ", 7 * DAY),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("junk", ["", "d", "30x", "-5m", "0", "1e3", "30 days", "3h30m", "nan"])
def test_parse_duration_refuses_junk(junk: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(junk)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--history", "a month"], "--history"),
        (["--history", "30d", "--history-step", "fast"], "--history-step"),
        (["--history", "1h", "--history-step", "2h"], "--history-step"),
    ],
)
def test_simulate_refuses_junk_durations(args: list[str], complaint: str) -> None:
    result = runner.invoke(app, ["simulate", "--aps", "1", *args])
    assert result.exit_code == 2
    assert complaint in result.output
    assert "Invalid value" in result.output


def test_simulate_writes_history_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[int] = []

    async def serve_nothing(city: Any, **kwargs: Any) -> None:
        """Stands in for the SNMP serving part, which this test does not need."""
        ready: Callable[[], None] | None = kwargs.get("ready")
        served.append(len(city.aps))
        if ready is not None:
            ready()

    monkeypatch.setattr("simulators.run.run_simulator", serve_nothing)
    data = tmp_path / "state"
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(data),
            "simulate",
            "--aps",
            "3",
            "--history",
            "2h",
            "--history-step",
            "10m",
            "--control-port",
            "0",
            "--ssh-aps",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert served == [3]
    with EmbeddedStore(data / "metrics") as store:
        latest = store.latest()
        assert set(latest) == {"ap00001", "ap00002", "ap00003"}
        ap = "ap00001"
        end = max(latest[ap].times.values())
        points = store.series(ap, "reachable", end - 7200, end + 1, 600)
        assert sum(p.value is not None for p in points) == 12
