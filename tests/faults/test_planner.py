"""The notification planner on a real database (SQLite and PostgreSQL): routes, groups,
the outbox rows it queues, and no duplicate however often it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from core.errors import ConflictError
from core.incidents import IncidentClass, Responsible
from core.settings import NotifyRoute, Settings
from faults.planner import PlanReport, plan_once
from inventory import incidents, notifications
from inventory.db import transaction
from inventory.models import AccessPoint, District, Notification, Partner, Site
from tests.faults.city import T0, aps_of

WAIT, INTERVAL, REPEAT = 30.0, 300.0, 3600.0
BIG = 32  # sites of the district cut


def settings_with(tmp_path: Path, *routes: NotifyRoute) -> Settings:
    return Settings(
        data_dir=tmp_path / "state",
        notify_routes=list(routes),
        notify_group_wait_s=WAIT,
        notify_group_interval_s=INTERVAL,
        notify_repeat_interval_s=REPEAT,
    )


def route(name: str = "all", **filters: Any) -> NotifyRoute:
    return NotifyRoute(name=name, transport="webhook", url="http://127.0.0.1:9/hook",
                       secret="s3cret-signing-key", **filters)  # fmt: skip


def outbox(engine: Engine, route_name: str | None = None) -> list[Notification]:
    with transaction(engine) as session:
        query = select(Notification).order_by(Notification.id)
        if route_name is not None:
            query = query.where(Notification.route == route_name)
        return list(session.scalars(query))


def body(row: Notification) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(row.payload)
    return payload


def open_ap_down(engine: Engine, ap: str, *, at: float) -> int:
    with transaction(engine) as session:
        return incidents.open_incident(
            session,
            kind=IncidentClass.AP_DOWN,
            scope_id=ap,
            district_id=None,
            aps={ap: aps_of(ap.split("-")[0])[ap]},
            explanation=f"{ap} stopped answering",
            now=at,
        )


def open_incident(engine: Engine, kind: IncidentClass, scope: str, sites: list[str], *,
                  at: float, district: str | None = None) -> int:  # fmt: skip
    """An incident covering the first AP (``<site>-a``) of each of ``sites``."""
    with transaction(engine) as session:
        return incidents.open_incident(
            session, kind=kind, scope_id=scope, district_id=district,
            aps={f"{site}-a": site for site in sites},
            explanation=f"{kind.value} at {scope}", now=at,
        )  # fmt: skip


@pytest.fixture
def partners(city_db: Engine) -> Engine:
    """Partner p1 sponsors s1 and s2 (district d1), p2 sponsors s7 (d2)."""
    with transaction(city_db) as session:
        session.add_all([Partner(id="p1", name="Bank One"), Partner(id="p2", name="Cafe Two")])
        session.flush()
        session.execute(update(Site).where(Site.id.in_(["s1", "s2"])).values(partner_id="p1"))
        session.execute(update(Site).where(Site.id == "s7").values(partner_id="p2"))
    return city_db


@pytest.fixture
def big_district(city_db: Engine) -> list[str]:
    """District d4 (Bekasi Utara) with 32 sites of one AP each: ``b00-a`` ... ``b31-a``."""
    sites = [f"b{i:02d}" for i in range(BIG)]
    with transaction(city_db) as session:
        session.add(District(id="d4", name="Bekasi Utara"))
        session.flush()
        for i, site in enumerate(sites):
            session.add(Site(id=site, name=f"Pasar {i}", lat=-6.1, lon=107.0, district_id="d4",
                             kind="market", coverage_radius_m=60.0, status="active"))  # fmt: skip
        session.flush()
        for i, site in enumerate(sites):
            session.add(AccessPoint(id=f"{site}-a", site_id=site, name=f"AP {site}",
                                    host=f"127.4.0.{i + 1}", snmp_port=161, ssh_port=22,
                                    profile="generic", credential_id="cred",
                                    enabled=True))  # fmt: skip
    return sites


def test_no_routes_plans_nothing(city_db: Engine, tmp_path: Path) -> None:
    open_ap_down(city_db, "s3-a", at=T0)
    assert plan_once(city_db, settings_with(tmp_path), now=T0 + 100) == PlanReport(0, None)
    assert outbox(city_db) == []


def test_group_wait_then_one_firing_message(city_db: Engine, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, route())
    first = open_ap_down(city_db, "s3-a", at=T0)
    assert plan_once(city_db, settings, now=T0 + 1) == PlanReport(0, T0 + WAIT)
    second = open_ap_down(city_db, "s4-a", at=T0 + 20)
    assert plan_once(city_db, settings, now=T0 + 29.9) == PlanReport(0, T0 + WAIT)
    report = plan_once(city_db, settings, now=T0 + WAIT)
    assert report == PlanReport(1, T0 + WAIT + REPEAT)
    [row] = outbox(city_db)
    assert (row.route, row.group_key, row.kind, row.status) == ("all", "noc", "firing", "pending")
    assert (row.due_at, row.created_at, row.attempts) == (T0 + WAIT, T0 + WAIT, 0)
    payload = body(row)
    assert payload["id"] == "all:noc:1"
    assert payload["created_at"] == "2026-01-01T00:00:30Z"
    assert [i["id"] for i in payload["incidents"]] == [first, second]
    assert (payload["open"], payload["resolved"]) == (2, 0)
    assert payload["incidents"][0]["sites"] == ["s3"]
    assert payload["incidents"][0]["aps"] == 1
    assert row.subject.startswith("[citywifi] noc: 2 open — ap_down in s3-a at Site s3")
    assert "s3cret" not in row.payload + row.subject


def test_restart_plans_no_duplicate(city_db: Engine, tmp_path: Path) -> None:
    """All state is in SQL: planning again at the same moment, or later with nothing
    changed, queues nothing more (a restarted notifier repeats no message)."""
    settings = settings_with(tmp_path, route())
    incident = open_ap_down(city_db, "s3-a", at=T0)
    assert plan_once(city_db, settings, now=T0 + WAIT).queued == 1
    assert plan_once(city_db, settings, now=T0 + WAIT).queued == 0
    assert plan_once(city_db, settings, now=T0 + WAIT + 1000).queued == 0
    with transaction(city_db) as session:
        incidents.resolve(session, incident, now=T0 + 2000)
    assert plan_once(city_db, settings, now=T0 + 2000).queued == 1
    assert plan_once(city_db, settings, now=T0 + 2000).queued == 0
    assert [row.kind for row in outbox(city_db)] == ["firing", "resolved"]
    assert [body(row)["id"] for row in outbox(city_db)] == ["all:noc:1", "all:noc:2"]


def test_repeat_exactly_and_not_when_acknowledged(city_db: Engine, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, route())
    first = open_ap_down(city_db, "s3-a", at=T0)
    open_ap_down(city_db, "s4-a", at=T0)
    plan_once(city_db, settings, now=T0 + WAIT)
    sent = T0 + WAIT
    assert plan_once(city_db, settings, now=sent + REPEAT - 0.001) == PlanReport(0, sent + REPEAT)
    assert plan_once(city_db, settings, now=sent + REPEAT).queued == 1
    with transaction(city_db) as session:
        incidents.acknowledge(session, first, actor="ana", note=None, now=sent + REPEAT + 5)
    # the acknowledgement alone sends nothing; it rides in the next repeat
    assert plan_once(city_db, settings, now=sent + REPEAT + 5) == PlanReport(0, sent + 2 * REPEAT)
    assert plan_once(city_db, settings, now=sent + 2 * REPEAT).queued == 1
    rows = outbox(city_db)
    assert [row.kind for row in rows] == ["firing", "repeat", "repeat"]
    last = body(rows[-1])["incidents"]
    assert [(i["id"], i["state"], i["change"], i["acknowledged_by"]) for i in last] == [
        (first, "acknowledged", "acknowledged", "ana"),
        (first + 1, "open", "unchanged", None),
    ]
    # once everything is acknowledged, nothing is repeated
    with transaction(city_db) as session:
        incidents.acknowledge(session, first + 1, actor="ana", note=None, now=sent + 2 * REPEAT)
    assert plan_once(city_db, settings, now=sent + 3 * REPEAT).queued == 0
    assert plan_once(city_db, settings, now=sent + 10 * REPEAT) == PlanReport(0, None)


def test_partner_route_names_only_its_own_sites(partners: Engine, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, route("bank", partner="p1"), route("cafe", partner="p2"))
    area = open_incident(partners, IncidentClass.AREA_OUTAGE, "d1", ["s1", "s2", "s3", "s4"],
                         at=T0, district="d1")  # fmt: skip
    plan_once(partners, settings, now=T0 + WAIT)
    assert outbox(partners, "cafe") == []  # nothing of p2's
    [row] = outbox(partners, "bank")
    [incident] = body(row)["incidents"]
    assert incident["id"] == area
    assert incident["sites"] == ["s1", "s2"]
    assert incident["aps"] == 2
    assert "s3" not in row.payload and "s4" not in row.payload
    assert incident["explanation"].endswith("2 of your APs at 2 of your sites (s1, s2).")
    assert row.group_key == Responsible.UTILITY.value
    # an incident at p2's site only reaches p2's route
    open_ap_down(partners, "s7-a", at=T0 + 100)
    plan_once(partners, settings, now=T0 + 100 + WAIT)
    assert len(outbox(partners, "bank")) == 1
    [cafe] = outbox(partners, "cafe")
    assert [i["sites"] for i in body(cafe)["incidents"]] == [["s7"]]


def test_route_filters(city_db: Engine, tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        route("biznet", operator="Biznet"),
        route("telkom", operator="Telkom"),
        route("utility", responsible=[Responsible.UTILITY]),
        route("reboots", classes=[IncidentClass.UNEXPECTED_REBOOT]),
    )
    uplink = open_incident(city_db, IncidentClass.UPLINK_DOWN, "u2", ["s7", "s8", "s11"], at=T0)
    site = open_incident(city_db, IncidentClass.SITE_DOWN, "s1", ["s1"], at=T0, district="d1")
    plan_once(city_db, settings, now=T0 + WAIT)
    assert [i["id"] for i in body(outbox(city_db, "biznet")[0])["incidents"]] == [uplink]
    # s1 is behind Telkom's u1: its site_down is about Telkom's uplink too
    assert [i["id"] for i in body(outbox(city_db, "telkom")[0])["incidents"]] == [site]
    assert outbox(city_db, "utility") == []
    assert outbox(city_db, "reboots") == []
    subject = outbox(city_db, "biznet")[0].subject
    assert (
        subject == "[citywifi] operator: 1 open — uplink_down in uplink Ring-2 (Biznet) (3 sites)"
    )


def test_district_cut_is_one_message_then_one_resolved(
    city_db: Engine, big_district: list[str], tmp_path: Path
) -> None:
    """32 sites go down over 20 s: the engine first opens site_down incidents, then sees
    an area outage and merges them into it. With the group wait the route hears one
    area_outage (never the site_downs), and later one resolved message."""
    settings = settings_with(tmp_path, route())
    first_sites = big_district[:3]
    site_downs = [
        open_incident(city_db, IncidentClass.SITE_DOWN, s, [s], at=T0 + i, district="d4")
        for i, s in enumerate(first_sites)
    ]
    assert plan_once(city_db, settings, now=T0 + 5) == PlanReport(0, T0 + WAIT)
    area = open_incident(city_db, IncidentClass.AREA_OUTAGE, "d4", big_district, at=T0 + 20,
                         district="d4")  # fmt: skip
    with transaction(city_db) as session:
        for child in site_downs:
            incidents.merge(session, child, area, now=T0 + 20)
    for now in (T0 + 25, T0 + WAIT, T0 + 49):
        assert plan_once(city_db, settings, now=now).queued == 0
    assert plan_once(city_db, settings, now=T0 + 20 + WAIT).queued == 1
    [firing] = outbox(city_db)
    payload = body(firing)
    assert [i["id"] for i in payload["incidents"]] == [area]
    assert len(payload["incidents"][0]["sites"]) == BIG
    assert firing.subject == (
        f"[citywifi] utility: 1 open — area_outage in Bekasi Utara ({BIG} sites)"
    )
    with transaction(city_db) as session:
        incidents.resolve(session, area, now=T0 + 1000)
    for now in (T0 + 1000, T0 + 1001, T0 + 5000):
        plan_once(city_db, settings, now=now)
    rows = outbox(city_db)
    assert [row.kind for row in rows] == ["firing", "resolved"]
    assert body(rows[1])["incidents"][0]["change"] == "resolved"
    assert rows[1].subject.startswith("[citywifi] utility: 0 open, 1 resolved — area_outage")


def test_merged_after_told_gets_its_resolved(city_db: Engine, tmp_path: Path) -> None:
    """Site_downs already told open, then merged into an area outage: the route hears
    each resolved as "merged into #N" (Alertmanager #2754 never would)."""
    settings = settings_with(tmp_path, route())
    children = [
        open_incident(city_db, IncidentClass.SITE_DOWN, s, [s], at=T0, district="d1")
        for s in ("s3", "s4", "s5")
    ]
    plan_once(city_db, settings, now=T0 + WAIT)
    area = open_incident(city_db, IncidentClass.AREA_OUTAGE, "d1", ["s3", "s4", "s5", "s6"],
                         at=T0 + 60, district="d1")  # fmt: skip
    with transaction(city_db) as session:
        for child in children:
            incidents.merge(session, child, area, now=T0 + 60)
    plan_once(city_db, settings, now=T0 + WAIT + INTERVAL)
    rows = outbox(city_db)
    assert [(row.group_key, row.kind) for row in rows] == [
        ("noc", "firing"),
        ("noc", "resolved"),
        ("utility", "firing"),
    ]
    merged = body(rows[1])["incidents"]
    assert [(i["id"], i["change"], i["merged_into"]) for i in merged] == [
        (child, "merged", area) for child in children
    ]
    with transaction(city_db) as session:
        incidents.resolve(session, area, now=T0 + 3000)
    plan_once(city_db, settings, now=T0 + 3000)
    assert [row.kind for row in outbox(city_db)][-1] == "resolved"
    assert plan_once(city_db, settings, now=T0 + 9000) == PlanReport(0, None)


def test_reopened_incident_is_told_again(city_db: Engine, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, route())
    incident = open_ap_down(city_db, "s3-a", at=T0)
    plan_once(city_db, settings, now=T0 + WAIT)
    with transaction(city_db) as session:
        incidents.resolve(session, incident, now=T0 + 100)
    plan_once(city_db, settings, now=T0 + WAIT + INTERVAL)
    with transaction(city_db) as session:
        incidents.reopen(session, incident, now=T0 + 500, aps={"s3-a": "s3"})
    assert plan_once(city_db, settings, now=T0 + 500) == PlanReport(0, T0 + 500 + WAIT)
    assert plan_once(city_db, settings, now=T0 + 500 + WAIT).queued == 1
    rows = outbox(city_db)
    assert [row.kind for row in rows] == ["firing", "resolved", "firing"]
    assert body(rows[2])["incidents"][0]["change"] == "reopened"
    assert body(rows[2])["id"] == "all:noc:3"


def test_a_plan_that_loses_a_race_keeps_nothing(
    city_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When another planner changed a group meanwhile, the whole plan rolls back (its
    message included) and asks to be run again at once; the next run queues it once."""
    settings = settings_with(tmp_path, route())
    open_ap_down(city_db, "s3-a", at=T0)
    real = notifications.save_group

    def racing(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        raise ConflictError("notification group all/noc was changed meanwhile")

    monkeypatch.setattr(notifications, "save_group", racing)
    assert plan_once(city_db, settings, now=T0 + WAIT) == PlanReport(0, T0 + WAIT)
    assert outbox(city_db) == []
    monkeypatch.setattr(notifications, "save_group", real)
    assert plan_once(city_db, settings, now=T0 + WAIT).queued == 1
    assert [body(row)["id"] for row in outbox(city_db)] == ["all:noc:1"]
