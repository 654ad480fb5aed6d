"""The metric classes (silent_failure, overload, backhaul_saturated) judged from samples
written to a real embedded metric store, on the small city of tests/faults/city.py.

The store is wrapped only to count the queries a pass makes (candidates are confirmed,
never the whole city) and to make it fail on demand; every read goes to the real store.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from core.errors import StoreError
from core.incidents import IncidentClass
from core.settings import FaultThresholds, Settings
from core.states import ApState
from faults.assessment import Assessment
from faults.lifecycle import StoredIncident
from faults.metric_classes import JUDGED, MetricJudge
from faults.snapshot import SiteView, Snapshot, UplinkView, read_snapshot
from inventory.db import transaction
from inventory.incidents import active_incidents
from inventory.models import Uplink
from tests.faults.city import ALL_APS, SITES, T0, snapshot, states, write_states
from timeseries import Aggregate, Latest, MetricStore, Point, Sample

DAY, HOUR, MINUTE = 86_400.0, 3600.0, 60.0
NOW = T0 + 10 * DAY + 14 * HOUR + 30 * MINUTE + 5  # a busy afternoon, 14:30Z
NIGHT = T0 + 10 * DAY + 3 * HOUR + 30 * MINUTE + 5  # 03:30Z
SILENT, OVERLOAD, BACKHAUL = (
    IncidentClass.SILENT_FAILURE,
    IncidentClass.OVERLOAD,
    IncidentClass.BACKHAUL_SATURATED,
)
#: What every AP of the city shows unless a test says otherwise.
NORMAL = {"clients": 5.0, "cpu_pct": 20.0, "mem_pct": 40.0, "rx_bps": 1e6, "tx_bps": 2e5}


class WatchedStore:
    """The real store, with its reads counted; ``failing`` makes every read raise."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()
        self.failing = False

    def _read(self, name: str) -> None:
        self.calls[name] += 1
        if self.failing:
            raise StoreError("could not read metrics.sqlite: disk I/O error")

    def write(self, samples: Sequence[Sample]) -> None:
        self.store.write(samples)

    def latest(self, aps: Collection[str] | None = None) -> dict[str, Latest]:
        self._read("latest")
        return self.store.latest(aps)

    def series(self, ap: str, metric: str, start: float, end: float, step: float) -> list[Point]:
        self._read("series")
        return self.store.series(ap, metric, start, end, step)

    def aggregate(
        self,
        start: float,
        end: float,
        by: str = "ap",
        keys: Collection[str] | None = None,
    ) -> list[Aggregate]:
        self._read("aggregate")
        assert by == "ap"
        return self.store.aggregate(start, end, "ap", keys)

    def close(self) -> None:
        self.store.close()


@dataclass(frozen=True)
class Stored:
    """An active incident as the lifecycle's StoredIncident protocol reads it."""

    id: int
    kind: IncidentClass
    scope_id: str
    opened_at: float = NOW - HOUR
    resolved_at: float | None = None
    resolved_by: str | None = None
    aps: Mapping[str, str] = field(default_factory=dict)


