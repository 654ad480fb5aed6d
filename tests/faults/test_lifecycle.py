"""Lifecycle decisions, as a table: problems + stored incidents + time -> actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from core.incidents import SCOPE_OF, IncidentClass, IncidentState, Responsible, Verdict
from core.states import ApState
from faults.correlate import correlate
from faults.lifecycle import (
    Action,
    Boot,
    Grow,
    Merge,
    Open,
    Policy,
    Reopen,
    Resolve,
    decide,
    verdict_of,
    verdict_wanted,
)
from inventory.incidents import IncidentView
from tests.faults.city import T0, THRESHOLDS, State, aps_of, sites_down, snapshot, states

AP = IncidentClass.AP_DOWN
SITE = IncidentClass.SITE_DOWN
UPLINK = IncidentClass.UPLINK_DOWN
AREA = IncidentClass.AREA_OUTAGE
POLICY = Policy(hold_s=60.0, reopen_s=900.0, lead_s=30.0)
NOW = T0 + 1000


def incident(
    id: int,
    kind: IncidentClass,
    scope: str,
    aps: Mapping[str, str],
    *,
    opened_at: float = T0 + 10,
    resolved_at: float | None = None,
    resolved_by: str | None = None,
    state: IncidentState | None = None,
) -> IncidentView:
    if state is None:
        state = IncidentState.OPEN if resolved_at is None else IncidentState.RESOLVED
    return IncidentView(
        id=id, kind=kind, scope_kind=SCOPE_OF[kind], scope_id=scope, district_id=None,
        state=state, opened_at=opened_at, updated_at=opened_at, acknowledged_at=None,
        acknowledged_by=None, resolved_at=resolved_at, resolved_by=resolved_by,
        responsible=Responsible.NOC, explanation="", verdict=None, merged_into=None,
        reopened=0, aps=dict(aps),
    )  # fmt: skip


def up_since(at: float, *aps: str, down: Mapping[str, float] | None = None) -> dict[str, State]:
    """Everything up since long ago but ``down``; ``aps`` up since ``at`` (back then)."""
    return {**states(down or {}), **{ap: (ApState.UP, at) for ap in aps}}


@dataclass
class Case:
    name: str
    given: dict[str, State]  # AP states now
    active: list[IncidentView] = field(default_factory=list)
    recent: list[IncidentView] = field(default_factory=list)
    want: list[str] = field(default_factory=list)  # the actions, in words


def words(action: Action) -> str:
    if isinstance(action, Open):
        return f"open {action.problem.kind} {action.problem.scope_id}"
    if isinstance(action, Reopen):
        return f"reopen #{action.incident_id} as {action.problem.kind} {action.problem.scope_id}"
    if isinstance(action, Grow):
        return f"grow #{action.incident_id} by {','.join(action.added)}"
    if isinstance(action, Merge):
        return f"merge #{action.child_id} into {action.into[0]} {action.into[1]}"
    return f"resolve #{action.incident_id}"


S3 = aps_of("s3")
AREA_345 = aps_of("s3", "s4", "s5")

CASES = [
    Case("nothing down, nothing stored", states(), want=[]),
    Case("a new site problem opens", states(sites_down({"s3": T0})), want=["open site_down s3"]),
    Case(
        "a problem with its incident: nothing",
        states(sites_down({"s3": T0})),
        active=[incident(1, SITE, "s3", S3)],
    ),
    Case(
        "an acknowledged incident is still the problem's",
        states(sites_down({"s3": T0})),
        active=[incident(1, SITE, "s3", S3, state=IncidentState.ACKNOWLEDGED)],
    ),
    Case(
        "an area growing by a site",
        states(sites_down({"s3": T0, "s4": T0, "s5": T0, "s6": T0 + 30})),
        active=[incident(1, AREA, "d1", AREA_345)],
        want=["grow #1 by s6-a,s6-b,s6-c"],
    ),
    Case(
        "a site turning out part of an area: merged into the new area incident",
        states(sites_down({"s3": T0, "s4": T0 + 20, "s5": T0 + 40})),
        active=[incident(1, SITE, "s3", S3)],
        want=["open area_outage d1", "merge #1 into area_outage d1"],
    ),
    Case(
        "a late site of an open area: grown and merged",
        states(sites_down({"s3": T0, "s4": T0, "s5": T0, "s6": T0 + 30})),
        active=[incident(1, AREA, "d1", AREA_345), incident(2, SITE, "s6", aps_of("s6"))],
        want=["grow #1 by s6-a,s6-b,s6-c", "merge #2 into area_outage d1"],
    ),
    Case(
        "an AP turning out part of a site",
        states(sites_down({"s3": T0})),
        active=[incident(1, AP, "s3-a", {"s3-a": "s3"})],
        want=["open site_down s3", "merge #1 into site_down s3"],
    ),
    Case(
        "sites of an area turning out behind an uplink",
        states(sites_down({"s1": T0, "s2": T0})),
        active=[incident(1, AREA, "d1", aps_of("s1", "s2"))],
        want=["open uplink_down u1", "merge #1 into uplink_down u1"],
    ),
    Case(
        "an area recovering part by part stays one incident",
        up_since(NOW - 5, "s3-a", "s3-b", "s4-a", "s4-b", down=sites_down({"s5": T0})),
        active=[incident(1, AREA, "d1", AREA_345)],
    ),
    Case(
        "a site recovering AP by AP stays one incident",
        up_since(NOW - 500, "s3-a", down={"s3-b": T0}),
        active=[incident(1, SITE, "s3", S3)],
    ),
    Case(
        "back, but not for the hold yet",
        up_since(NOW - 59, *S3),
        active=[incident(1, SITE, "s3", S3)],
    ),
    Case(
        "back for the hold: resolved",
        up_since(NOW - 60, *S3),
        active=[incident(1, SITE, "s3", S3)],
        want=["resolve #1"],
    ),
    Case(
        "an AP removed from the watch does not hold an incident open",
        up_since(NOW - 100, "s3-a"),
        active=[incident(1, SITE, "s3", {**S3, "gone-ap": "s3"})],
        want=["resolve #1"],
    ),
    Case(
        "an AP not judged any more holds it open",
        states(unknown=["s3-b"]),
        active=[incident(1, SITE, "s3", S3)],
    ),
    Case(
        "down again within the reopen window: reopened",
        states(sites_down({"s3": NOW - 30})),
        recent=[incident(7, SITE, "s3", S3, resolved_at=NOW - 600)],
        want=["reopen #7 as site_down s3"],
    ),
    Case(
        "the newest of several resolved is reopened",
        states(sites_down({"s3": NOW - 30})),
        recent=[
            incident(6, SITE, "s3", S3, resolved_at=NOW - 800),
            incident(7, SITE, "s3", S3, resolved_at=NOW - 600),
        ],
        want=["reopen #7 as site_down s3"],
    ),
    Case(
        "down again after the window: a new incident",
        states(sites_down({"s3": NOW - 30})),
        recent=[incident(7, SITE, "s3", S3, resolved_at=NOW - 901)],
        want=["open site_down s3"],
    ),
    Case(
        "resolved by hand while the outage went on: left resolved",
        states(sites_down({"s3": T0})),
        recent=[incident(7, SITE, "s3", S3, resolved_at=NOW - 100, resolved_by="ana")],
    ),
    Case(
        "resolved by hand, then down again: reopened",
        states(sites_down({"s3": NOW - 30})),
        recent=[incident(7, SITE, "s3", S3, resolved_at=NOW - 100, resolved_by="ana")],
        want=["reopen #7 as site_down s3"],
    ),
    Case(
        "a recurrence of a smaller class does not reopen a larger one",
        states(sites_down({"s3": NOW - 30})),
        recent=[incident(7, AREA, "d1", AREA_345, resolved_at=NOW - 100)],
        want=["open site_down s3"],
    ),
    Case(
        "incidents of other classes are left alone",
        states(),
        active=[incident(1, IncidentClass.SILENT_FAILURE, "s3-a", {"s3-a": "s3"})],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decision(case: Case) -> None:
    snap = snapshot(case.given, now=NOW)
    problems = correlate(snap, THRESHOLDS)
    actions = decide(problems, snap, case.active, case.recent, now=NOW, policy=POLICY)
    assert [words(a) for a in actions] == case.want


def test_growth_keeps_recovered_members_and_renews_the_explanation() -> None:
    given = up_since(NOW - 5, "s3-a", "s3-b", down=sites_down({"s4": T0, "s5": T0, "s6": T0}))
    snap = snapshot(given, now=NOW)
    problems = correlate(snap, THRESHOLDS)
    (grow,) = decide(problems, snap, [incident(1, AREA, "d1", AREA_345)], [], now=NOW,
                     policy=POLICY)  # fmt: skip
    assert isinstance(grow, Grow)
    assert dict(grow.aps) == aps_of("s3", "s4", "s5", "s6")  # s3 recovered, still a member
    assert grow.explanation == problems[0].explanation


def test_a_second_decision_on_the_applied_state_decides_nothing() -> None:
    """Apply the actions to the views by hand; deciding again changes nothing."""
    given = states(sites_down({"s3": T0, "s4": T0 + 20, "s5": T0 + 40}))
    snap = snapshot(given, now=NOW)
    problems = correlate(snap, THRESHOLDS)
    site = incident(1, SITE, "s3", S3)
    first = decide(problems, snap, [site], [], now=NOW, policy=POLICY)
    assert [words(a) for a in first] == ["open area_outage d1", "merge #1 into area_outage d1"]
    area = incident(2, AREA, "d1", AREA_345)
    merged = incident(1, SITE, "s3", S3, resolved_at=NOW)  # merged: not in recent
    assert decide(problems, snap, [area], [], now=NOW + 10, policy=POLICY) == []
    assert merged.state is IncidentState.RESOLVED


@pytest.mark.parametrize(
    ("booted_at", "seen_at", "want"),
    [
        (NOW - 120, NOW - 60, Verdict.POWER),  # booted when the power came back
        (T0 + 10 - 29, NOW - 60, Verdict.POWER),  # just inside the lead before opening
        (T0 - 86_400, NOW - 60, Verdict.PATH),  # uptime intact through the outage
        (NOW - 120, T0 - 5, None),  # a sample from before the outage says nothing
    ],
)
def test_verdict_from_uptime(booted_at: float, seen_at: float, want: Verdict | None) -> None:
    snap = snapshot(up_since(NOW - 100, *S3), now=NOW)
    site = incident(1, SITE, "s3", S3, opened_at=T0 + 10)
    boots = {ap: Boot(booted_at, seen_at) for ap in S3}
    assert verdict_of(site, snap, boots, lead_s=POLICY.lead_s) is want
    (resolve,) = decide([], snap, [site], [], now=NOW, policy=POLICY, boots=boots)
    assert isinstance(resolve, Resolve) and resolve.verdict is want
    words_of = {Verdict.POWER: "lost power", Verdict.PATH: "path to them was cut", None: "s"}
    assert words_of[want] in resolve.note


def test_verdict_by_majority_and_only_for_site_wide_classes() -> None:
    snap = snapshot(up_since(NOW - 100, *AREA_345), now=NOW)
    area = incident(1, AREA, "d1", AREA_345)
    power, path = Boot(NOW - 120, NOW - 60), Boot(T0 - 86_400, NOW - 60)
    boots = {ap: power if i < 4 else path for i, ap in enumerate(sorted(AREA_345))}
    assert verdict_of(area, snap, boots) is Verdict.POWER
    tie = {ap: power if i < 3 else path for i, ap in enumerate(sorted(AREA_345))}
    assert verdict_of(area, snap, tie) is None
    ap = incident(2, AP, "s3-a", {"s3-a": "s3"})
    (resolve,) = decide([], snap, [ap], [], now=NOW, policy=POLICY, boots=boots)
    assert isinstance(resolve, Resolve) and resolve.verdict is None


def test_boot_times_are_wanted_only_for_what_is_about_to_resolve() -> None:
    given = up_since(NOW - 100, *S3, down=sites_down({"s4": T0}))
    snap = snapshot(given, now=NOW)
    active = [
        incident(1, SITE, "s3", S3),
        incident(2, SITE, "s4", aps_of("s4")),
        incident(3, AP, "s5-a", {"s5-a": "s5"}),
    ]
    assert verdict_wanted(active, snap, now=NOW, policy=POLICY) == set(S3)


def test_an_unsettled_problem_waits_but_keeps_an_open_incident() -> None:
    now = T0 + 30
    snap = snapshot(states(sites_down({"s3": T0, "s4": T0 + 20})), now=now)
    problems = correlate(snap, THRESHOLDS)
    assert [p.settled for p in problems] == [False, False]
    assert decide(problems, snap, [], [], now=now, policy=POLICY) == []
    kept = incident(1, SITE, "s3", S3)
    assert decide(problems, snap, [kept], [], now=now, policy=POLICY) == []
