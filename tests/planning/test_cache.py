"""planning.cache.CoverageCache: what is kept under which key, computed once per key.

The analysis functions are replaced by counting fakes (their real versions are tested in
their own modules): what the cache promises is which calls reach them, with which
geometry, and that a result comes back from the cache as the very same object. The
geometry is the real :func:`planning.geometry.city_geometry`, counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from core.errors import PlanningError
from planning import analysis, gaps, geometry, suggestions, whatif
from planning.cache import CoverageCache
from planning.geometry import CityGeometry
from planning.inputs import CoverageInputs
from planning.results import NewSite
from tests.planning.conftest import MetricCity

WAIT_S = 10.0  # bound on every wait for another thread; never reached when all is well


class Calls:
    """The calls that reached each replaced function, with the geometry they were given."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.geometries: list[CityGeometry] = []
        self.hooks: dict[str, Callable[[], None]] = {}

    def fake(self, name: str) -> Callable[..., object]:
        def called(inputs: CoverageInputs, geo: CityGeometry, **kwargs: Any) -> object:
            self.count[name] += 1
            self.geometries.append(geo)
            if name in self.hooks:
                self.hooks[name]()
            return (name, inputs.live_key, tuple(sorted(kwargs.items())), object())

        return called


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    found = Calls()
    real = geometry.city_geometry

    def counted(inputs: CoverageInputs) -> CityGeometry:
        found.count["geometry"] += 1
        return real(inputs)

    monkeypatch.setattr(geometry, "city_geometry", counted)
    monkeypatch.setattr(analysis, "coverage_report", found.fake("report"))
    monkeypatch.setattr(gaps, "find_gaps", found.fake("gaps"))
    monkeypatch.setattr(suggestions, "suggest", found.fake("suggest"))
    monkeypatch.setattr(whatif, "what_if", found.fake("what_if"))
    yield found


@pytest.fixture
def inputs(city: MetricCity) -> CoverageInputs:
    """A square district, three sites (one down), two demand points, one candidate."""
    return city.inputs(
        districts=[city.square("d1", 1000)],
        sites=[
            city.site("s1", -200, 0, 100),
            city.site("s2", 200, 0, 100),
            city.site("s3", 0, 300, 80, live=False),
        ],
        demand=[city.spot("p1", 0, 0, 5), city.spot("p2", 400, 400, 2)],
        candidates=[city.candidate("c1", 300, 300, 60)],
    )


def with_live(inputs: CoverageInputs, site: str, live: bool) -> CoverageInputs:
    sites = tuple(replace(s, live=live) if s.id == site else s for s in inputs.sites)
    return replace(inputs, sites=sites)


def test_a_second_call_is_served_from_the_cache(calls: Calls, inputs: CoverageInputs) -> None:
    cache = CoverageCache()
    first = cache.report(inputs)
    assert cache.report(inputs) is first
    assert cache.report(replace(inputs)) is first  # an equal picture loaded again
    assert calls.count == {"geometry": 1, "report": 1}
    assert calls.geometries == [cache.geometry(inputs)]
    assert calls.count["geometry"] == 1


def test_a_live_change_recomputes_the_report_not_the_geometry(
    calls: Calls, inputs: CoverageInputs
) -> None:
    cache = CoverageCache()
    before = cache.report(inputs)
    cut = with_live(inputs, "s1", False)
    after = cache.report(cut)
    assert after is not before and after[1] == cut.live_key  # type: ignore[index]
    assert calls.count == {"geometry": 1, "report": 2}
    assert calls.geometries[0] is calls.geometries[1]
    # Recovery: the earlier state is still kept.
    assert cache.report(with_live(cut, "s1", True)) is before
    assert calls.count["report"] == 2


def test_an_inventory_change_recomputes_both(calls: Calls, inputs: CoverageInputs) -> None:
    cache = CoverageCache()
    cache.report(inputs)
    bigger = replace(
        inputs, sites=tuple(replace(s, radius_m=150) if s.id == "s2" else s for s in inputs.sites)
    )
    cache.report(bigger)
    assert calls.count == {"geometry": 2, "report": 2}
    assert calls.geometries[0] is not calls.geometries[1]
    assert calls.geometries[1].site_radius.tolist() == [100, 150, 80]


def test_gaps_keyed_by_live_state_and_arguments(calls: Calls, inputs: CoverageInputs) -> None:
    cache = CoverageCache()
    everything = cache.gaps(inputs)
    assert cache.gaps(inputs, kind=None, district=None, limit=None) is everything
    faults = cache.gaps(inputs, kind="fault")
    assert faults is not everything and cache.gaps(inputs, kind="fault") is faults
    assert cache.gaps(inputs, kind="fault", district="d1", limit=5)[2] == (  # type: ignore[index]
        ("district", "d1"),
        ("kind", "fault"),
        ("limit", 5),
    )
    cache.gaps(with_live(inputs, "s3", True), kind="fault")
    assert calls.count == {"geometry": 1, "gaps": 4}


