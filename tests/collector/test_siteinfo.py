"""The site info series: one ``site`` sample per polled site, with the names and the
coordinates the ``ap`` samples' ids stand for, written with the inventory read and at
most once a minute; names with spaces and non-ASCII letters reach the store unchanged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from collector.engine import Collector
from collector.siteinfo import SiteInfo, SiteInfoPacer, site_info_sample, site_infos
from collector.snmp import FakeScraper, Value
from core.settings import Settings
from inventory import import_file
from inventory.db import open_inventory, transaction
from inventory.secretbox import SecretBox
from timeseries import Sample, open_store
from timeseries.vocabulary import SITE_INFO_FIELD, SITE_MEASUREMENT, SITE_TAGS

PORT = 1161
VirtualRun = Callable[[Coroutine[Any, Any, Any]], Any]
PARK = 'Taman Kota Ümbul, Jl. "Raya" = 1'  # spaces, quotes, a comma, '=', non-ASCII


class Sink:
    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def write(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)


@pytest.fixture
def db(tmp_path: Path, secret_box: SecretBox, database_url: str) -> Engine:
    """Three sites (one with district and partner, one bare, one retired), an AP on each
    of the first two and on the retired one."""
    doc = {
        "partners": [{"id": "p1", "name": "PT Bank Jabar — CSR"}],
        "districts": [{"id": "d1", "name": "Bekasi Timur"}],
        "credentials": [{"id": "c", "snmp": {"version": "2c", "community": "public"}}],
        "sites": [
            {"id": "s1", "name": PARK, "lat": -6.2412345678, "lon": 106.99, "kind": "park",
             "district": "d1", "partner": "p1", "coverage_radius_m": 80, "status": "active"},
            {"id": "s2", "name": "Pasar", "lat": -6.25, "lon": 107.0, "kind": "market",
             "coverage_radius_m": 80, "status": "active"},
            {"id": "s3", "name": "Old", "lat": -6.26, "lon": 107.01, "kind": "park",
             "coverage_radius_m": 80, "status": "retired"},
        ],
        "aps": [
            {"id": f"ap{n}", "site": site, "name": f"ap-{n}", "host": f"127.1.9.{n}",
             "snmp_port": PORT, "profile": "mikrotik", "credentials": "c"}
            for n, site in ((1, "s1"), (2, "s1"), (3, "s2"), (4, "s3"))
        ],
    }  # fmt: skip
    path = tmp_path / "inv.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    engine = open_inventory(database_url, create=True)
    import_file(engine, path, secret_box)
    return engine


def test_site_infos_read_names_and_coordinates(db: Engine) -> None:
    with transaction(db) as session:
        infos = site_infos(session)
        only_s2 = site_infos(session, {"s2"})
    assert [i.site for i in infos] == ["s1", "s2"]  # retired sites are not written
    assert infos[0] == SiteInfo(
        "s1", PARK, "d1", "Bekasi Timur", "p1", "PT Bank Jabar — CSR", "park", -6.2412345678, 106.99
    )
    assert infos[1].district == infos[1].partner == infos[1].partner_name == ""
    assert only_s2 == [infos[1]]


def test_a_cycle_writes_one_site_sample_per_polled_site_at_most_once_a_minute(
    tmp_path: Path,
    db: Engine,
    mikrotik_device: dict[str, Value],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
) -> None:
    devices = {(f"127.1.9.{n}", PORT): mikrotik_device for n in (1, 2, 3)}
    sink = Sink()
    collector = Collector(
        Settings(data_dir=tmp_path), db, sink, FakeScraper(devices), box=secret_box
    )
    virtual_run(collector.run_cycle())
    sites = [s for s in sink.samples if s.measurement == SITE_MEASUREMENT]
    assert [s.tags["site"] for s in sites] == ["s1", "s2"]  # not one per AP
    first = sites[0]
    assert set(first.tags) == set(SITE_TAGS)
    assert first.tags == {
        "site": "s1",
        "site_name": PARK,
        "district": "d1",
        "district_name": "Bekasi Timur",
        "partner": "p1",
        "partner_name": "PT Bank Jabar — CSR",
        "kind": "park",
        "lat": "-6.241235",
        "lon": "106.990000",
    }
    assert first.fields == {SITE_INFO_FIELD: 1.0}
    assert len([s for s in sink.samples if s.measurement == "ap"]) == 3
    # A second cycle straight after: the AP samples again, the site info not yet.
    virtual_run(collector.run_cycle())
    collector.close()
    assert len([s for s in sink.samples if s.measurement == SITE_MEASUREMENT]) == 2
    assert len([s for s in sink.samples if s.measurement == "ap"]) == 6


def test_the_pacer_lets_one_round_through_per_interval() -> None:
    pacer = SiteInfoPacer(60.0)
    assert [pacer.due(t) for t in (0.0, 30.0, 59.9, 60.0, 100.0, 120.0)] == [
        True,
        False,
        False,
        True,
        False,
        True,
    ]


def test_names_line_protocol_cannot_carry_are_cleaned_not_rejected() -> None:
    info = SiteInfo("s9", "Two\nlines\\", "d", "Dist\r", "", "", "park", 1.0, 2.0)
    sample = site_info_sample(info, 5.0)
    assert sample.tags["site_name"] == "Two lines"
    assert sample.tags["district_name"] == "Dist"
    assert (sample.tags["lat"], sample.tags["lon"], sample.ts) == ("1.000000", "2.000000", 5.0)


def test_the_embedded_store_keeps_the_names_exactly(tmp_path: Path, db: Engine) -> None:
    """VictoriaMetrics and InfluxDB are checked by the dashboards' live tests
    (tests/dashboards/grafana/test_live.py); the embedded store keeps other measurements
    as points beside their tag set."""
    with transaction(db) as session:
        samples = [site_info_sample(info, 1_700_000_000.0) for info in site_infos(session)]
    store = open_store("embedded://" + str(tmp_path / "store"))
    try:
        store.write(samples)
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "store" / "metrics.sqlite") as conn:
        rows = conn.execute(
            "SELECT t.measurement, t.tags, p.field, p.value FROM points p"
            " JOIN tagsets t ON t.id = p.tagset_id ORDER BY t.site"
        ).fetchall()
    assert [(m, json.loads(t)["site_name"], f, v) for m, t, f, v in rows] == [
        ("site", PARK, "info", 1.0),
        ("site", "Pasar", "info", 1.0),
    ]