@pytest.fixture
def store(kept_store: MetricStore) -> WatchedStore:
    return WatchedStore(kept_store)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Polls every minute; silent after 10 min, busy from 2 clients, 3 days of history;
    overload over 5 min (or 60 clients); backhaul at 90 % over 5 min; hold 3 min."""
    return Settings(
        data_dir=tmp_path / "state",
        poll_interval_s=60.0,
        incident_hold_s=180.0,
        fault_thresholds=FaultThresholds(
            silent_after_s=600.0,
            silent_min_clients=2.0,
            silent_history_days=3,
            overload_after_s=300.0,
            overload_clients=60,
            backhaul_after_s=300.0,
        ),
    )


def polls(
    store: WatchedStore, ap: str, fields: Mapping[str, float], start: float, end: float
) -> None:
    """One sample of ``fields`` a minute for ``ap`` over [start, end)."""
    site = ALL_APS[ap]
    tags = {"ap": ap, "site": site, "district": SITES[site][0], "partner": ""}
    count = int((end - start) // MINUTE)
    store.write(
        [Sample("ap", tags, {"reachable": 1.0, **fields}, start + i * MINUTE) for i in range(count)]
    )


def city(store: WatchedStore, now: float, *, skip: Collection[str] = (), **fields: float) -> None:
    """Every AP but ``skip`` polled over the last 30 minutes with NORMAL (and ``fields``)."""
    for ap in ALL_APS:
        if ap not in skip:
            polls(store, ap, {**NORMAL, **fields}, now - 30 * MINUTE, now)


def judge(
    settings: Settings,
    store: WatchedStore,
    now: float = NOW,
    *,
    view: Snapshot | None = None,
    active: Sequence[StoredIncident] = (),
) -> Assessment:
    seen = view or snapshot(states(), now=now)
    latest = store.latest(sorted(seen.aps))
    return MetricJudge(settings, store).assess(seen, latest, active, now=now)


def with_capacity(view: Snapshot, **mbps: float | None) -> Snapshot:
    uplinks = {u: replace(v, capacity_mbps=mbps.get(u)) for u, v in view.uplinks.items()}
    return replace(view, uplinks=uplinks)


# --- silent_failure ---------------------------------------------------------------------


def test_a_silent_ap_in_busy_hours_is_a_silent_failure(
    settings: Settings, store: WatchedStore
) -> None:
    city(store, NOW)
    polls(store, "s1-a", {"clients": 0.0}, NOW - 15 * MINUTE, NOW)

    found = judge(settings, store)

    assert found.judged == JUDGED
    (problem,) = found.problems
    assert (problem.kind, problem.scope_id, problem.district_id) == (SILENT, "s1-a", "d1")
    assert problem.aps == {"s1-a": "s1"} and problem.settled
    assert problem.since == NOW - 600
    assert problem.explanation == (
        "AP AP s1-a (s1-a) at Site s1 (s1) answers but has had no clients for 10 min while "
        "the other AP of its site has 5 now: SSID, DHCP or captive portal broken"
    )
    assert problem.evidence.startswith("clients 0 in 10 of 10 poll intervals 14:20:05Z to ")
    assert "the other AP of its site now: 5.0" in problem.evidence
    assert found.recovered == frozenset()


def test_the_same_ap_at_three_in_the_morning_is_no_incident(
    settings: Settings, store: WatchedStore
) -> None:
    """Its history at 03h and its neighbours now are both about 0; the pass reads the
    history once (one aggregate per day) and confirms nothing (no series query)."""
    city(store, NIGHT, clients=0.0)
    for day in (7, 8, 9):
        polls(store, "s1-a", {"clients": 0.0}, T0 + day * DAY + 3 * HOUR, T0 + day * DAY + 4 * HOUR)
        polls(
            store, "s1-a", {"clients": 9.0}, T0 + day * DAY + 14 * HOUR, T0 + day * DAY + 15 * HOUR
        )
    store.calls.clear()

    found = judge(settings, store, NIGHT)

    assert found.judged == JUDGED and found.problems == []
    assert store.calls == {"latest": 1, "aggregate": 3}
    # In the afternoon the same AP, just as empty, is a silent failure (its history).
    polls(store, "s1-a", {"clients": 0.0}, NOW - 15 * MINUTE, NOW)
    assert [p.scope_id for p in judge(settings, store).problems] == ["s1-a"]


@pytest.mark.parametrize("neighbours", [0.0, 5.0])
def test_its_history_and_its_neighbours_must_both_say_busy(
    settings: Settings, store: WatchedStore, neighbours: float
) -> None:
    """s9-a is the only AP of its site and had 8 clients at this hour on the last days.
    Its district's other APs have none now: a quiet day, not a broken AP. With 5 each
    now, its 0 is a silent failure."""
    city(store, NOW)
    polls(store, "s9-a", {"clients": 0.0}, NOW - 15 * MINUTE, NOW)
    for ap in ("s7-a", "s7-b", "s10-a", "s10-b", "s10-c"):
        polls(store, ap, {"clients": neighbours}, NOW - 15 * MINUTE, NOW)
    for day in (7, 8, 9):
        start = T0 + day * DAY + 14 * HOUR
        polls(store, "s9-a", {"clients": 8.0}, start, start + HOUR)

    found = judge(settings, store).problems

    if not neighbours:
        assert found == []
        return
    (problem,) = found
    assert problem.scope_id == "s9-a" and problem.district_id == "d2"
    assert "while it usually has 8 at this hour and the 5 other APs of its district have 5 " in (
        problem.explanation
    )
    assert "usual at 14h UTC over 3 days: 8.0" in problem.evidence


def test_not_silent_without_enough_samples_with_a_client_or_without_a_clients_metric(
    settings: Settings, store: WatchedStore
) -> None:
    city(store, NOW, skip={"s1-a", "s3-a"})
    # s1-a: three answers in ten minutes: too few to say "no clients all along".
    polls(store, "s1-a", {**NORMAL, "clients": 0.0}, NOW - 3 * MINUTE, NOW)
    # s2-a: one client once in the window.
    polls(store, "s2-a", {"clients": 0.0}, NOW - 15 * MINUTE, NOW)
    polls(store, "s2-a", {"clients": 1.0}, NOW - 7 * MINUTE, NOW - 6 * MINUTE)
    # s3-a: a generic device: no clients metric at all.
    polls(store, "s3-a", {"cpu_pct": 10.0, "rx_bps": 1e5}, NOW - 30 * MINUTE, NOW)

    assert judge(settings, store).problems == []


def test_thresholds_per_site_kind(settings: Settings, store: WatchedStore) -> None:
    """A market's crowd: busy only from 50 clients there."""
    city(store, NOW)
    polls(store, "s1-a", {"clients": 0.0}, NOW - 15 * MINUTE, NOW)
    market = settings.model_copy(
        update={"fault_thresholds_by_kind": {"market": {"silent_min_clients": 50}}}
    )
    view = snapshot(states(), now=NOW)
    sites = {s: replace(v, kind="market") if s == "s1" else v for s, v in view.sites.items()}

    assert judge(market, store, view=replace(view, sites=sites)).problems == []
    assert [p.scope_id for p in judge(market, store, view=view).problems] == ["s1-a"]


