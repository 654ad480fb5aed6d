"""Filing a report: matched to a hotspot and to its incident (joined, reopened, opened) or
left unmatched; the incident's priority and timeline; nothing personal in an incident,
nothing in clear in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citizens.filing import FiledReport, NewReport, file_report
from citizens.photos import Photo
from core.citizens import Channel, Match, Problem
from core.incidents import IncidentClass, IncidentState, Responsible
from core.settings import Settings
from inventory import citizen_reports, incidents
from inventory.incidents import EntryKind, IncidentView
from inventory.models import CitizenReport, Incident
from inventory.secretbox import SEALED_PREFIX, SecretBox
from tests.citizens.city import T0, TAMAN_APS
from tests.fixtures.secret_scan import PersonalData

PHONE = "+6281234567890"
TEXT = "Sinyal hilang sejak pagi di dekat air mancur, kata Bu Siti Rahayu"
AT_TAMAN = {"lat": -6.2, "lon": 106.8}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A window of one hour for reopening a citizens' incident."""
    return Settings(data_dir=tmp_path / "state", citizen_report_window_s=3600.0)


@pytest.fixture
def file(
    hotspots: Session, secret_box: SecretBox, settings: Settings, personal_data: PersonalData
) -> FileReport:
    personal_data.names([PHONE, TEXT])
    return FileReport(hotspots, secret_box, settings)


class FileReport:
    """``file(now, problem, **fields)``: one report filed in the hotspots' session."""

    def __init__(self, session: Session, box: SecretBox, settings: Settings) -> None:
        self.session, self.box, self.settings = session, box, settings

    def __call__(
        self,
        now: float,
        problem: Problem = Problem.NO_SIGNAL,
        channel: Channel = Channel.WEB,
        **fields: Any,
    ) -> FiledReport:
        where = fields if {"lat", "site_id"} & fields.keys() else {**AT_TAMAN, **fields}
        report = NewReport(problem=problem, channel=channel, **where)
        return file_report(self.session, report, box=self.box, settings=self.settings, now=now)

    def incident(self, incident_id: int | None) -> IncidentView:
        assert incident_id is not None
        row = self.session.get(Incident, incident_id, populate_existing=True)
        assert row is not None
        return incidents.views(self.session, [row])[0]


def test_a_report_out_of_reach_is_stored_unmatched(file: FileReport) -> None:
    filed = file(T0, lat=-6.5, lon=107.0, text=TEXT, phone=PHONE)
    assert filed == FiledReport(filed.id, Match.UNMATCHED, None, None, None, None, None, False)
    view = citizen_reports.get(file.session, file.box, filed.id)
    assert view is not None and (view.match, view.incident_id, view.site_id) == (
        Match.UNMATCHED, None, None,
    )  # fmt: skip
    assert (view.text, view.phone, view.lat) == (TEXT, PHONE, -6.5)
    assert file.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_first_report_opens_a_citizens_incident_on_the_sites_enabled_aps(
    file: FileReport,
) -> None:
    filed = file(T0, text=TEXT, phone=PHONE)
    assert (filed.match, filed.site_id, filed.site_name, filed.distance_m) == (
        Match.OPENED, "taman", "Taman Kota", 0.0,
    )  # fmt: skip
    assert (filed.incident_kind, filed.known) == (IncidentClass.CITIZEN_REPORTED, False)
    incident = file.incident(filed.incident_id)
    assert (incident.kind, incident.scope_id, incident.district_id, incident.state) == (
        IncidentClass.CITIZEN_REPORTED, "taman", "d1", IncidentState.OPEN,
    )  # fmt: skip
    assert dict(incident.aps) == TAMAN_APS  # taman-x is disabled: not a member
    assert (incident.priority, incident.citizen_reports) == (1, 1)
    assert incident.responsible is Responsible.NOC
    assert incident.explanation == "citizens report: no WiFi signal at Taman Kota (1 report)"
    entries = incidents.timeline(file.session, incident.id)
    assert (EntryKind.CITIZEN_REPORT, f"citizen report #{filed.id}: no WiFi signal (web)") in [
        (e.kind, e.detail) for e in entries
    ]
    view = citizen_reports.get(file.session, file.box, filed.id)
    assert view is not None and (view.incident_id, view.match) == (incident.id, Match.OPENED)


