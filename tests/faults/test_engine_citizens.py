"""The engine and citizens' incidents on a real database (SQLite and PostgreSQL): a report
at a hotspot the monitoring thinks fine opens a citizen_reported incident; once the
engine finds the cause (an AP down, a silent failure) it merges that incident into its
own, which then holds the reports and their priority, and closes them when it resolves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, select

from citizens.filing import FiledReport, NewReport, file_report
from core.citizens import Channel, Match, Problem
from core.incidents import IncidentClass, IncidentState
from core.settings import Settings
from faults.assessment import Assessment
from faults.correlate import Problem as EngineProblem
from faults.engine import FaultEngine
from faults.lifecycle import StoredIncident
from faults.notifier import tell_citizens
from faults.snapshot import Snapshot
from inventory import incidents
from inventory.db import transaction
from inventory.incidents import IncidentView
from inventory.models import CitizenReport, Incident
from inventory.secretbox import SecretBox
from tests.faults.city import T0, aps_of, states, write_states
from tests.fixtures.secret_scan import PersonalData
from timeseries.port import Latest, MetricStore

CITIZENS = IncidentClass.CITIZEN_REPORTED
PHONE = "+6281299990000"
SILENT = IncidentClass.SILENT_FAILURE


@pytest.fixture(autouse=True)
def _phone_witnessed(personal_data: PersonalData) -> None:
    personal_data.names([PHONE])


def report_at(
    engine: Engine, site: str, box: SecretBox, settings: Settings, now: float
) -> FiledReport:
    with transaction(engine) as session:
        report = NewReport(Problem.NO_INTERNET, Channel.WEB, site_id=site, phone=PHONE)
        return file_report(session, report, box=box, settings=settings, now=now)


def all_incidents(engine: Engine) -> list[IncidentView]:
    with transaction(engine) as session:
        return incidents.views(session, session.scalars(select(Incident).order_by(Incident.id)))


def reports(engine: Engine) -> list[tuple[int | None, float | None, bool]]:
    """(incident, closed_at, phone kept) of each report."""
    with transaction(engine) as session:
        rows = session.scalars(select(CitizenReport).order_by(CitizenReport.id))
        return [(r.incident_id, r.closed_at, r.phone_sealed is not None) for r in rows]


def test_an_ap_down_takes_over_the_citizens_incident_and_closes_its_reports(
    city_db: Engine, fault_settings: Settings, secret_box: SecretBox
) -> None:
    write_states(city_db, states())
    engine = FaultEngine(fault_settings, city_db)
    filed = report_at(city_db, "s3", secret_box, fault_settings, T0)
    assert filed.match is Match.OPENED and filed.incident_kind is CITIZENS
    # The monitoring sees nothing: the engine leaves the citizens' incident alone.
    assert engine.cycle(T0 + 5).changes == 0
    assert engine.cycle(T0 + 5000).changes == 0
    write_states(city_db, states({"s3-a": T0 + 5100}))
    report = engine.cycle(T0 + 5105)
    assert (report.opened, report.merged, report.resolved) == (1, 1, 0)
    citizens, ap_down = all_incidents(city_db)
    assert (citizens.state, citizens.merged_into) == (IncidentState.RESOLVED, ap_down.id)
    assert (ap_down.kind, ap_down.scope_id, ap_down.priority, ap_down.citizen_reports) == (
        IncidentClass.AP_DOWN, "s3-a", 1, 1,
    )  # fmt: skip
    assert reports(city_db) == [(ap_down.id, None, True)]
    assert engine.cycle(T0 + 5115).changes == 0
    # Back up for the hold: the engine resolves its incident, and the report is closed
    # (its number kept, sealed, for the notifier to tell the citizen and wipe it).
    write_states(city_db, states(up_since=T0 + 5200))
    assert engine.cycle(T0 + 5300).resolved == 1
    assert reports(city_db) == [(ap_down.id, T0 + 5300, True)]
    tell_citizens(city_db, fault_settings, now=T0 + 5301)
    assert reports(city_db) == [(ap_down.id, T0 + 5300, False)]


def test_a_report_at_a_hotspot_already_down_joins_the_engines_incident(
    city_db: Engine, fault_settings: Settings, secret_box: SecretBox
) -> None:
    write_states(city_db, states({"s3-a": T0, "s3-b": T0}))
    FaultEngine(fault_settings, city_db).cycle(T0 + 5)
    filed = report_at(city_db, "s3", secret_box, fault_settings, T0 + 10)
    (site_down,) = all_incidents(city_db)
    assert (filed.match, filed.incident_id, filed.known) == (Match.JOINED, site_down.id, True)
    assert (site_down.kind, site_down.priority) == (IncidentClass.SITE_DOWN, 1)


@dataclass
class SilentJudge:
    """Says ``aps`` are silent (the metric classes' own rules are tested elsewhere)."""

    aps: list[str] = field(default_factory=list)

    def assess(
        self,
        snapshot: Snapshot,
        latest: Mapping[str, Latest],
        active: Sequence[StoredIncident],
        *,
        now: float,
    ) -> Assessment:
        problems = [
            EngineProblem(SILENT, ap, "d1", {ap: ap.split("-")[0]}, T0, f"{ap} silent", "0")
            for ap in self.aps
        ]
        return Assessment(frozenset({SILENT}), problems, frozenset())


def test_a_silent_failure_found_after_the_citizens_takes_their_incident(
    city_db: Engine, fault_settings: Settings, secret_box: SecretBox, kept_store: MetricStore
) -> None:
    """The acceptance: the citizens open it before the silent-failure rule fires; the
    rule's incident then holds their report."""
    settings = fault_settings.model_copy(update={"poll_interval_s": 60.0})
    write_states(city_db, states())
    judge = SilentJudge()
    engine = FaultEngine(settings, city_db, kept_store, judges=[judge])
    assert engine.cycle(T0).changes == 0
    first = report_at(city_db, "s6", secret_box, settings, T0 + 10)
    second = report_at(city_db, "s6", secret_box, settings, T0 + 20)
    assert (first.match, second.match) == (Match.OPENED, Match.JOINED)
    judge.aps = ["s6-b"]
    report = engine.cycle(T0 + 60)
    assert (report.opened, report.merged) == (1, 1)
    citizens, silent = all_incidents(city_db)
    assert dict(citizens.aps) == aps_of("s6") and citizens.merged_into == silent.id
    assert (silent.kind, silent.priority, silent.citizen_reports) == (SILENT, 2, 2)
    assert dict(silent.aps) == aps_of("s6")  # its AP, and the site's the merge brought
