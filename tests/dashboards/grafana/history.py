"""Fixtures: a simulated city's recent past in a real VictoriaMetrics and a real InfluxDB, for the
live dashboard query tests.

Six hours of a 16-AP city (``simulate --history``'s rows, written through the project's
MetricStore like the collector's samples), topped up with the fields the history does not
simulate but the collector reads on these vendors (CPU and memory on MikroTik and UniFi,
hotspot sessions on MikroTik: docs/metrics.md), and one AP cut off at the end, so "down"
panels have something to list. The site info series (names and coordinates) is written as
the collector writes it: the city imported into an inventory database, read and turned
into samples by the collector's own functions, once per step; the chosen AP's site is
renamed first to a name with spaces, punctuation and non-ASCII letters, which must come
back from both stores unchanged. Both stores get the same samples, so the two variants of
a dashboard can be held to the same answers.

Fixtures are registered by this directory's conftest.py; the data classes are imported by
the tests from here.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from citywifi.history import history_samples
from collector.siteinfo import site_info_sample, site_infos
from inventory import import_file
from inventory.db import open_inventory, transaction
from simulators.city import build_city
from tests.fixtures.secret_keys import fixed_box
from tests.fixtures.servers import InfluxDBServer, VictoriaMetricsServer
from timeseries import Sample, open_store

HOURS = 6
STEP_S = 300.0
CPU_PROFILES = {"mikrotik", "unifi"}
SITE_NAME = 'Taman Kota "Ümbul", Jl. Raya = 1 — Bekasi'  # what line protocol must escape


@dataclass(frozen=True)
class History:
    start: float  # the dashboard's range, epoch seconds
    end: float
    ap: str  # a MikroTik AP with every field, and its place
    site: str
    district: str
    partner: str
    down_ap: str  # the AP whose power was cut at the end
    down_site: str  # its site
    site_name: str  # the chosen site's name (renamed to SITE_NAME)
    sites: int  # how many sites the city has


@dataclass(frozen=True)
class VMHistory:
    history: History
    base: str  # http://127.0.0.1:port
    extra_label: str  # "name=value": selects this module's samples only


@dataclass(frozen=True)
class InfluxHistory:
    history: History
    base: str
    database: str
    auth: tuple[str, str]


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _with_device_fields(sample: Sample) -> Sample:
    """The history row plus what the collector also reads on this vendor."""
    fields = dict(sample.fields)
    profile = sample.tags.get("profile", "")
    if fields.get("reachable") == 1.0:
        ap = sample.tags["ap"]
        if profile in CPU_PROFILES:
            fields["cpu_pct"] = round(5 + 60 * _unit("cpu", ap, sample.ts), 1)
            fields["mem_pct"] = round(30 + 40 * _unit("mem", ap, sample.ts), 1)
        if profile == "mikrotik":
            fields["hotspot_sessions"] = float(math.floor(fields.get("clients", 0) * 0.8))
    return Sample(sample.measurement, sample.tags, fields, sample.ts)


def _write(url: str, samples: list[Sample]) -> None:
    store = open_store(url)
    try:
        for i in range(0, len(samples), 2000):
            store.write(samples[i : i + 2000])
    finally:
        store.close()


def _site_samples(
    inventory: dict[str, object], directory: Path, times: list[float]
) -> list[Sample]:
    """The collector's site info samples for ``inventory`` at each of ``times``."""
    path = directory / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory, allow_unicode=True), encoding="utf-8")
    engine = open_inventory(f"sqlite:///{directory / 'inventory.db'}", create=True)
    try:
        import_file(engine, path, fixed_box())
        with transaction(engine) as session:
            infos = site_infos(session)
    finally:
        engine.dispose()
    return [site_info_sample(info, ts) for ts in times for info in infos]


@pytest.fixture(scope="module")
def city_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[History, list[Sample]]:
    city = build_city(16, seed=3)
    # Recent (the stores keep recent data), a round minute, and never on the poll grid: polls
    # fall on multiples of STEP_S, and a poll at exactly ``start`` would be counted by
    # InfluxQL's closed ``$timeFilter`` but not by PromQL's left-open ``[$__range]`` (the
    # comparison failed one run in five, whenever the minute was a multiple of five).
    end = math.floor(time.time() / STEP_S) * STEP_S - 60
    start = end - HOURS * 3600
    samples = [
        _with_device_fields(s)
        for s in history_samples(city, start, end, STEP_S, unreachable_share=0)
    ]
    down = next(s for s in samples if s.tags["ap"] == "ap00009")
    samples.append(Sample("ap", down.tags, {"reachable": 0.0}, end - 1))  # a power cut
    chosen = next(s.tags for s in samples if s.tags["ap"] == "ap00005")
    assert chosen["profile"] == "mikrotik" and chosen.get("partner") == "p01"
    inventory = city.inventory()
    sites: list[dict[str, object]] = inventory["sites"]
    next(site for site in sites if site["id"] == chosen["site"])["name"] = SITE_NAME
    steps = [start + k * STEP_S for k in range(round((end - start) / STEP_S) + 1)]
    samples += _site_samples(inventory, tmp_path_factory.mktemp("inventory"), steps)
    history = History(
        start=start,
        end=end,
        ap=chosen["ap"],
        site=chosen["site"],
        district=chosen["district"],
        partner=chosen["partner"],
        down_ap="ap00009",
        down_site=down.tags["site"],
        site_name=SITE_NAME,
        sites=len(sites),
    )
    return history, samples


@pytest.fixture(scope="module")
def vm_history(
    victoriametrics_server: VictoriaMetricsServer, city_history: tuple[History, list[Sample]]
) -> Iterator[VMHistory]:
    history, samples = city_history
    url = victoriametrics_server.store_url()
    _write(url, samples)
    (extra,) = parse_qs(urlsplit(url.removeprefix("victoriametrics+")).query)["extra_label"]
    yield VMHistory(history, victoriametrics_server.base, extra)


@pytest.fixture(scope="module")
def influx_history(
    influxdb_server: InfluxDBServer, city_history: tuple[History, list[Sample]]
) -> Iterator[InfluxHistory]:
    history, samples = city_history
    url = influxdb_server.store_url()
    _write(url, samples)
    (database,) = parse_qs(urlsplit(url.removeprefix("influxdb+")).query)["db"]
    yield InfluxHistory(
        history, influxdb_server.base, database, (influxdb_server.user, influxdb_server.password)
    )