def test_more_reports_join_it_and_raise_its_priority(file: FileReport) -> None:
    first = file(T0)
    second = file(T0 + 60, Problem.SLOW, Channel.CALL_CENTRE, lat=-6.2001, lon=106.8)
    third = file(T0 + 120, site_id="taman")  # picked on the map
    assert [f.match for f in (first, second, third)] == [Match.OPENED, Match.JOINED, Match.JOINED]
    assert {f.incident_id for f in (first, second, third)} == {first.incident_id}
    assert second.known and third.known and third.distance_m is None
    assert second.distance_m == pytest.approx(11.1, abs=0.1)
    incident = file.incident(first.incident_id)
    assert (incident.priority, incident.citizen_reports) == (3, 3)
    assert incident.explanation == (
        "citizens report: no WiFi signal, very slow at Taman Kota (3 reports)"
    )
    details = [e.detail for e in incidents.timeline(file.session, incident.id)
               if e.kind is EntryKind.CITIZEN_REPORT]  # fmt: skip
    assert details == [
        f"citizen report #{first.id}: no WiFi signal (web)",
        f"citizen report #{second.id}: very slow (call_centre)",
        f"citizen report #{third.id}: no WiFi signal (web)",
    ]


def test_a_report_joins_the_engines_incident_on_one_of_the_sites_aps(file: FileReport) -> None:
    """The report at a hotspot already known to be down: the engine's incident, its
    explanation untouched, its priority raised."""
    citizens = file(T0).incident_id  # the citizens' first, then the engine's
    ap_down = incidents.open_incident(
        file.session, kind=IncidentClass.AP_DOWN, scope_id="taman-b", district_id="d1",
        aps={"taman-b": "taman"}, explanation="taman-b stopped answering", now=T0 + 10,
    )  # fmt: skip
    filed = file(T0 + 20, Problem.NO_INTERNET)
    assert (filed.match, filed.incident_id, filed.incident_kind, filed.known) == (
        Match.JOINED, ap_down, IncidentClass.AP_DOWN, True,
    )  # fmt: skip
    incident = file.incident(ap_down)
    assert (incident.priority, incident.citizen_reports) == (1, 1)
    assert incident.explanation == "taman-b stopped answering"
    assert file.incident(citizens).priority == 1


def test_of_several_engine_incidents_the_oldest(file: FileReport) -> None:
    area = incidents.open_incident(
        file.session, kind=IncidentClass.AREA_OUTAGE, scope_id="d1", district_id="d1",
        aps={**TAMAN_APS, "halte-a": "halte"}, explanation="d1 dark", now=T0,
    )  # fmt: skip
    incidents.open_incident(
        file.session, kind=IncidentClass.SILENT_FAILURE, scope_id="taman-a", district_id="d1",
        aps={"taman-a": "taman"}, explanation="no clients", now=T0 + 5,
    )  # fmt: skip
    assert file(T0 + 10).incident_id == area


def test_a_report_soon_after_the_citizens_incident_was_resolved_reopens_it(
    file: FileReport,
) -> None:
    first = file(T0, phone=PHONE)
    assert first.incident_id is not None
    incidents.resolve(file.session, first.incident_id, now=T0 + 100, actor="ana", note="fixed")
    again = file(T0 + 100 + 3600, Problem.SLOW)  # at the end of the window
    assert (again.match, again.incident_id, again.known) == (
        Match.REOPENED, first.incident_id, False,
    )  # fmt: skip
    incident = file.incident(first.incident_id)
    assert (incident.state, incident.reopened, incident.priority) == (IncidentState.OPEN, 1, 2)
    assert incident.citizen_reports == 2
    assert incident.explanation.endswith("(2 reports)")
    # The first report was closed with the resolution: it stays closed, phone wiped.
    view = citizen_reports.get(file.session, file.box, first.id)
    assert view is not None and (view.closed_at, view.phone) == (T0 + 100, None)


def test_after_the_window_a_new_incident(file: FileReport) -> None:
    first = file(T0)
    assert first.incident_id is not None
    incidents.resolve(file.session, first.incident_id, now=T0 + 100)
    later = file(T0 + 100 + 3601)
    assert later.match is Match.OPENED and later.incident_id != first.incident_id


