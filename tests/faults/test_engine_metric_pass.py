"""The engine's metric pass and maintenance windows, on a real database (SQLite and
PostgreSQL) and a real embedded metric store; the metric judge is a fake (its rules are
faults.metric_classes' tests), the behaviour judge the real one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from core.errors import StoreError
from core.incidents import IncidentClass, IncidentState
from core.settings import Settings
from faults.assessment import Assessment
from faults.correlate import Key, Problem
from faults.engine import FaultEngine
from faults.lifecycle import StoredIncident
from faults.snapshot import Snapshot, read_snapshot
from inventory import incidents
from inventory.db import transaction
from inventory.incidents import IncidentView
from inventory.models import ApEvent, Incident, MaintenanceWindow
from tests.faults.city import T0, aps_of, sites_down, states, write_states
from timeseries import open_store
from timeseries.port import Latest, MetricStore, Sample

SILENT = IncidentClass.SILENT_FAILURE


@dataclass
class FakeJudge:
    """Says what it is told; remembers when it was asked and what it was given."""

    problems: list[Problem] = field(default_factory=list)
    recovered: frozenset[Key] = frozenset()
    fail: bool = False
    calls: list[tuple[float, frozenset[str]]] = field(default_factory=list)

    def assess(
        self,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        *,
        now: float,
    ) -> Assessment:
        self.calls.append((now, frozenset(snapshot.aps)))
        if self.fail:
            raise StoreError("metric store away")
        return Assessment(frozenset({SILENT}), list(self.problems), self.recovered)


def silent(ap: str) -> Problem:
    return Problem(SILENT, ap, "d1", {ap: ap.split("-")[0]}, T0, f"{ap} silent", "clients 0")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetricStore]:
    opened = open_store(f"embedded://{tmp_path / 'metrics'}")
    yield opened
    opened.close()


@pytest.fixture
def settings(fault_settings: Settings) -> Settings:
    """Polls every 60 s, engine cycles every 10 s."""
    return fault_settings.model_copy(update={"poll_interval_s": 60.0})


def all_incidents(engine: Engine) -> list[IncidentView]:
    with transaction(engine) as session:
        return incidents.views(session, session.scalars(select(Incident).order_by(Incident.id)))


def test_the_metric_pass_runs_once_per_poll_interval_and_its_classes_open_and_resolve(
    city_db: Engine, settings: Settings, store: MetricStore
) -> None:
    write_states(city_db, states())
    judge = FakeJudge(problems=[silent("s1-a")])
    engine = FaultEngine(settings, city_db, store, judges=[judge])
    assert engine.cycle(T0).metric_pass and engine.cycle(T0).changes == 0
    assert [i.kind for i in all_incidents(city_db)] == [SILENT]
    assert not engine.cycle(T0 + 10).metric_pass  # within the poll interval
    assert engine.cycle(T0 + 60).metric_pass
    assert [now for now, _ in judge.calls] == [T0, T0 + 60]
    judge.problems, judge.recovered = [], frozenset({(SILENT, "s1-a")})
    assert engine.cycle(T0 + 70).changes == 0  # no pass: the incident is left alone
    assert engine.cycle(T0 + 120).resolved == 1
    (incident,) = all_incidents(city_db)
    assert incident.state is IncidentState.RESOLVED and incident.resolved_by is None


def test_a_failing_judge_leaves_its_classes_alone_and_the_outages_go_on(
    city_db: Engine, settings: Settings, store: MetricStore
) -> None:
    write_states(city_db, states())
    judge = FakeJudge(problems=[silent("s1-a")])
    engine = FaultEngine(settings, city_db, store, judges=[judge])
    engine.cycle(T0)
    judge.fail = True
    write_states(city_db, states(sites_down({"s3": T0 + 30})))
    report = engine.cycle(T0 + 60)
    assert report.opened == 1 and report.resolved == 0
    assert {(i.kind, i.state) for i in all_incidents(city_db)} == {
        (SILENT, IncidentState.OPEN),
        (IncidentClass.SITE_DOWN, IncidentState.OPEN),
    }


def test_a_flapping_ap_is_one_flapping_incident_that_takes_over_its_ap_down(
    city_db: Engine, settings: Settings, store: MetricStore
) -> None:
    """The real behaviour judge over stored polls: s3-a answers every other poll."""
    four = settings.fault_thresholds.model_copy(update={"flap_min_changes": 4})
    fast = settings.model_copy(
        update={
            "poll_interval_s": 10.0,
            "fault_interval_s": 10.0,
            "incident_hold_s": 15.0,
            "fault_thresholds": four,
        }
    )
    engine = FaultEngine(fast, city_db, store, judges=[])
    write_states(city_db, states({"s3-a": T0 + 35}))
    store.write(
        [Sample("ap", {"ap": "s3-a"}, {"reachable": float(i % 2)}, T0 + 10 * i) for i in range(5)]
    )
    with transaction(city_db) as session:
        session.add(ApEvent(ap_id="s3-a", at=T0 + 35, from_state="up", to_state="down",
                            cause="timeout"))  # fmt: skip
    assert engine.cycle(T0 + 40).opened == 1
    (flap,) = all_incidents(city_db)
    assert (flap.kind, flap.scope_id) == (IncidentClass.FLAPPING, "s3-a")
    assert "changed state 4 times" in flap.explanation
    # Stable again: it answers every poll from T0 + 50 on.
    write_states(city_db, states())
    store.write(
        [Sample("ap", {"ap": "s3-a"}, {"reachable": 1.0}, T0 + 10 * i) for i in range(5, 10)]
    )
    # quiet for max(hold 15 s, 2 polls) = 20 s after the last lost poll (T0 + 40..45)
    assert engine.cycle(T0 + 60).resolved == 0
    assert engine.cycle(T0 + 70).resolved == 1
    assert engine.cycle(T0 + 80).changes == 0  # its old flips do not reopen it


def test_an_unexpected_reboot_opens_and_resolves_after_the_hold(
    city_db: Engine, settings: Settings, store: MetricStore
) -> None:
    engine = FaultEngine(settings, city_db, store, judges=[])
    write_states(city_db, states(up_since=T0 - 86_400))
    store.write([Sample("ap", {"ap": "s1-a"}, {"uptime_s": 9e6}, T0 - 60)])
    store.write([Sample("ap", {"ap": "s1-a"}, {"uptime_s": 25.0}, T0)])
    assert engine.cycle(T0 + 5).opened == 1
    (reboot,) = all_incidents(city_db)
    assert (reboot.kind, reboot.scope_id) == (IncidentClass.UNEXPECTED_REBOOT, "s1-a")
    store.write([Sample("ap", {"ap": "s1-a"}, {"uptime_s": 85.0}, T0 + 60)])
    assert engine.cycle(T0 + 65).resolved == 1
    assert engine.cycle(T0 + 125).changes == 0  # the same boot is not told twice


def window(engine: Engine, kind: str, scope: str, starts: float, ends: float) -> None:
    with transaction(engine) as session:
        session.add(
            MaintenanceWindow(
                scope_kind=kind, scope_id=scope, starts_at=starts, ends_at=ends,
                reason="firmware", created_by="ana", created_at=starts, updated_at=starts,
            )
        )  # fmt: skip


def test_aps_under_maintenance_are_left_out_of_the_snapshot(city_db: Engine) -> None:
    write_states(city_db, states())
    window(city_db, "site", "s3", T0, T0 + 3600)
    window(city_db, "district", "d3", T0 + 7200, T0 + 9000)  # later
    with transaction(city_db) as session:
        now = read_snapshot(session, now=T0 + 60)
        later = read_snapshot(session, now=T0 + 8000)
    assert now.maintenance == set(aps_of("s3")) and not now.aps.keys() & now.maintenance
    assert "s3" not in now.sites
    assert later.maintenance == set(aps_of("s8", "s11"))


def test_a_site_down_under_maintenance_opens_nothing_and_one_open_resolves_saying_so(
    city_db: Engine, fault_settings: Settings
) -> None:
    engine = FaultEngine(fault_settings, city_db)
    write_states(city_db, states(sites_down({"s3": T0})))
    window(city_db, "site", "s3", T0 - 10, T0 + 3600)
    assert engine.cycle(T0 + 5).changes == 0
    write_states(city_db, states(sites_down({"s3": T0, "s4": T0 + 600})))
    assert engine.cycle(T0 + 605).opened == 1  # s4: no window
    window(city_db, "site", "s4", T0 + 610, T0 + 3600)
    assert engine.cycle(T0 + 615).resolved == 1
    (s4,) = all_incidents(city_db)
    with transaction(city_db) as session:
        notes = [e.detail for e in incidents.timeline(session, s4.id) if e.kind == "resolved"]
    assert notes == [
        "all 2 of its APs are under a maintenance window: planned work, not a recovery"
    ]
