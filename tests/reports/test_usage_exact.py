"""Acceptance: a partner-month whose figures are computed by hand, matched exactly.

The city: partner p-csr ("PT Peduli Kota", SLA target 99.9 %) sponsors

- s-park (district Bekasi Timur): ap-1 and ap-2, hotspots that send RADIUS accounting;
- s-market (district Bekasi Barat): ap-3, no RADIUS (its figures come from SNMP);
- s-halte: active, no AP installed yet (every figure "not measured").

Another partner's site and the city's own site are polled too and must not show.

Every AP is polled every 300 s from T0 = 2026-10-31 16:00 UTC (23:00 in Jakarta) to the
first hour of December: poll k is at T0 + 300 k. November in Jakarta is polls 12 to 8651
(P0 = T0 + 3600 is 1 Nov 00:00 local, a month boundary at local midnight; P1 = P0 + 30
days). Each interval carries RX = 1,500,000 octets down and TX = 300,000 up through each
answered AP's Counter32 uplink; the deltas come from the collector's own rule.

Events (k: poll number):

- ap-1: its rx counter starts at 4.0e9 and wraps 2^32 (once before the reboot, twice after
  reboot) — each wrap counts its interval once; rebooted just before poll 2000 (7 Nov
  21:40 local): that interval counts nothing. Clients 5, 23 at poll 4321, 50 at poll 8660
  (December: not November's peak).
- ap-2: an outage, polls 3000..3023 unanswered (11 Nov 09:00-11:00 local, 2 h), back
  after a power cut (rebooted) at 3024: no delta there. Incident ap_down. Clients 3.
- ap-3: an outage across the month boundary, polls 6..17 unanswered (six in October,
  six in November; incident ap_down opened in October), back without a reboot at 18 with
  one interval's traffic; a maintenance window on its district from poll 6000 + 150 s for
  3 h (polls 6001..6036 inside), unanswered 6001..6012 and rebooted at 6013 inside it.
  Clients 10, 60 at poll 5 (October), 40 at poll 7777.

November by hand:

- s-park: 2 x 8640 = 17280 polls, 17256 answered (24 lost by ap-2): 99.861 %, missed;
  downtime 2,592,000 s x 24 / 17280 = 3600 s. Deltas: ap-1 8640 - 1 (reboot) = 8639,
  ap-2 8616 answered - 1 (reboot) = 8615: 17254 x 1.5 MB = 25.881 GB down, 5.1762 GB up.
  RADIUS: 5 sessions began in November (one at exactly P0; not the October one nor the
  one at P1), 4 users (u1 twice, u2, u4, and one without a user name: its device), median
  of the 4 closed ones (600, 1200, 1800, 3000 s) 1500 s. Peak 23 clients.
- s-market: 36 polls in the window left out: 8604 polls, 8598 answered (the 6 of the
  boundary outage): 99.930 %, met; maintenance 10,800 s; downtime (2,592,000 - 10,800) x
  6 / 8604 = 1800 s. Deltas: 8640 - 18 unanswered - 1 reboot = 8621: 12.9315 GB down.
  Source SNMP: peak 40, mean (8621 x 10 + 40) / 8622.
- Totals: 25884 polls, 25854 answered: 99.884 %, missed; downtime 5400 s; 38.8125 GB
  down, 7.7625 GB up; sessions 5, users 4, median 1500 s; peak 40.
- October (the comparison; only its last hour has polls): 36 polls, 30 answered; s-market
  down half its polls over 31 days: downtime 1,339,200 s; 27 deltas; 1 session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.incidents import IncidentClass, IncidentScope
from core.settings import Settings
from inventory import incidents as incident_rows
from inventory import maintenance
from inventory.db import open_inventory, transaction
from reports import UsageReport, month_period, usage_report
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

T0 = datetime(2026, 10, 31, 16, tzinfo=UTC).timestamp()
STEP = 300
P0 = T0 + 3600  # 1 Nov 00:00 in Jakarta
P1 = P0 + 30 * 86_400  # 1 Dec 00:00 in Jakarta
POLLS = 8664  # through 1 Dec 00:55 local
RX, TX = 1_500_000, 300_000
WINDOW = (T0 + 6000 * STEP + 150, T0 + 6000 * STEP + 150 + 3 * 3600)
NOW = P1 + 86_400


def t(k: int) -> float:
    return T0 + k * STEP


@dataclass(frozen=True)
class City:
    engine: Engine
    store: EmbeddedStore
    settings: Settings
    wraps: int  # ap-1's counter readings that went back without a reboot


def _aps() -> dict[str, PolledAp]:
    return {
        "ap-1": PolledAp(
            "ap-1",
            "s-park",
            "d-timur",
            "p-csr",
            booted_at=T0 - 10 * 86_400,
            rx=4_000_000_000,
            tx=1_000_000,
        ),
        "ap-2": PolledAp("ap-2", "s-park", "d-timur", "p-csr", booted_at=T0 - 3 * 86_400),
        "ap-3": PolledAp("ap-3", "s-market", "d-barat", "p-csr", booted_at=T0 - 86_400),
        "ap-8": PolledAp("ap-8", "s-city", "d-timur", "", booted_at=T0),
        "ap-9": PolledAp("ap-9", "s-other", "d-barat", "p-other", booted_at=T0),
    }


def _poll_everything(aps: dict[str, PolledAp]) -> None:
    for k in range(POLLS):
        ts = t(k)
        one, two, three = aps["ap-1"], aps["ap-2"], aps["ap-3"]
        if k == 2000:
            one.reboot(at=ts - 60)
        one.carry(RX, TX)
        one.poll(ts, clients={4321: 23.0, 8660: 50.0}.get(k, 5.0))

        if 3000 <= k < 3024:
            two.down(ts)
        else:
            if k == 3024:
                two.reboot(at=ts - 120)
            two.carry(RX, TX)
            two.poll(ts, clients=3.0)

        if 6 <= k < 18 or 6001 <= k < 6013:
            three.down(ts)
        else:
            if k == 6013:
                three.reboot(at=ts - 90)
            three.carry(RX, TX)
            three.poll(ts, clients={5: 60.0, 7777: 40.0}.get(k, 10.0))

        if k % 12 == 0:  # the others: hourly, with plenty of traffic that must not show
            for other in (aps["ap-8"], aps["ap-9"]):
                other.carry(10 * RX, 10 * TX)
                other.poll(ts, clients=99.0)


def _inventory(session: Session) -> None:
    base_rows(session)
    add_partner(session, "p-csr", "PT Peduli Kota", sla=99.9)
    add_partner(session, "p-other", "PT Lain")
    add_district(session, "d-timur", "Bekasi Timur")
    add_district(session, "d-barat", "Bekasi Barat")
    add_site(session, "s-park", partner="p-csr", district="d-timur", name="Taman Kota")
    add_site(session, "s-market", partner="p-csr", district="d-barat", name="Pasar Baru")
    add_site(session, "s-halte", partner="p-csr", district=None, name="Halte Timur")
    add_site(session, "s-old", partner="p-csr", district=None, status="retired")
    add_site(session, "s-other", partner="p-other", district="d-barat")
    add_site(session, "s-city", partner=None, district="d-timur")
    session.flush()
    for ap, site in [
        ("ap-1", "s-park"),
        ("ap-2", "s-park"),
        ("ap-3", "s-market"),
        ("ap-8", "s-city"),
        ("ap-9", "s-other"),
    ]:
        add_ap(session, ap, site)


def _sessions(session: Session) -> None:
    park = {"site": "s-park", "partner": "p-csr"}
    add_session(
        session, ap="ap-1", **park, started=P0 - 600, duration_s=300, user="u-oct", month="2026-10"
    )
    add_session(session, ap="ap-1", **park, started=P0, duration_s=600, user="u1")
    add_session(
        session, ap="ap-2", **park, started=P0 + 4 * 86_400 + 36_000, duration_s=1200, user="u2"
    )
    add_session(session, ap="ap-2", **park, started=P0 + 11 * 86_400, duration_s=1800, user="u1")
    add_session(
        session,
        ap="ap-1",
        **park,
        started=P0 + 19 * 86_400 + 7200,
        duration_s=3000,
        station="phone-3",
    )
    add_session(
        session, ap="ap-1", **park, started=P1 - 3600, duration_s=900, state="open", user="u4"
    )
    add_session(
        session, ap="ap-1", **park, started=P1, duration_s=60, user="u-dec", month="2026-12"
    )
    add_session(
        session,
        ap="ap-9",
        site="s-other",
        partner="p-other",
        started=P0 + 3600,
        duration_s=100,
        user="u1",
    )


def _incidents(session: Session) -> None:
    def incident(kind: IncidentClass, ap: str, site: str, opened: float, resolved: float) -> None:
        number = incident_rows.open_incident(
            session,
            kind=kind,
            scope_id=ap,
            district_id=None,
            aps={ap: site},
            explanation=f"{kind} {ap}",
            now=opened,
        )
        incident_rows.resolve(session, number, now=resolved)

    incident(IncidentClass.SITE_DOWN, "ap-1", "s-park", t(0) - 7200, t(0) - 3600)  # October
    incident(IncidentClass.AP_DOWN, "ap-3", "s-market", t(6), t(18))  # across P0
    incident(IncidentClass.AP_DOWN, "ap-2", "s-park", t(3000), t(3024))
    incident(IncidentClass.OVERLOAD, "ap-3", "s-market", t(4000), t(4010))  # not an outage
    incident(IncidentClass.AP_DOWN, "ap-9", "s-other", t(3000), t(3024))  # another partner
    incident(IncidentClass.FLAPPING, "ap-1", "s-park", t(8600), t(8700))  # past P1
    maintenance.create(
        session,
        scope_kind=IncidentScope.DISTRICT,
        scope_id="d-barat",
        starts_at=WINDOW[0],
        ends_at=WINDOW[1],
        reason="fibre splice",
        actor="noc",
        now=t(5000),
    )


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    directory: Path = tmp_path_factory.mktemp("report-city")
    engine = open_inventory(f"sqlite:///{directory / 'inventory.db'}", create=True)
    with transaction(engine) as session:
        _inventory(session)
    with transaction(engine) as session:
        _sessions(session)
        _incidents(session)
    aps = _aps()
    _poll_everything(aps)
    # Keep every resolution whatever today's date: the fixture lives in 2026.
    store = open_embedded(
        f"embedded://{directory / 'store'}?raw_days=36500&fine_days=36500&rollup_days=36500"
    )
    samples = sorted((s for ap in aps.values() for s in ap.samples), key=lambda s: s.ts)
    for at in range(0, len(samples), 5000):
        store.write(samples[at : at + 5000])
    settings = Settings(data_dir=directory / "state", database_url=str(engine.url))
    yield City(engine, store, settings, wraps=aps["ap-1"].wrapped)
    store.close()
    engine.dispose()


def report_of(city: City, **options: object) -> UsageReport:
    with Session(city.engine) as session:
        return usage_report(
            session,
            city.store,
            city.settings,
            partner="p-csr",
            period=month_period("2026-11", city.settings.city_tz),
            now=NOW,
            **options,  # type: ignore[arg-type]
        )


def test_the_fixture_has_its_wraps_and_month() -> None:
    """The events the figures rest on are really there (not a test of the report)."""
    period = month_period("2026-11", Settings().city_tz)
    assert (period.start, period.end) == (P0, P1) == (t(12), t(8652))


def test_the_counters_wrapped(city: City) -> None:
    assert city.wraps == 3  # ap-1's rx: at poll 197, and at 4863 and 7726 after its reboot


def test_sites_are_the_partners_own(city: City) -> None:
    report = report_of(city)
    assert (report.partner, report.partner_name, report.city) == (
        "p-csr",
        "PT Peduli Kota",
        "Bekasi",
    )
    assert (report.period_label, report.start, report.end) == ("2026-11", P0, P1)
    assert report.sla_target_pct == 99.9
    assert report.timezone == "Asia/Jakarta" and report.generated_at == NOW
    # Sorted by id; the retired site without polls is left out, the other partner's and
    # the city's are not the partner's.
    assert [(s.site, s.name, s.district) for s in report.sites] == [
        ("s-halte", "Halte Timur", None),
        ("s-market", "Pasar Baru", "Bekasi Barat"),
        ("s-park", "Taman Kota", "Bekasi Timur"),
    ]


def test_park_figures_are_exact(city: City) -> None:
    park = {s.site: s for s in report_of(city).sites}["s-park"].figures
    assert (park.polls, park.polls_ok) == (17280, 17256)
    assert park.availability_pct == 100 * 17256 / 17280  # 99.861 %
    assert park.sla_met is False
    assert (park.maintenance_s, park.downtime_s) == (0.0, 3600.0)
    assert (park.down_bytes, park.up_bytes) == (25_881_000_000, 5_176_200_000)
    assert park.source == "radius"
    assert (park.sessions, park.users, park.median_session_s) == (5, 4, 1500.0)
    assert park.clients_peak == 23.0
    assert park.clients_mean == (8639 * 5 + 23 + 8616 * 3) / 17256


def test_market_figures_are_exact(city: City) -> None:
    market = {s.site: s for s in report_of(city).sites}["s-market"].figures
    assert (market.polls, market.polls_ok) == (8604, 8598)
    assert market.availability_pct == 100 * 8598 / 8604  # 99.930 %
    assert market.sla_met is True
    assert (market.maintenance_s, market.downtime_s) == (10_800.0, 1800.0)
    assert (market.down_bytes, market.up_bytes) == (12_931_500_000, 2_586_300_000)
    assert market.source == "snmp"
    assert (market.sessions, market.users, market.median_session_s) == (None, None, None)
    assert (market.clients_peak, market.clients_mean) == (40.0, (8621 * 10 + 40) / 8622)


def test_a_site_without_polls_is_not_measured(city: City) -> None:
    halte = {s.site: s for s in report_of(city).sites}["s-halte"]
    figures = halte.figures
    assert (figures.polls, figures.availability_pct, figures.sla_met) == (0, None, None)
    assert (figures.downtime_s, figures.down_bytes, figures.source) == (None, 0, "snmp")
    assert (figures.clients_peak, figures.sessions) == (None, None)
    assert halte.incidents == ()


def test_totals_are_exact(city: City) -> None:
    totals = report_of(city).totals
    assert (totals.polls, totals.polls_ok) == (25884, 25854)
    assert totals.availability_pct == 100 * 25854 / 25884  # 99.884 %
    assert totals.sla_met is False
    assert (totals.maintenance_s, totals.downtime_s) == (10_800.0, 5400.0)
    assert (totals.down_bytes, totals.up_bytes) == (38_812_500_000, 7_762_500_000)
    assert totals.source == "radius"
    assert (totals.sessions, totals.users, totals.median_session_s) == (5, 4, 1500.0)
    assert totals.clients_peak == 40.0
    assert totals.clients_mean == (8639 * 5 + 23 + 8616 * 3 + 8621 * 10 + 40) / (8640 + 8616 + 8622)


def test_incidents_are_the_outages_clipped_to_the_month(city: City) -> None:
    by_site = {s.site: s.incidents for s in report_of(city).sites}
    market = [(i.kind, i.started_at, i.ended_at, i.duration_s) for i in by_site["s-market"]]
    assert market == [("ap_down", P0, t(18), 1800.0)]  # opened in October
    park = [(i.kind, i.started_at, i.ended_at, i.duration_s) for i in by_site["s-park"]]
    assert park == [
        ("ap_down", t(3000), t(3024), 7200.0),
        ("flapping", t(8600), None, 15_600.0),  # still open when the month ended
    ]


def test_the_previous_month_is_compared(city: City) -> None:
    report = report_of(city)
    before = report.previous
    assert report.previous_label == "2026-10" and before is not None
    assert (before.polls, before.polls_ok) == (36, 30)
    assert before.availability_pct == 100 * 30 / 36
    assert (before.maintenance_s, before.downtime_s) == (0.0, 31 * 86_400 * 6 / 12)
    assert (before.down_bytes, before.up_bytes) == (27 * RX, 27 * TX)
    assert (before.source, before.sessions, before.users, before.median_session_s) == (
        "radius",
        1,
        1,
        300.0,
    )
    assert (before.clients_peak, before.clients_mean) == (
        60.0,
        (12 * 5 + 12 * 3 + 5 * 10 + 60) / 30,
    )


def test_no_comparison_when_not_asked(city: City) -> None:
    report = report_of(city, compare=False)
    assert (report.previous, report.previous_label) == (None, None)


def test_days_are_local_calendar_days(city: City) -> None:
    report = report_of(city)
    days = {d.day: d for d in report.days}
    assert [d.day for d in report.days] == [f"2026-11-{n:02d}" for n in range(1, 31)]
    first = days["2026-11-01"]  # ap-3's outage until 00:30 local
    assert (first.polls, first.polls_ok) == (864, 858)
    assert first.availability_pct == 100 * 858 / 864
    assert (first.down_bytes, first.up_bytes) == (858 * RX, 858 * TX)
    assert (first.clients_peak, first.sessions) == (10.0, 1)
    outage = days["2026-11-11"]  # ap-2 down 09:00-11:00, rebooted
    assert (outage.polls, outage.polls_ok, outage.down_bytes) == (864, 840, 839 * RX)
    assert outage.sessions == 0
    window = days["2026-11-21"]  # maintenance is not left out of a day's view
    assert (window.polls, window.polls_ok, window.down_bytes) == (864, 852, 851 * RX)
    assert days["2026-11-07"].down_bytes == 863 * RX  # ap-1's reboot
    assert [d.sessions for d in report.days if d.sessions] == [1, 1, 1, 1, 1]
    assert sum(d.polls for d in report.days) == 3 * 8640  # with the maintenance polls
    assert sum(d.down_bytes for d in report.days) == report.totals.down_bytes
    assert sum(d.up_bytes for d in report.days) == report.totals.up_bytes


def test_the_heat_map_is_local_hours_by_weekday(city: City) -> None:
    heatmap = report_of(city).heatmap
    assert len(heatmap) == 7 and all(len(row) == 24 for row in heatmap)
    # 1 Nov 2026 is a Sunday. Tuesdays at 03:00: four ordinary hours of 36 deltas.
    assert heatmap[1][3] == 4 * 36 * (RX + TX)
    # Sundays at 00:00: five, the first missing ap-3's six unanswered polls.
    assert heatmap[6][0] == (4 * 36 + 30) * (RX + TX)
    total = sum(sum(row) for row in heatmap)
    assert total == 25875 * (RX + TX)


def test_progress_counts_every_store_call(city: City) -> None:
    calls: list[tuple[int, int]] = []
    report_of(city, progress=lambda done, total: calls.append((done, total)))
    # November: the sites, s-market's window (its polls are taken from the month's), five
    # weeks of hours; October: the sites. The partner's clients are pooled from its sites'.
    assert calls == [(n, 8) for n in range(1, 9)]


def test_the_same_figures_after_the_store_rolls_up(city: City) -> None:
    """Exact from raw rows and from the hourly rollups alike."""
    before = report_of(city)
    rolled = 0
    while done := city.store.compact():
        rolled += done
    assert rolled > 0
    assert report_of(city) == before
