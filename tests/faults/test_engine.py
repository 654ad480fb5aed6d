"""The engine on a real database (SQLite and PostgreSQL), driven by an injected clock."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from core.incidents import IncidentClass, IncidentState, Verdict
from core.settings import Settings
from core.states import ApState
from faults.engine import FaultEngine
from inventory import incidents
from inventory.db import transaction
from inventory.incidents import IncidentView
from inventory.models import Incident
from tests.faults.city import ALL_APS, T0, State, aps_of, sites_down, states, write_states
from timeseries import open_store
from timeseries.port import Sample


def all_incidents(engine: Engine) -> list[IncidentView]:
    with transaction(engine) as session:
        rows = session.scalars(select(Incident).order_by(Incident.id))
        return incidents.views(session, rows)


def test_a_district_cut_seen_over_several_cycles_is_one_area_incident(
    city_db: Engine, fault_settings: Settings
) -> None:
    """The first sites down wait (an area outage may be forming) instead of opening
    site incidents that would be merged a cycle later."""
    engine = FaultEngine(fault_settings, city_db)
    write_states(city_db, states(sites_down({"s3": T0, "s4": T0 + 2})))
    assert engine.cycle(T0 + 5).changes == 0
    write_states(city_db, states(sites_down({"s3": T0, "s4": T0 + 2, "s5": T0 + 12})))
    assert engine.cycle(T0 + 15).opened == 1
    write_states(city_db, states(sites_down({"s3": T0, "s4": T0 + 2, "s5": T0 + 12,
                                             "s6": T0 + 22})))  # fmt: skip
    assert engine.cycle(T0 + 25).grown == 1
    (area,) = all_incidents(city_db)
    assert (area.kind, dict(area.aps)) == (
        IncidentClass.AREA_OUTAGE, aps_of("s3", "s4", "s5", "s6"),
    )  # fmt: skip


def active_incidents(engine: Engine) -> list[IncidentView]:
    with transaction(engine) as session:
        return incidents.active_incidents(session)


def count(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def back_up(given: dict[str, State], at: float, *aps: str) -> dict[str, State]:
    return {**given, **{ap: (ApState.UP, at) for ap in aps}}


def test_a_site_down_opens_one_incident_and_a_second_cycle_changes_nothing(
    city_db: Engine, fault_settings: Settings
) -> None:
    write_states(city_db, states(sites_down({"s3": T0})))
    engine = FaultEngine(fault_settings, city_db)
    first = engine.cycle(T0 + 5)
    assert (first.aps, first.problems, first.opened, first.changes) == (len(ALL_APS), 1, 1, 1)
    (site,) = all_incidents(city_db)
    assert (site.kind, site.scope_id, site.district_id, site.state) == (
        IncidentClass.SITE_DOWN, "s3", "d1", IncidentState.OPEN,
    )  # fmt: skip
    assert dict(site.aps) == aps_of("s3") and site.opened_at == T0 + 5
    assert "All 2 APs of site Site s3 (s3) stopped answering" in site.explanation
    second = engine.cycle(T0 + 15)
    assert second.changes == 0
    assert all_incidents(city_db) == [site]  # not even updated_at moved


def test_a_restarted_engine_carries_on_without_duplicates(
    city_db: Engine, fault_settings: Settings
) -> None:
    given = states(sites_down({"s3": T0, "s7": T0, "s8": T0, "s11": T0}) | {"s10-a": T0})
    write_states(city_db, given)
    assert FaultEngine(fault_settings, city_db).cycle(T0 + 5).opened == 3  # uplink, site, AP
    restarted = FaultEngine(fault_settings, city_db)
    assert restarted.cycle(T0 + 600).changes == 0
    write_states(city_db, back_up(given, T0 + 700, *aps_of("s3", "s7", "s8", "s11"), "s10-a"))
    assert restarted.cycle(T0 + 800).resolved == 3
    assert FaultEngine(fault_settings, city_db).cycle(T0 + 810).changes == 0
    kinds = sorted((i.kind.value, i.scope_id, i.state.value) for i in all_incidents(city_db))
    assert kinds == [
        ("ap_down", "s10-a", "resolved"),
        ("site_down", "s3", "resolved"),
        ("uplink_down", "u2", "resolved"),
    ]


def test_a_site_turning_out_part_of_an_area_is_merged_into_it(
    city_db: Engine, fault_settings: Settings
) -> None:
    engine = FaultEngine(fault_settings, city_db)
    write_states(city_db, states(sites_down({"s3": T0})))
    engine.cycle(T0 + 5)
    write_states(city_db, states(sites_down({"s3": T0, "s4": T0 + 20, "s5": T0 + 30})))
    report = engine.cycle(T0 + 35)
    assert (report.opened, report.merged) == (1, 1)
    site, area = all_incidents(city_db)
    assert (area.kind, area.scope_id, area.state) == (
        IncidentClass.AREA_OUTAGE, "d1", IncidentState.OPEN,
    )  # fmt: skip
    assert dict(area.aps) == aps_of("s3", "s4", "s5")
    assert "3 sites in Bekasi Timur stopped answering within 30 s" in area.explanation
    assert (site.state, site.merged_into) == (IncidentState.RESOLVED, area.id)
    write_states(city_db, states(sites_down({"s3": T0, "s4": T0 + 20, "s5": T0 + 30,
                                             "s6": T0 + 70})))  # fmt: skip
    grown = engine.cycle(T0 + 75)
    assert (grown.grown, grown.opened) == (1, 0)
    assert engine.cycle(T0 + 85).changes == 0
    (active,) = active_incidents(city_db)
    assert dict(active.aps) == aps_of("s3", "s4", "s5", "s6")
    assert "4 sites in Bekasi Timur" in active.explanation


def test_resolved_after_the_hold_and_reopened_when_it_recurs(
    city_db: Engine, fault_settings: Settings
) -> None:
    engine = FaultEngine(fault_settings, city_db)
    down = states(sites_down({"s3": T0}))
    write_states(city_db, down)
    engine.cycle(T0 + 5)
    write_states(city_db, back_up(down, T0 + 100, *aps_of("s3")))
    assert engine.cycle(T0 + 159).changes == 0  # 59 s of the 60 s hold
    assert engine.cycle(T0 + 160).resolved == 1
    (done,) = all_incidents(city_db)
    assert (done.state, done.resolved_at, done.resolved_by) == (IncidentState.RESOLVED, T0 + 160,
                                                                None)  # fmt: skip
    write_states(city_db, states(sites_down({"s3": T0 + 500})))
    again = engine.cycle(T0 + 505)
    assert (again.reopened, again.opened) == (1, 0)
    (reopened,) = all_incidents(city_db)
    assert (reopened.id, reopened.state, reopened.reopened) == (done.id, IncidentState.OPEN, 1)
    assert engine.cycle(T0 + 515).changes == 0


def test_an_acknowledged_incident_still_resolves_on_recovery(
    city_db: Engine, fault_settings: Settings
) -> None:
    engine = FaultEngine(fault_settings, city_db)
    write_states(city_db, states({"s10-a": T0}))
    engine.cycle(T0 + 5)
    (ap,) = all_incidents(city_db)
    with transaction(city_db) as session:
        incidents.acknowledge(session, ap.id, actor="ana", note="on it", now=T0 + 6)
    assert engine.cycle(T0 + 15).changes == 0
    write_states(city_db, states())  # up since long ago
    assert engine.cycle(T0 + 25).resolved == 1


def test_the_verdict_comes_from_the_uptimes_after_recovery(
    city_db: Engine, fault_settings: Settings, tmp_path: Path
) -> None:
    store = open_store(f"embedded://{tmp_path / 'metrics'}")
    try:
        engine = FaultEngine(fault_settings, city_db, store)
        power, path = aps_of("s3"), aps_of("s10")  # two districts: two site_down
        down = states(sites_down({"s3": T0, "s10": T0}))
        write_states(city_db, down)
        engine.cycle(T0 + 5)
        write_states(city_db, back_up(down, T0 + 300, *power, *path))
        store.write(
            [Sample("ap", {"ap": ap}, {"uptime_s": 20.0}, T0 + 310) for ap in power]
            + [Sample("ap", {"ap": ap}, {"uptime_s": 9e6}, T0 + 310) for ap in path]
        )
        assert engine.cycle(T0 + 400).resolved == 2
        verdicts = {i.scope_id: i.verdict for i in all_incidents(city_db)}
        assert verdicts == {"s3": Verdict.POWER, "s10": Verdict.PATH}
    finally:
        store.close()


def test_the_loop_cycles_on_the_clock_until_stopped(
    city_db: Engine, fault_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    write_states(city_db, states(sites_down({"s3": T0})))
    clock = [T0]
    pauses: list[float] = []
    stop = threading.Event()

    def wait(seconds: float) -> bool:
        pauses.append(seconds)
        clock[0] += seconds
        if len(pauses) == 3:
            stop.set()
        return stop.is_set()

    engine = FaultEngine(fault_settings, city_db, clock=lambda: clock[0])
    with caplog.at_level(logging.INFO, logger="citywifi.faults"):
        engine.run(stop, wait=wait)
    assert pauses == [10.0, 10.0, 10.0]
    assert count(city_db) == 1
    assert [r.getMessage() for r in caplog.records if "opened" in r.getMessage()] == [
        "opened #1 site_down s3: All 2 APs of site Site s3 (s3) stopped answering: power or "
        "backhaul at the site"
    ]


def test_a_failed_cycle_is_logged_and_the_loop_goes_on(
    fault_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database gone mid-run (here: never there) costs a cycle, not the engine."""
    from inventory.engine import make_engine

    broken = make_engine(f"sqlite:///{tmp_path / 'missing' / 'inventory.db'}")
    stop = threading.Event()
    pauses: list[float] = []

    def wait(seconds: float) -> bool:
        pauses.append(seconds)
        if len(pauses) == 2:
            stop.set()
        return stop.is_set()

    with caplog.at_level(logging.WARNING, logger="citywifi.faults"):
        FaultEngine(fault_settings, broken, clock=lambda: T0).run(stop, wait=wait)
    broken.dispose()
    failed = [r.getMessage() for r in caplog.records]
    assert len(failed) == 2 and all(m.startswith("fault engine cycle failed: ") for m in failed)
