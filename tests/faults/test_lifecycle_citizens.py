"""Lifecycle decisions about citizens' incidents, as a table: merged into the engine's
incident once a problem shares an AP with them, never resolved by the engine, never
covering a problem of the engine's."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.incidents import IncidentClass
from faults.assessment import Assessment
from faults.correlate import Problem, correlate
from faults.lifecycle import Action, Merge, Open, Policy, Reopen, Resolve, decide, explains
from inventory.incidents import IncidentView
from tests.faults.city import T0, THRESHOLDS, State, aps_of, sites_down, snapshot, states, stored

CITIZENS = IncidentClass.CITIZEN_REPORTED
AP = IncidentClass.AP_DOWN
SITE = IncidentClass.SITE_DOWN
AREA = IncidentClass.AREA_OUTAGE
SILENT = IncidentClass.SILENT_FAILURE
POLICY = Policy(hold_s=60.0, reopen_s=900.0, lead_s=30.0)
NOW = T0 + 1000


def at(
    site: str, id: int = 1, *, opened_at: float = T0 + 10, resolved_at: float | None = None
) -> IncidentView:
    """The citizens' incident of ``site``: every AP of the site, as filing makes it."""
    return stored(id, CITIZENS, site, aps_of(site), opened_at=opened_at, resolved_at=resolved_at)


def silent(ap: str) -> Assessment:
    problem = Problem(SILENT, ap, "d1", {ap: ap.split("-")[0]}, T0, f"{ap} silent", "clients 0")
    return Assessment(frozenset({SILENT}), [problem], frozenset())


@dataclass
class Case:
    name: str
    given: dict[str, State]
    active: list[IncidentView] = field(default_factory=list)
    recent: list[IncidentView] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    want: list[str] = field(default_factory=list)


def words(action: Action) -> str:
    if isinstance(action, Open):
        return f"open {action.problem.kind} {action.problem.scope_id}"
    if isinstance(action, Merge):
        return f"merge #{action.child_id} into {action.into[0]} {action.into[1]}"
    if isinstance(action, Reopen):
        return f"reopen #{action.incident_id}"
    if isinstance(action, Resolve):
        return f"resolve #{action.incident_id}"
    return f"grow #{action.incident_id}"


CASES = [
    Case("everything up: the citizens' incident stays open", states(), active=[at("s3")]),
    Case(
        "up for long, members and all: still not the engine's to resolve",
        states(up_since=T0 - 10),
        active=[at("s3", opened_at=T0 - 5000)],
    ),
    Case(
        "an AP of the site down: the ap_down opens and takes the citizens' incident",
        states({"s3-a": T0}),
        active=[at("s3")],
        want=["open ap_down s3-a", "merge #1 into ap_down s3-a"],
    ),
    Case(
        "the whole site down",
        states(sites_down({"s3": T0})),
        active=[at("s3")],
        want=["open site_down s3", "merge #1 into site_down s3"],
    ),
    Case(
        "an area: merged into the largest problem only",
        states(sites_down({"s3": T0, "s4": T0 + 20, "s5": T0 + 40})),
        active=[at("s3", 1), at("s5", 2)],
        want=[
            "open area_outage d1",
            "merge #1 into area_outage d1",
            "merge #2 into area_outage d1",
        ],
    ),
    Case(
        "another site down: no shared AP, left alone",
        states(sites_down({"s4": T0})),
        active=[at("s3")],
        want=["open site_down s4"],
    ),
    Case(
        "the engine's incident already open (both opened in one moment): merged into it",
        states({"s3-a": T0}),
        active=[at("s3", 1), stored(2, AP, "s3-a", {"s3-a": "s3"})],
        want=["merge #1 into ap_down s3-a"],
    ),
    Case(
        "a problem covered by a site incident recovering: merged into that incident",
        states({"s3-b": T0}),
        active=[stored(1, SITE, "s3", aps_of("s3")), at("s3", 2)],
        want=["merge #2 into site_down s3"],
    ),
    Case(
        "the citizens' incident covers nothing: the engine opens its own",
        states({"s3-a": T0, "s3-b": T0 + 1}),
        active=[at("s3")],
        want=["open site_down s3", "merge #1 into site_down s3"],
    ),
    Case(
        "a silent failure of one of its APs",
        states(),
        active=[at("s3")],
        assessments=[silent("s3-a")],
        want=["open silent_failure s3-a", "merge #1 into silent_failure s3-a"],
    ),
    Case(
        "the engine never reopens a citizens' incident",
        states({"s3-a": NOW - 30}),
        recent=[at("s3", 1, resolved_at=NOW - 100)],
        want=["open ap_down s3-a"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decision(case: Case) -> None:
    snap = snapshot(case.given, now=NOW)
    problems = correlate(snap, THRESHOLDS)
    actions = decide(
        problems,
        snap,
        case.active,
        case.recent,
        now=NOW,
        policy=POLICY,
        assessments=case.assessments,
    )
    assert [words(a) for a in actions] == case.want


@pytest.mark.parametrize("kind", [k for k in IncidentClass if k is not CITIZENS])
def test_every_engine_class_explains_citizens_and_citizens_explain_nothing(
    kind: IncidentClass,
) -> None:
    assert explains(kind, CITIZENS, strictly=True) and explains(kind, CITIZENS, strictly=False)
    assert not explains(CITIZENS, kind, strictly=False)
    assert not explains(CITIZENS, CITIZENS, strictly=False)