# --- overload ---------------------------------------------------------------------------


def test_overload_over_the_whole_window(settings: Settings, store: WatchedStore) -> None:
    city(store, NOW)
    polls(store, "s4-a", {"cpu_pct": 95.0}, NOW - 6 * MINUTE, NOW)
    polls(store, "s4-b", {"cpu_pct": 97.0}, NOW - 2 * MINUTE, NOW)  # a spike: not yet
    polls(store, "s5-a", {"clients": 80.0, "mem_pct": 96.0}, NOW - 6 * MINUTE, NOW)

    found = judge(settings, store)

    assert [(p.kind, p.scope_id) for p in found.problems] == [
        (OVERLOAD, "s4-a"),
        (OVERLOAD, "s5-a"),
    ]
    cpu, crowd = found.problems
    assert cpu.explanation == (
        "AP AP s4-a (s4-a) at Site s4 (s4) has been overloaded for 5 min: CPU at 95 % "
        "(line 90 %): more clients than it can serve or a runaway process"
    )
    assert cpu.evidence.startswith("cpu_pct ≥ 90 in 5 of 5 poll intervals 14:25:05Z to ")
    assert cpu.evidence.endswith("(lowest 95)")
    assert "memory at 96 % (line 95 %), 80 clients (line 60)" in crowd.explanation
    assert all(p.settled and p.district_id == "d1" for p in found.problems)


# --- backhaul_saturated -----------------------------------------------------------------


def test_an_uplink_full_for_the_whole_window_is_saturated(
    settings: Settings, store: WatchedStore
) -> None:
    """u1 serves s1 and s2 (4 APs): 4 x 23 Mbit/s = 92 Mbit/s of 100."""
    city(store, NOW)
    for ap in ("s1-a", "s1-b", "s2-a", "s2-b"):
        polls(store, ap, {"rx_bps": 20e6, "tx_bps": 3e6}, NOW - 6 * MINUTE, NOW)
    view = snapshot(states(), now=NOW)

    (problem,) = judge(settings, store, view=with_capacity(view, u1=100.0, u2=1000.0)).problems

    assert (problem.kind, problem.scope_id, problem.district_id) == (BACKHAUL, "u1", "d1")
    assert problem.aps == {"s1-a": "s1", "s1-b": "s1", "s2-a": "s2", "s2-b": "s2"}
    assert problem.explanation == (
        "Uplink Metro-1 (Telkom) has carried 92 Mbit/s of its 100 Mbit/s (92 %) for 5 min, "
        "for the 4 APs behind it: the backhaul is saturated, its operator must add capacity"
    )
    assert problem.evidence.startswith(
        "rx_bps+tx_bps of the APs behind it ≥ 90 Mbit/s (90 % of 100) in 3 of 3 intervals of 120 s "
    )
    # Capacity not known: never judged. An AP down carries nothing: below the line.
    assert judge(settings, store, view=view).problems == []
    down = snapshot(states({"s1-a": NOW - 30}), now=NOW)
    assert judge(settings, store, view=with_capacity(down, u1=100.0)).problems == []


# --- recovery ---------------------------------------------------------------------------