def test_suggestions_keyed_by_design_and_arguments(calls: Calls, inputs: CoverageInputs) -> None:
    cache = CoverageCache()
    first = cache.suggestions(inputs, k=1, method="optimal", time_limit_s=30.0)
    # The live state does not change what new sites would add to the design.
    cut = with_live(inputs, "s1", False)
    assert cache.suggestions(cut, k=1, method="optimal", time_limit_s=30.0) is first
    cache.suggestions(inputs, k=2, method="optimal", time_limit_s=30.0)
    cache.suggestions(inputs, k=1, method="greedy", time_limit_s=30.0)
    cache.suggestions(inputs, k=1, method="optimal", time_limit_s=5.0)
    assert calls.count == {"geometry": 1, "suggest": 4}
    moved = replace(inputs, candidates=(replace(inputs.candidates[0], radius_m=90),))
    cache.suggestions(moved, k=1, method="optimal", time_limit_s=30.0)
    assert calls.count == {"geometry": 2, "suggest": 5}


def test_what_if_is_not_kept_but_uses_the_cached_geometry(
    calls: Calls, inputs: CoverageInputs
) -> None:
    cache = CoverageCache()
    added = (NewSite("n1", inputs.sites[0].lat, inputs.sites[0].lon, 50.0),)
    one = cache.what_if(inputs, fail=["s1"])
    two = cache.what_if(inputs, fail=["s1"])
    three = cache.what_if(inputs, remove=["s2"], add=added, max_points=10)
    assert one is not two
    assert three[2] == (  # type: ignore[index]
        ("add", added),
        ("fail", ()),
        ("max_points", 10),
        ("remove", ["s2"]),
    )
    assert calls.count == {"geometry": 1, "what_if": 3}
    assert len({id(g) for g in calls.geometries}) == 1


def test_the_oldest_entry_goes_first(calls: Calls, inputs: CoverageInputs) -> None:
    cache = CoverageCache(max_entries=2)
    states = [inputs, with_live(inputs, "s1", False), with_live(inputs, "s2", False)]
    a, b = cache.report(states[0]), cache.report(states[1])
    assert cache.report(states[0]) is a  # now the most recent: states[1] is the oldest
    cache.report(states[2])
    assert cache.report(states[0]) is a
    assert cache.report(states[1]) is not b  # evicted, computed again
    assert calls.count == {"geometry": 1, "report": 4}
    with pytest.raises(ValueError):
        CoverageCache(max_entries=0)


def test_a_failure_is_not_kept(calls: Calls, inputs: CoverageInputs) -> None:
    cache = CoverageCache()
    failures = iter([PlanningError("k = 3 but only 1 candidate place")])

    def fail_once() -> None:
        for error in failures:
            raise error

    calls.hooks["suggest"] = fail_once
    with pytest.raises(PlanningError, match="only 1 candidate"):
        cache.suggestions(inputs, k=3, method="optimal", time_limit_s=1.0)
    kept = cache.suggestions(inputs, k=3, method="optimal", time_limit_s=1.0)
    assert cache.suggestions(inputs, k=3, method="optimal", time_limit_s=1.0) is kept
    assert calls.count == {"geometry": 1, "suggest": 2}


def test_clear_forgets_everything(calls: Calls, inputs: CoverageInputs) -> None:
    cache = CoverageCache()
    first = cache.report(inputs)
    cache.clear()
    assert cache.report(inputs) is not first
    assert calls.count == {"geometry": 2, "report": 2}


def test_concurrent_callers_of_a_missing_key_compute_once(
    calls: Calls, inputs: CoverageInputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first caller computes; the second, arriving meanwhile, waits for its result."""
    cache = CoverageCache()
    entered, release, second_waits = threading.Event(), threading.Event(), threading.Event()

    def block() -> None:
        entered.set()
        assert release.wait(WAIT_S)

    calls.hooks["report"] = block

    class Watched(threading.Event):
        """The slot's done-event, telling the test when someone starts waiting on it."""

        def wait(self, timeout: float | None = None) -> bool:
            second_waits.set()
            return super().wait(timeout)

    real_event = threading.Event
    monkeypatch.setattr(threading, "Event", Watched)  # the slot made by the first caller
    results: dict[str, object] = {}

    def ask(name: str) -> None:
        results[name] = cache.report(inputs)

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    assert entered.wait(WAIT_S)
    monkeypatch.setattr(threading, "Event", real_event)
    second = threading.Thread(target=ask, args=("second",))
    second.start()
    assert second_waits.wait(WAIT_S)  # the second caller found the slot and waits on it
    release.set()
    first.join(WAIT_S)
    second.join(WAIT_S)
    assert results["first"] is results["second"]
    assert calls.count == {"geometry": 1, "report": 1}


def test_different_keys_compute_in_parallel(calls: Calls, inputs: CoverageInputs) -> None:
    """A slow suggestion does not hold up a report: the lock is not held while computing."""
    cache = CoverageCache()
    cache.geometry(inputs)
    entered, release = threading.Event(), threading.Event()

    def block() -> None:
        entered.set()
        assert release.wait(WAIT_S)

    calls.hooks["suggest"] = block
    solver = threading.Thread(
        target=lambda: cache.suggestions(inputs, k=1, method="optimal", time_limit_s=30.0)
    )
    solver.start()
    assert entered.wait(WAIT_S)
    cache.report(inputs)  # would deadlock (and fail the join below) if it waited
    release.set()
    solver.join(WAIT_S)
    assert not solver.is_alive()
    assert calls.count == {"geometry": 1, "suggest": 1, "report": 1}
