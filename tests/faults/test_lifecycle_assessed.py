"""Lifecycle decisions for the classes an Assessment judges (metric and behaviour), and
maintenance, as a table: problems + assessments + stored incidents -> actions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from core.incidents import IncidentClass
from core.states import ApState
from faults.assessment import Assessment
from faults.correlate import Key, Problem, correlate
from faults.lifecycle import Action, Grow, Merge, Open, Policy, Reopen, Resolve, decide
from inventory.incidents import IncidentView
from tests.faults.city import T0, THRESHOLDS, State, aps_of, snapshot, states, stored

AP = IncidentClass.AP_DOWN
SITE = IncidentClass.SITE_DOWN
SILENT = IncidentClass.SILENT_FAILURE
FLAP = IncidentClass.FLAPPING
BACKHAUL = IncidentClass.BACKHAUL_SATURATED
POLICY = Policy(hold_s=60.0, reopen_s=900.0, lead_s=30.0)
NOW = T0 + 1000


def problem(kind: IncidentClass, scope: str, *aps: str, since: float = T0) -> Problem:
    members = aps or (scope,)
    return Problem(
        kind=kind,
        scope_id=scope,
        district_id="d1",
        aps={a: a.split("-")[0] for a in members},
        since=since,
        explanation=f"{kind} {scope}",
        evidence="samples",
    )


def judged(
    *classes: IncidentClass, problems: list[Problem] | None = None, recovered: tuple[Key, ...] = ()
) -> Assessment:
    return Assessment(
        frozenset(classes),
        problems or [],
        frozenset(recovered),
        {key: f"{key[0]} gone" for key in recovered},
    )


@dataclass
class Case:
    name: str
    assessments: list[Assessment]
    active: list[IncidentView] = field(default_factory=list)
    recent: list[IncidentView] = field(default_factory=list)
    given: dict[str, State] = field(default_factory=states)
    maintenance: tuple[str, ...] = ()
    want: list[str] = field(default_factory=list)


def words(action: Action) -> str:
    if isinstance(action, Open):
        return f"open {action.problem.kind} {action.problem.scope_id}"
    if isinstance(action, Reopen):
        return f"reopen #{action.incident_id}"
    if isinstance(action, Grow):
        return f"grow #{action.incident_id} by {','.join(action.added)}"
    if isinstance(action, Merge):
        return f"merge #{action.child_id} into {action.into[0]} {action.into[1]}"
    assert isinstance(action, Resolve)
    return f"resolve #{action.incident_id}: {action.note}"


SILENT_S1 = problem(SILENT, "s1-a")
FLAP_S3 = problem(FLAP, "s3-a")

CASES = [
    Case("a judged problem opens", [judged(SILENT, problems=[SILENT_S1])],
         want=["open silent_failure s1-a"]),
    Case("a problem of a class not judged is ignored", [judged(FLAP, problems=[SILENT_S1])]),
    Case("a present problem keeps its incident, no action",
         [judged(SILENT, problems=[SILENT_S1])], active=[stored(1, SILENT, "s1-a", aps_of("s1"))]),
    Case("an unsettled problem waits",
         [judged(SILENT, problems=[replace(SILENT_S1, settled=False)])]),
    Case("a problem that grows adds its APs",
         [judged(BACKHAUL, problems=[problem(BACKHAUL, "u1", "s1-a", "s1-b", "s2-a")])],
         active=[stored(1, BACKHAUL, "u1", {"s1-a": "s1", "s1-b": "s1"})],
         want=["grow #1 by s2-a"]),
    Case("recovered resolves with the judge's note",
         [judged(SILENT, recovered=((SILENT, "s1-a"),))],
         active=[stored(1, SILENT, "s1-a", {"s1-a": "s1"})],
         want=["resolve #1: silent_failure gone"]),
    Case("not recovered, not present: kept (the judge did not say recovered)",
         [judged(SILENT)], active=[stored(1, SILENT, "s1-a", {"s1-a": "s1"})]),
    Case("a class nobody judged this cycle is untouched, even with its AP gone",
         [], active=[stored(1, SILENT, "s1-a", {"s1-a": "s1"})],
         given={k: v for k, v in states().items() if k != "s1-a"}),
    Case("a recurrence within the window reopens",
         [judged(SILENT, problems=[replace(SILENT_S1, since=NOW - 30)])],
         recent=[stored(1, SILENT, "s1-a", {"s1-a": "s1"}, resolved_at=NOW - 100)],
         want=["reopen #1"]),
    Case("after the window a new incident opens",
         [judged(SILENT, problems=[SILENT_S1])],
         recent=[stored(1, SILENT, "s1-a", {"s1-a": "s1"}, resolved_at=NOW - 1000)],
         want=["open silent_failure s1-a"]),
    Case("resolved by hand while it went on: left resolved",
         [judged(SILENT, problems=[replace(SILENT_S1, since=NOW - 300)])],
         recent=[stored(1, SILENT, "s1-a", {"s1-a": "s1"}, resolved_at=NOW - 100,
                        resolved_by="ana")]),
    Case("flapping merges its AP's ap_down and none opens for it",
         [judged(FLAP, problems=[FLAP_S3])],
         active=[stored(1, AP, "s3-a", {"s3-a": "s3"})],
         given=states({"s3-a": NOW - 20}),
         want=["open flapping s3-a", "merge #1 into flapping s3-a"]),
    Case("a flapping AP judged down in the same cycle: only the flapping opens",
         [judged(FLAP, problems=[FLAP_S3])], given=states({"s3-a": NOW - 20}),
         want=["open flapping s3-a"]),
    Case("no ap_down opens while its AP's flapping is active (not judged this cycle)",
         [], active=[stored(1, FLAP, "s3-a", {"s3-a": "s3"})],
         given=states({"s3-a": NOW - 20})),
    Case("flapping that ends in a steady down: the ap_down opens as it resolves",
         [judged(FLAP, recovered=((FLAP, "s3-a"),))],
         active=[stored(1, FLAP, "s3-a", {"s3-a": "s3"})], given=states({"s3-a": NOW - 200}),
         want=["open ap_down s3-a", "resolve #1: flapping gone"]),
    Case("a site_down does not merge a flapping incident (another kind of problem)",
         [], active=[stored(1, FLAP, "s3-a", {"s3-a": "s3"})],
         given=states({"s3-a": NOW - 20, "s3-b": NOW - 20}), want=["open site_down s3"]),
    Case("an outage whose APs are all under maintenance resolves saying so",
         [], active=[stored(1, SITE, "s3", aps_of("s3"))],
         given=states({"s3-a": NOW - 20, "s3-b": NOW - 20}), maintenance=("s3-a", "s3-b"),
         want=["resolve #1: all 2 of its APs are under a maintenance window: planned work, "
               "not a recovery"]),
    Case("a judged incident of an AP under maintenance resolves saying so",
         [judged(SILENT)], active=[stored(1, SILENT, "s1-a", {"s1-a": "s1"})],
         maintenance=("s1-a",),
         want=["resolve #1: its AP is under a maintenance window: planned work, not a recovery"]),
    Case("an outage with one AP under maintenance and the other up long: answering again",
         [], active=[stored(1, SITE, "s3", aps_of("s3"))], maintenance=("s3-a",),
         want=["resolve #1: answering again for 60 s"]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decide_with_assessments(case: Case) -> None:
    hidden = set(case.maintenance) | (set(states()) - set(case.given))
    seen = replace(
        snapshot({**states(), **case.given}, now=NOW, hidden=hidden),
        maintenance=frozenset(case.maintenance),
    )
    problems = correlate(seen, THRESHOLDS)
    actions = decide(
        problems,
        seen,
        case.active,
        case.recent,
        now=NOW,
        policy=POLICY,
        assessments=case.assessments,
    )
    assert [words(a) for a in actions] == case.want


def test_a_second_cycle_on_the_same_state_decides_nothing() -> None:
    seen = snapshot(states({"s3-a": NOW - 20}), now=NOW)
    flap = judged(FLAP, problems=[FLAP_S3])
    active = [stored(2, FLAP, "s3-a", {"s3-a": "s3"})]
    assert decide([], seen, active, [], now=NOW, policy=POLICY, assessments=[flap]) == []
    problems = correlate(seen, THRESHOLDS)
    assert decide(problems, seen, active, [], now=NOW, policy=POLICY, assessments=[flap]) == []


def test_an_up_ap_under_maintenance_holds_no_outage_open() -> None:
    given = {**states(), "s3-a": (ApState.DOWN, NOW - 500)}
    seen = replace(snapshot(given, now=NOW, hidden={"s3-a"}), maintenance=frozenset({"s3-a"}))
    assert correlate(seen, THRESHOLDS) == []