def test_recovered_when_the_condition_is_gone_for_the_hold(
    settings: Settings, store: WatchedStore
) -> None:
    city(store, NOW, skip={"s2-a"})
    polls(store, "s2-a", {**NORMAL, "clients": 0.0}, NOW - 30 * MINUTE, NOW - MINUTE)
    polls(store, "s2-a", NORMAL, NOW - MINUTE, NOW)  # one good sample only
    polls(store, "s6-a", {"cpu_pct": 99.0}, NOW - 30 * MINUTE, NOW)  # still overloaded
    active = [
        Stored(1, SILENT, "s1-a"),  # clients back all along the hold
        Stored(2, SILENT, "s2-a"),
        Stored(3, OVERLOAD, "s4-a"),
        Stored(4, BACKHAUL, "u1"),
        Stored(5, SILENT, "s3-a"),  # under maintenance
        Stored(6, OVERLOAD, "gone"),  # removed from the inventory
        Stored(7, SILENT, "s5-a"),  # down: no samples to judge by
        Stored(8, OVERLOAD, "s6-a"),
        Stored(9, IncidentClass.AP_DOWN, "s5-b"),  # not a metric class: not spoken for
    ]
    view = snapshot(states({"s5-a": NOW - 300}), now=NOW, hidden={"s3-a"})
    view = replace(with_capacity(view, u1=100.0), maintenance=frozenset({"s3-a"}))

    found = judge(settings, store, view=view, active=active)

    assert found.notes == {
        (SILENT, "s1-a"): "clients back for 3 min (5 now)",
        (OVERLOAD, "s4-a"): "load below the lines for 3 min (CPU at 20 % (line 90 %), "
        "memory at 40 % (line 95 %), 5 clients (line 60))",
        (BACKHAUL, "u1"): "traffic below 90 Mbit/s for 3 min (5 Mbit/s now)",
        (SILENT, "s3-a"): "AP s3-a is under maintenance",
        (OVERLOAD, "gone"): "AP gone is no longer watched",
    }
    assert found.recovered == frozenset(found.notes)
    # An active incident is not opened again: s6-a's overload is no new problem.
    assert found.problems == []


def test_an_uplink_that_lost_its_capacity_recovers(settings: Settings, store: WatchedStore) -> None:
    city(store, NOW)
    found = judge(settings, store, active=[Stored(1, BACKHAUL, "u2")])
    assert found.notes == {(BACKHAUL, "u2"): "the capacity of uplink u2 is no longer known"}


# --- the store failing ------------------------------------------------------------------


def test_a_store_error_judges_nothing_and_warns_once(
    settings: Settings, store: WatchedStore, caplog: pytest.LogCaptureFixture
) -> None:
    city(store, NOW)
    polls(store, "s1-a", {"clients": 0.0}, NOW - 15 * MINUTE, NOW)
    view = snapshot(states(), now=NOW)
    latest = store.latest(sorted(view.aps))
    metric_judge = MetricJudge(settings, store)
    store.failing = True  # s1-a is a candidate: confirming it reads its series

    with caplog.at_level(logging.INFO, logger="citywifi.faults"):
        for _ in range(3):
            found = metric_judge.assess(view, latest, [], now=NOW)
            assert found == Assessment(judged=frozenset())
        store.failing = False
        assert metric_judge.assess(view, latest, [], now=NOW).judged == JUDGED

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "metric classes not judged (store error): could not read metrics.sqlite: disk "
            "I/O error",
        ),
        ("INFO", "metric classes judged again: the store answers"),
    ]


# --- from the inventory database --------------------------------------------------------


def test_judged_on_the_snapshot_read_from_the_inventory(
    city_db: Engine, settings: Settings, store: WatchedStore
) -> None:
    """On SQLite and PostgreSQL: the uplink's capacity and the APs' states come from the
    database (faults.snapshot), the samples from the store."""
    write_states(city_db, states())
    with transaction(city_db) as session:
        session.execute(update(Uplink).where(Uplink.id == "u2").values(capacity_mbps=50.0))
    city(store, NOW)
    for ap in ("s7-a", "s7-b", "s8-a", "s8-b", "s11-a"):  # u2: 5 x 10 Mbit/s of 50
        polls(store, ap, {"rx_bps": 9e6, "tx_bps": 1e6}, NOW - 6 * MINUTE, NOW)
    polls(store, "s10-a", {"clients": 0.0}, NOW - 15 * MINUTE, NOW)

    with transaction(city_db) as session:
        view = read_snapshot(session, now=NOW)
        found = judge(settings, store, view=view, active=active_incidents(session))

    assert view.uplinks["u2"] == UplinkView("u2", "Ring-2", "Biznet", 50.0)
    assert view.sites["s10"] == SiteView("s10", "Site s10", "d2", None, "park")
    assert view.aps["s10-a"].state is ApState.UP
    assert [(p.kind, p.scope_id, p.district_id) for p in found.problems] == [
        (SILENT, "s10-a", "d2"),
        (BACKHAUL, "u2", None),  # its sites are in d2 and d3
    ]
