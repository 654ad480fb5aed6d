"""Vendor profiles are data: checked against the vocabulary, planned once, documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collector import profiles
from collector.profiles import ColumnSpec, Profile, ScalarSpec
from core.errors import ConfigError
from timeseries.vocabulary import AP_METRICS, CLIENT_BANDS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_every_profile_speaks_the_vocabulary() -> None:
    for name in profiles.names():
        profile = profiles.get(name)
        assert set(profile.metrics) <= set(AP_METRICS), name
        assert profile.plan.scalars[0] == profiles.SYS_UPTIME
        assert len(set(profile.plan.columns)) == len(profile.plan.columns), "asked twice"


def test_an_unknown_profile_name_is_refused_listing_the_known_ones() -> None:
    """No silent fallback to ``generic``: a typo would poll with the wrong metrics."""
    with pytest.raises(ConfigError) as caught:
        profiles.get("bogus")
    assert str(caught.value) == (
        "unknown profile 'bogus'; known: airmax, generic, mikrotik, openwrt, unifi"
    )


def test_one_registry_lists_every_vendor_module() -> None:
    vendors = Path(__file__).resolve().parents[2] / "collector" / "vendors"
    modules = {f"collector.vendors.{p.stem}" for p in vendors.glob("*.py") if p.stem != "__init__"}
    assert set(profiles.VENDOR_MODULES) == modules
    assert profiles.VENDOR_MODULES[-1] == "collector.vendors.generic"  # detected last
    assert profiles.names() == ["airmax", "generic", "mikrotik", "openwrt", "unifi"]


def test_a_metric_outside_the_vocabulary_fails_when_the_profile_loads() -> None:
    with pytest.raises(ValueError, match="clients_total"):
        Profile(name="typo", metrics={"clients_total": ColumnSpec("1.3.6.1.4.1.9.9")})


def test_only_row_counts_may_read_an_empty_table_as_zero() -> None:
    with pytest.raises(ValueError, match="only row counts"):
        Profile(name="bad", metrics={"cpu_pct": ScalarSpec("1.3.6.1.4.1.9.0", if_missing="zero")})


def test_the_plan_is_made_once_and_asks_each_column_once() -> None:
    mikrotik = profiles.get("mikrotik")
    assert mikrotik.plan is mikrotik.plan
    hotspot_names = "1.3.6.1.4.1.14988.1.1.5.1.1.3"
    assert mikrotik.plan.columns.count(hotspot_names) == 1  # sessions and users share it
    assert profiles.IF_DESCR not in mikrotik.plan.columns  # wireless by ifType alone
    assert profiles.IF_DESCR in profiles.get("airmax").plan.columns  # ...and by name
    assert profiles.get("airmax").plan.counters.width == 32
    openwrt = profiles.get("openwrt").plan
    assert "1.3.6.1.4.1.2021.11.11" in openwrt.scalars  # ssCpuIdle by GETNEXT
    assert profiles.HR_PROCESSOR_LOAD not in openwrt.columns  # UCD instead


def test_client_columns_and_provides() -> None:
    assert profiles.get("mikrotik").client_columns == ("1.3.6.1.4.1.14988.1.1.1.3.1.6",)
    assert profiles.get("openwrt").client_columns == ()
    assert profiles.get("unifi").provides("clients_5g")
    assert not profiles.get("openwrt").provides("clients")
    assert profiles.get("generic").provides("cpu_pct")


def test_band_metrics_are_vocabulary() -> None:
    assert set(CLIENT_BANDS.values()) <= set(AP_METRICS)


def test_docs_list_exactly_the_vocabulary() -> None:
    """docs/metrics.md documents the same table as timeseries/vocabulary.py."""
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| (\w+) \|", DOCS.read_text(), re.MULTILINE)
    documented = {name: (unit.strip(), kind) for name, unit, kind in rows if name not in
                  {"ap", "site", "district", "partner", "profile"}}  # fmt: skip
    assert documented == {m.name: (m.unit, m.kind) for m in AP_METRICS.values()}
