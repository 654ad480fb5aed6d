"""The report's rules beside the exact fixture (test_usage_exact.py): which sites appear,
users counted once across a partner's sites, a partner without RADIUS, ranges that do
not start on the hour, and the errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.errors import InventoryError
from core.settings import Settings
from inventory.db import open_inventory, transaction
from reports import UsageReport, month_period, range_period, usage_report
from reports.period import Period
from tests.fixtures.report_city import (
    PolledAp,
    add_ap,
    add_district,
    add_partner,
    add_session,
    add_site,
    base_rows,
)
from timeseries.embedded import EmbeddedStore, open_embedded

T0 = datetime(2026, 11, 1, 17, tzinfo=UTC).timestamp()  # 2 Nov 00:00 in Jakarta (a Monday)
STEP = 600
POLLS = 6 * 24  # one day
RX, TX = 750_000, 150_000


@dataclass(frozen=True)
class City:
    engine: Engine
    store: EmbeddedStore
    settings: Settings


@pytest.fixture
def city(tmp_path: Path, database_url: str) -> Iterator[City]:
    """p-a: s-a1 and s-a2 both send RADIUS (user "shared" at both), s-a3 is planned but
    already polled, s-a4 retired and silent; p-b: s-b1, SNMP only, no SLA of its own."""
    engine = open_inventory(database_url, create=True)
    with transaction(engine) as session:
        base_rows(session)
        add_partner(session, "p-a", "PT A", sla=98.0)
        add_partner(session, "p-b", "PT B")
        add_partner(session, "p-c", "PT C")  # no site at all
        add_district(session, "d1", "Satu")
        for site, partner, status in [
            ("s-a1", "p-a", "active"),
            ("s-a2", "p-a", "active"),
            ("s-a3", "p-a", "planned"),
            ("s-a4", "p-a", "retired"),
            ("s-b1", "p-b", "active"),
        ]:
            add_site(session, site, partner=partner, district="d1", status=status)
        session.flush()
        for ap_id, site in [("a1", "s-a1"), ("a2", "s-a2"), ("a3", "s-a3"), ("b1", "s-b1")]:
            add_ap(session, ap_id, site)
    with transaction(engine) as session:
        a = {"partner": "p-a"}
        add_session(
            session, ap="a1", site="s-a1", **a, started=T0 + 600, duration_s=60, user="shared"
        )
        add_session(
            session, ap="a2", site="s-a2", **a, started=T0 + 7200, duration_s=120, user="shared"
        )
        add_session(
            session, ap="a2", site="s-a2", **a, started=T0 + 9000, duration_s=300, user="other"
        )
    aps = [
        PolledAp("a1", "s-a1", "d1", "p-a", booted_at=T0 - 3600),
        PolledAp("a2", "s-a2", "d1", "p-a", booted_at=T0 - 3600),
        PolledAp("a3", "s-a3", "d1", "p-a", booted_at=T0 - 3600),
        PolledAp("b1", "s-b1", "d1", "p-b", booted_at=T0 - 3600),
    ]
    for k in range(POLLS + 1):
        for ap in aps:
            if ap.ap == "b1" and k % 4 == 3:
                ap.down(T0 + k * STEP)  # a quarter of b1's polls unanswered
                continue
            ap.carry(RX, TX)
            ap.poll(T0 + k * STEP, clients=2.0)
    store = open_embedded(f"embedded://{tmp_path / 'store'}?raw_days=36500&rollup_days=36500")
    store.write([s for ap in aps for s in ap.samples])
    yield City(engine, store, Settings(data_dir=tmp_path / "state", database_url=str(engine.url)))
    store.close()
    engine.dispose()


def report(city: City, partner: str, period: Period, **options: object) -> UsageReport:
    with Session(city.engine) as session:
        return usage_report(
            session,
            city.store,
            city.settings,
            partner=partner,
            period=period,
            now=T0 + 10 * 86_400,
            **options,  # type: ignore[arg-type]
        )


def one_day(city: City) -> Period:
    return range_period(T0, T0 + 86_400, city.settings.city_tz)


def test_active_and_polled_sites_appear_silent_retired_ones_do_not(city: City) -> None:
    result = report(city, "p-a", one_day(city))
    assert [s.site for s in result.sites] == ["s-a1", "s-a2", "s-a3"]
    assert result.period_label == "2026-11-02"


def test_a_user_at_two_sites_is_one_user_of_the_partner(city: City) -> None:
    result = report(city, "p-a", one_day(city))
    users = {s.site: (s.figures.source, s.figures.sessions, s.figures.users) for s in result.sites}
    assert users == {
        "s-a1": ("radius", 1, 1),
        "s-a2": ("radius", 2, 2),
        "s-a3": ("snmp", None, None),
    }
    totals = result.totals
    assert (totals.source, totals.sessions, totals.users, totals.median_session_s) == (
        "radius",
        3,
        2,
        120.0,
    )


def test_a_partner_without_radius_has_clients_and_no_sessions(city: City) -> None:
    result = report(city, "p-b", one_day(city))
    assert result.sla_target_pct == 95.0  # the setting: p-b has no target of its own
    (site,) = result.sites
    figures = site.figures
    # Polls 0..143 are the day's (poll 144 is the next midnight); every fourth unanswered.
    assert (figures.polls, figures.polls_ok) == (144, 108)
    assert figures.availability_pct == 75.0 and figures.sla_met is False
    assert figures.downtime_s == 86_400 * 36 / 144
    assert (figures.source, figures.sessions, figures.clients_peak) == ("snmp", None, 2.0)
    assert result.totals.source == "snmp"
    assert all(day.sessions is None for day in result.days)


def test_a_partner_without_sites_gets_an_empty_report(city: City) -> None:
    result = report(city, "p-c", month_period("2026-11", city.settings.city_tz))
    assert result.sites == ()
    assert (result.totals.polls, result.totals.availability_pct) == (0, None)
    assert (result.totals.downtime_s, result.totals.down_bytes) == (None, 0)
    assert len(result.days) == 30
    assert sum(map(sum, result.heatmap)) == 0


def test_a_range_off_the_hour_keeps_partial_hours_in_the_totals_only(city: City) -> None:
    start, end = T0 + 1800, T0 + 5400  # 00:30 to 01:30 local
    result = report(city, "p-b", range_period(start, end, city.settings.city_tz))
    assert result.period_label == "2026-11-02 00:30 to 2026-11-02 01:30"
    # polls at 00:30 (down), 00:40, 00:50, 01:00, 01:10 (down), 01:20
    assert (result.totals.polls, result.totals.polls_ok) == (6, 4)
    # the days and the heat map hold whole hours only, and 00:30-01:30 holds none
    assert [(d.day, d.polls) for d in result.days] == [("2026-11-02", 0)]
    assert result.totals.down_bytes > 0


def test_the_previous_range_is_as_long_and_just_before(city: City) -> None:
    result = report(city, "p-b", range_period(T0 + 43_200, T0 + 86_400, city.settings.city_tz))
    assert result.previous_label == "2026-11-02 00:00 to 2026-11-02 12:00"
    assert result.previous is not None
    assert result.previous.polls == 72  # polls 0..71 of the day: 00:00 to 11:50


def test_an_unknown_partner_is_the_callers_bug(city: City) -> None:
    with pytest.raises(InventoryError, match="no partner 'p-zz'"):
        report(city, "p-zz", one_day(city))


def test_no_personal_data_in_the_report(city: City) -> None:
    """Counts only: no hash, address or user label leaves through the report."""
    text = repr(report(city, "p-a", one_day(city)))
    assert "shared" not in text and "device-of" not in text and "127.1." not in text
