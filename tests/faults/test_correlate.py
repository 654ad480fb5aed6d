"""Correlation rules, as a table of scenarios over the small city (tests/faults/city.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.incidents import IncidentClass
from core.states import ApState
from faults.correlate import Thresholds, correlate
from tests.faults.city import (
    ALL_APS,
    T0,
    THRESHOLDS,
    aps_of,
    sites_down,
    snapshot,
    states,
)

AP = IncidentClass.AP_DOWN
SITE = IncidentClass.SITE_DOWN
UPLINK = IncidentClass.UPLINK_DOWN
AREA = IncidentClass.AREA_OUTAGE


@dataclass
class Case:
    name: str
    down: dict[str, float]
    want: list[
        tuple[IncidentClass, str, str | None, tuple[str, ...]]
    ]  # kind, scope, district, sites
    unknown: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=lambda: THRESHOLDS)


CASES = [
    Case("all up", {}, []),
    Case("one AP of a site", {"s3-a": T0}, [(AP, "s3-a", "d1", ("s3",))]),
    Case("a whole site", sites_down({"s3": T0}), [(SITE, "s3", "d1", ("s3",))]),
    Case("the only AP of a site", sites_down({"s9": T0}), [(SITE, "s9", "d2", ("s9",))]),
    Case(
        "two APs of a three-AP site",
        {"s10-a": T0, "s10-b": T0},
        [(AP, "s10-a", "d2", ("s10",)), (AP, "s10-b", "d2", ("s10",))],
    ),
    Case(
        "the rest of a site not judged yet: still one AP",
        {"s3-a": T0},
        [(AP, "s3-a", "d1", ("s3",))],
        unknown=("s3-b",),
    ),
    Case(
        "every site behind an uplink, across districts",
        sites_down({"s7": T0, "s8": T0 + 500, "s11": T0 + 20}),
        [(UPLINK, "u2", None, ("s11", "s7", "s8"))],
    ),
    Case(
        "an uplink within one district keeps it",
        sites_down({"s1": T0, "s2": T0}),
        [(UPLINK, "u1", "d1", ("s1", "s2"))],
    ),
    Case(
        "one site of an uplink: a site",
        sites_down({"s7": T0}),
        [(SITE, "s7", "d2", ("s7",))],
    ),
    Case(
        "an uplink below its minimum of sites: sites",
        sites_down({"s7": T0, "s8": T0, "s11": T0}),
        [(SITE, "s11", "d3", ("s11",)), (SITE, "s7", "d2", ("s7",)), (SITE, "s8", "d3", ("s8",))],
        thresholds=Thresholds(uplink_min_sites=4, area_min_sites=3, area_window_s=60),
    ),
    Case(
        "three sites of a district within the window",
        sites_down({"s3": T0, "s4": T0 + 20, "s5": T0 + 40}),
        [(AREA, "d1", "d1", ("s3", "s4", "s5"))],
    ),
    Case(
        "a chain of sites, each within the window of the previous one",
        sites_down({"s3": T0, "s4": T0 + 50, "s5": T0 + 100, "s6": T0 + 150}),
        [(AREA, "d1", "d1", ("s3", "s4", "s5", "s6"))],
    ),
    Case(
        "sites of a district too far apart: sites",
        sites_down({"s3": T0, "s4": T0 + 100, "s5": T0 + 200}),
        [(SITE, "s3", "d1", ("s3",)), (SITE, "s4", "d1", ("s4",)), (SITE, "s5", "d1", ("s5",))],
    ),
    Case(
        "an area outage and a late site beside it",
        sites_down({"s3": T0, "s4": T0 + 10, "s5": T0 + 20, "s6": T0 + 900}),
        [(AREA, "d1", "d1", ("s3", "s4", "s5")), (SITE, "s6", "d1", ("s6",))],
    ),
    Case(
        "the uplink explains its sites first, the area takes the rest",
        sites_down({"s1": T0, "s2": T0, "s3": T0, "s4": T0, "s5": T0}),
        [(UPLINK, "u1", "d1", ("s1", "s2")), (AREA, "d1", "d1", ("s3", "s4", "s5"))],
    ),
    Case(
        "sites of an uplink count toward no area",
        sites_down({"s1": T0, "s2": T0, "s3": T0}),
        [(UPLINK, "u1", "d1", ("s1", "s2")), (SITE, "s3", "d1", ("s3",))],
    ),
    Case(
        "a whole city at once: each problem the largest that explains it",
        {
            **sites_down(
                dict.fromkeys(("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s11"), T0)
            ),
            "s10-a": T0,
        },
        [
            (UPLINK, "u1", "d1", ("s1", "s2")),
            (UPLINK, "u2", None, ("s11", "s7", "s8")),
            (AREA, "d1", "d1", ("s3", "s4", "s5", "s6")),
            (AP, "s10-a", "d2", ("s10",)),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_correlation(case: Case) -> None:
    snap = snapshot(states(case.down, unknown=case.unknown), now=T0 + 1000)
    problems = correlate(snap, case.thresholds)
    got = [
        (p.kind, p.scope_id, p.district_id, tuple(sorted(set(p.aps.values())))) for p in problems
    ]
    assert got == case.want
    for p in problems:
        if p.kind is not AP:
            assert dict(p.aps) == aps_of(*set(p.aps.values()))  # every AP of its sites
        assert p.since == min(case.down[a] for a in p.aps)


def test_explanations_say_what_and_where_in_plain_words() -> None:
    down = {
        **sites_down({"s3": T0, "s4": T0 + 30, "s5": T0 + 90}),
        **sites_down({"s7": T0, "s8": T0, "s11": T0}),
        "s10-a": T0,
    }
    snap = snapshot(states(down), now=T0 + 1000)
    text = {p.kind: p.explanation for p in correlate(snap, Thresholds(2, 3, 60))}
    assert text[AREA] == "3 sites in Bekasi Timur stopped answering within 90 s: likely power cut"
    assert text[UPLINK] == (
        "All 3 sites behind uplink Ring-2 (Biznet) stopped answering together, across "
        "2 districts: likely the uplink"
    )
    assert text[AP] == (
        "AP AP s10-a (s10-a) at Site s10 (s10) stopped answering while 2 other APs there "
        "still answer: the AP itself (power, crash or cable)"
    )
    site = correlate(snapshot(states(sites_down({"s9": T0})), now=T0), THRESHOLDS)[0]
    assert site.explanation == (
        "The only AP of site Site s9 (s9) stopped answering: power or backhaul at the site"
    )
    assert site.evidence == "down since: s9-a 00:00:00Z"


def test_evidence_names_a_few_aps_and_counts_the_rest() -> None:
    down = sites_down({s: T0 + i for i, s in enumerate(("s3", "s4", "s5", "s6"))})
    (area,) = correlate(snapshot(states(down), now=T0), Thresholds(2, 2, 60))
    assert area.evidence.startswith("down since: s3-a 00:00:00Z, s3-b 00:00:00Z, s4-a 00:00:01Z")
    assert area.evidence.endswith("s6-c 00:00:03Z")
    district = sites_down(dict.fromkeys(("s1", "s2", "s3", "s4", "s5", "s6"), T0))
    (wide,) = correlate(snapshot(states(district), now=T0), Thresholds(3, 2, 60))
    assert len(wide.aps) == 13
    assert wide.evidence.endswith("s6-b 00:00:00Z and 1 more")


@pytest.mark.parametrize(
    ("name", "down", "polled", "now", "want"),
    [
        ("an AP whose siblings were polled since", {"s10-a": T0}, {"s10-b": T0, "s10-c": T0 + 1},
         T0 + 5, [("s10-a", True)]),
        ("an AP whose sibling was not polled since", {"s10-a": T0}, {"s10-b": T0 - 1},
         T0 + 5, [("s10-a", False)]),
        ("a lone site", sites_down({"s3": T0}), {}, T0 + 5, [("s3", True)]),
        ("two sites of a district within the window", sites_down({"s3": T0, "s4": T0 + 30}),
         {}, T0 + 35, [("s3", False), ("s4", False)]),
        ("two sites of a district, the window over", sites_down({"s3": T0, "s4": T0 + 30}),
         {}, T0 + 60, [("s3", True), ("s4", False)]),
        ("two sites of a district far apart", sites_down({"s3": T0, "s4": T0 + 61}),
         {}, T0 + 62, [("s3", True), ("s4", True)]),
        ("two sites of an uplink, two districts", sites_down({"s7": T0, "s8": T0 + 5}),
         {}, T0 + 10, [("s7", False), ("s8", False)]),
        ("two sites of an uplink that a third site still answers through",
         sites_down({"s7": T0, "s8": T0 + 5}), {"s11-a": T0 + 6}, T0 + 10,
         [("s7", True), ("s8", True)]),
        ("sites of other districts and uplinks", sites_down({"s3": T0, "s8": T0, "s9": T0}),
         {}, T0 + 10, [("s3", True), ("s8", True), ("s9", True)]),
    ],
)  # fmt: skip
def test_a_problem_that_may_still_grow_is_unsettled(
    name: str,
    down: dict[str, float],
    polled: dict[str, float],
    now: float,
    want: list[tuple[str, bool]],
) -> None:
    snap = snapshot(states(down), now=now, polled=polled)
    assert [(p.scope_id, p.settled) for p in correlate(snap, THRESHOLDS)] == want


def test_disabled_aps_are_not_watched() -> None:
    """A site whose only other AP is disabled is down when its watched AP is."""
    snap = snapshot(states({"s3-a": T0}), now=T0, hidden=["s3-b"])
    (problem,) = correlate(snap, THRESHOLDS)
    assert (problem.kind, problem.scope_id, dict(problem.aps)) == (SITE, "s3", {"s3-a": "s3"})


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(sorted(ALL_APS)),
        st.tuples(st.sampled_from(list(ApState)), st.floats(T0, T0 + 600)),
    )
)
def test_every_down_ap_in_exactly_one_problem(changed: dict[str, tuple[ApState, float]]) -> None:
    given_states = {**states(), **changed}
    snap = snapshot(given_states, now=T0 + 600)
    problems = correlate(snap, THRESHOLDS)
    members = [ap for p in problems for ap in p.aps]
    down = {ap for ap, (state, _) in given_states.items() if state is ApState.DOWN}
    assert sorted(members) == sorted(down)
    assert len({p.key for p in problems}) == len(problems)
    assert correlate(snap, THRESHOLDS) == problems  # the same snapshot, the same problems