def test_a_citizens_incident_merged_away_is_not_reopened(file: FileReport) -> None:
    """Merged into the engine's incident, it lives on there: once that one is resolved a
    new report opens a new citizens' incident."""
    first = file(T0)
    assert first.incident_id is not None
    site_down = incidents.open_incident(
        file.session, kind=IncidentClass.SITE_DOWN, scope_id="halte", district_id="d1",
        aps={"halte-a": "halte"}, explanation="halte down", now=T0,
    )  # fmt: skip
    incidents.merge(file.session, first.incident_id, site_down, now=T0 + 10)
    incidents.resolve(file.session, site_down, now=T0 + 20)
    later = file(T0 + 30)
    assert later.match is Match.OPENED
    assert later.incident_id not in (first.incident_id, site_down)


def test_a_picked_site_wins_over_the_location(file: FileReport) -> None:
    filed = file(T0, site_id="halte", lat=-6.2, lon=106.8)
    assert (filed.site_id, filed.distance_m, filed.match) == ("halte", None, Match.OPENED)
    view = citizen_reports.get(file.session, file.box, filed.id)
    assert view is not None and (view.lat, view.lon, view.site_id) == (-6.2, 106.8, "halte")


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ({"site_id": "planned"}, "site 'planned' is not an active hotspot with an enabled AP"),
        ({"site_id": "dark"}, "site 'dark' is not an active hotspot"),
        ({"site_id": "nowhere"}, "site 'nowhere' is not"),
        ({"lat": -6.2}, "a report needs a site or a location (lat and lon)"),
    ],
)
def test_refused_without_a_reportable_site_or_a_location(
    file: FileReport, where: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match=r"^" + says.replace("(", r"\(").replace(")", r"\)")):
        file(T0, **where)
    assert file.session.scalar(select(func.count()).select_from(CitizenReport)) == 0


def test_nothing_personal_reaches_the_incident_and_nothing_is_stored_in_clear(
    file: FileReport,
) -> None:
    photo = Photo("image/jpeg", 4, 3, b"\xff\xd8 not really a jpeg \xff\xd9")
    filed = file(T0, text=TEXT, phone=PHONE, photo=photo, address_hash="ab" * 16,
                 filed_by="operator-1", external_ref="CC-2026-0001")  # fmt: skip
    row = file.session.get(CitizenReport, filed.id)
    assert row is not None and row.text_sealed is not None and row.phone_sealed is not None
    assert row.text_sealed.startswith(SEALED_PREFIX) and row.phone_sealed.startswith(SEALED_PREFIX)
    assert TEXT not in row.text_sealed and PHONE not in row.phone_sealed
    incident = file.incident(filed.incident_id)
    told = [incident.explanation] + [
        e.detail or "" for e in incidents.timeline(file.session, incident.id)
    ]
    assert not [line for line in told if PHONE in line or "Sinyal" in line]
    view = citizen_reports.get(file.session, file.box, filed.id)
    assert view is not None and view.has_photo
    assert (view.filed_by, view.external_ref, view.channel) == (
        "operator-1", "CC-2026-0001", Channel.WEB,
    )  # fmt: skip
    stored = citizen_reports.photo(file.session, filed.id)
    assert stored is not None and (stored.content_type, stored.width, stored.data) == (
        "image/jpeg", 4, photo.data,
    )  # fmt: skip


def test_resolving_the_incident_closes_its_reports_and_wipes_the_phones(
    file: FileReport,
) -> None:
    first, second = file(T0, phone=PHONE), file(T0 + 5, text=TEXT, phone=PHONE)
    elsewhere = file(T0 + 6, site_id="halte", phone=PHONE)
    assert first.incident_id is not None
    incidents.resolve(file.session, first.incident_id, now=T0 + 50)  # by the engine alike
    for report_id in (first.id, second.id):
        view = citizen_reports.get(file.session, file.box, report_id)
        assert view is not None and (view.closed_at, view.phone) == (T0 + 50, None)
    kept = citizen_reports.get(file.session, file.box, second.id)
    assert kept is not None and kept.text == TEXT  # what they said stays for the record
    other = citizen_reports.get(file.session, file.box, elsewhere.id)
    assert other is not None and (other.closed_at, other.phone) == (None, PHONE)
