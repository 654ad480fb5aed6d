"""flapping and unexpected_reboot, judged by the pure functions of faults.behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.incidents import IncidentClass
from core.settings import FaultThresholds, Settings
from core.states import ApState
from faults.behaviour import (
    WRAP_S,
    Reachability,
    flapping,
    flips_of,
    is_wrap,
    mass_loss,
    reboot_candidates,
    reboots,
)
from faults.lifecycle import Boot
from inventory.incidents import IncidentView
from tests.faults.city import T0, aps_of, snapshot, states, stored

FLAP = IncidentClass.FLAPPING
REBOOT = IncidentClass.UNEXPECTED_REBOOT
NOW = T0 + 10_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Flapping: 4 changes in 10 min; quiet after 120 s (2 polls of 60 s); reboots
    within 10 min; hold 60 s."""
    return Settings(
        data_dir=tmp_path,
        poll_interval_s=60.0,
        incident_hold_s=60.0,
        fault_thresholds=FaultThresholds(
            flap_window_s=600.0, flap_min_changes=4, reboot_window_s=600.0
        ),
    )


def test_reachable_buckets_become_flips_and_lost_polls() -> None:
    seen = flips_of([(0, 1.0), (30, None), (60, 0.0), (120, 1.0), (180, 1.0), (240, 0.0)], 30)
    assert seen.flips == (60, 120, 240)
    assert seen.lost == (90, 270)


def test_flapping_counts_the_larger_source_and_needs_a_recent_lost_poll(
    settings: Settings,
) -> None:
    seen = snapshot(states(), now=NOW)
    flips = tuple(NOW - 500 + 60 * i for i in range(5))
    reach = {
        "s1-a": Reachability(flips=flips, lost=(NOW - 30,)),  # 5 flips, lost 30 s ago
        "s1-b": Reachability(transitions=flips[:4], lost=(NOW - 30,)),  # 4 transitions
        "s2-a": Reachability(flips=flips, lost=(NOW - 200,)),  # quiet for 200 s: stable
        "s2-b": Reachability(flips=flips[:3], lost=(NOW - 30,)),  # too few
        "s3-a": Reachability(flips=tuple(t - 400 for t in flips), lost=(NOW - 30,)),  # old
    }
    result = flapping(seen, reach, [], [], now=NOW, settings=settings)
    assert result.judged == {FLAP}
    assert [p.scope_id for p in result.problems] == ["s1-a", "s1-b"]
    first = result.problems[0]
    assert first.since == flips[0] and first.aps == {"s1-a": "s1"}
    assert "changed state 5 times in the last 10 min" in first.explanation
    assert first.evidence.startswith("answered/lost flips: ")
    assert result.problems[1].evidence.startswith("state changes: ")


def test_flapping_counts_only_changes_since_its_last_resolution(settings: Settings) -> None:
    seen = snapshot(states(), now=NOW)
    flips = tuple(NOW - 500 + 60 * i for i in range(6))
    reach = {"s1-a": Reachability(flips=flips, lost=(NOW - 10,))}
    before = [stored(1, FLAP, "s1-a", {"s1-a": "s1"}, resolved_at=NOW - 250)]
    assert flapping(seen, reach, [], before, now=NOW, settings=settings).problems == []
    earlier = [stored(1, FLAP, "s1-a", {"s1-a": "s1"}, resolved_at=NOW - 520)]
    assert len(flapping(seen, reach, [], earlier, now=NOW, settings=settings).problems) == 1


def test_flapping_recovers_when_quiet_or_steadily_down(settings: Settings) -> None:
    aps = ("s1-a", "s2-a", "s3-a", "s4-a")
    active = [stored(i, FLAP, ap, {ap: ap[:2]}) for i, ap in enumerate(aps, 1)]
    given = states({"s3-a": NOW - 300, "s4-a": NOW - 30})
    seen = snapshot(given, now=NOW)
    reach = {
        "s1-a": Reachability(lost=(NOW - 130,)),  # quiet for 130 s > 120: recovered
        "s2-a": Reachability(lost=(NOW - 100,)),  # lost 100 s ago: still flapping
        "s3-a": Reachability(lost=(NOW - 5,)),  # down for 300 s: stopped flapping
        "s4-a": Reachability(lost=(NOW - 5,)),  # down 30 s: still flapping
    }
    result = flapping(seen, reach, active, [], now=NOW, settings=settings)
    assert result.problems == []
    assert result.recovered == {(FLAP, "s1-a"), (FLAP, "s3-a")}
    assert "down for 300 s" in result.notes[(FLAP, "s3-a")]


UP_LONG = T0  # the collector has judged every AP up since T0


def candidates(
    settings: Settings,
    boots: dict[str, Boot],
    *,
    given: dict[str, tuple[ApState, float]] | None = None,
    windows: dict[str, list[tuple[float, float]]] | None = None,
    active: list[IncidentView] | None = None,
    recent: list[IncidentView] | None = None,
) -> list[str]:
    seen = snapshot(given or states(up_since=UP_LONG), now=NOW)
    return reboot_candidates(
        seen, boots, windows or {}, active or [], recent or [],
        now=NOW, settings=settings, lead_s=30.0,
    )  # fmt: skip


def test_a_recent_boot_of_an_ap_kept_up_is_a_candidate(settings: Settings) -> None:
    boots = {
        "s1-a": Boot(booted_at=NOW - 100, seen_at=NOW - 40),  # reboot 100 s ago
        "s1-b": Boot(booted_at=NOW - 900, seen_at=NOW - 40),  # older than the window
        "s2-a": Boot(booted_at=T0 - 86_400, seen_at=NOW - 40),  # up for days
    }
    assert candidates(settings, boots) == ["s1-a"]


def test_boots_that_are_explained_are_not_candidates(settings: Settings) -> None:
    boot = Boot(booted_at=NOW - 100, seen_at=NOW - 40)
    boots = dict.fromkeys(["s1-a", "s2-a", "s3-a", "s4-a", "s5-a", "s6-a"], boot)
    given = {**states(up_since=UP_LONG), "s2-a": (ApState.UP, NOW - 50),  # was down across it
             "s6-a": (ApState.DOWN, NOW - 20)}  # fmt: skip
    windows = {"s3-a": [(NOW - 200, NOW - 50)]}  # planned work
    active = [stored(1, IncidentClass.SITE_DOWN, "s4", aps_of("s4"), opened_at=NOW - 110)]
    recent = [stored(2, REBOOT, "s5-a", {"s5-a": "s5"}, resolved_at=NOW - 30)]  # already told
    assert (
        candidates(settings, boots, given=given, windows=windows, active=active, recent=recent)
        == ["s1-a"]
    )  # fmt: skip
    back = {**states(up_since=UP_LONG), "s1-a": (ApState.UP, NOW - 100.3)}
    assert candidates(settings, {"s1-a": boot}, given=back) == ["s1-a"]
    seen = reboot_candidates(
        snapshot(back, now=NOW), {"s1-a": boot}, {}, [], [],
        now=NOW, settings=settings, lead_s=30.0, slack_s=60.0,
    )  # fmt: skip
    assert seen == []  # up since 0.3 s before its boot: it came back by booting
    told = [stored(3, REBOOT, "s1-a", {"s1-a": "s1"})]
    assert candidates(settings, {"s1-a": boot}, active=told) == []


def test_a_new_boot_after_the_last_resolution_is_a_candidate_again(settings: Settings) -> None:
    recent = [stored(2, REBOOT, "s1-a", {"s1-a": "s1"}, resolved_at=NOW - 300)]
    boots = {"s1-a": Boot(booted_at=NOW - 100, seen_at=NOW - 40)}
    assert candidates(settings, boots, recent=recent) == ["s1-a"]


def test_a_sysuptime_wrap_is_not_a_reboot() -> None:
    boot = Boot(booted_at=NOW - 20, seen_at=NOW)
    # the sample 60 s before: 40 s short of the wrap, so it wrapped 20 s ago
    assert is_wrap(boot, (NOW - 80, WRAP_S - 60), tolerance=5)
    assert not is_wrap(boot, (NOW - 80, 86_400.0 * 30), tolerance=5)
    assert not is_wrap(boot, None, tolerance=5)


def test_reboots_open_for_candidates_that_are_no_wrap_and_resolve_after_the_hold(
    settings: Settings,
) -> None:
    seen = snapshot(states(up_since=UP_LONG), now=NOW)
    boots = {
        "s1-a": Boot(booted_at=NOW - 100, seen_at=NOW - 40),
        "s1-b": Boot(booted_at=NOW - 20, seen_at=NOW),
        "s2-a": Boot(booted_at=NOW - 100, seen_at=NOW - 40),
        "s2-b": Boot(booted_at=NOW - 30, seen_at=NOW),
    }
    previous = {"s1-b": (NOW - 80, WRAP_S - 60)}
    active = [stored(1, REBOOT, "s2-a", {"s2-a": "s2"}), stored(2, REBOOT, "s2-b", {"s2-b": "s2"})]
    result = reboots(
        seen, boots, ["s1-a", "s1-b"], previous, active, now=NOW, settings=settings, tolerance=5
    )
    assert result.judged == {REBOOT}
    (found,) = result.problems
    assert (found.kind, found.scope_id, found.since) == (REBOOT, "s1-a", NOW - 100)
    assert "rebooted at" in found.explanation and "uptime 60 s" in found.evidence
    assert result.recovered == {(REBOOT, "s2-a")}  # s2-b booted again 30 s ago


def test_a_poll_lost_by_many_aps_at_once_is_a_mass_loss_not_flapping() -> None:
    """Twelve APs of 100 lose the poll of the bucket at 60 together (the collector or
    its network); one AP alone loses the one at 120 (that AP)."""
    polls = {f"ap{n:02d}": [(0.0, 1.0), (60.0, 0.0), (120.0, 1.0)] for n in range(12)}
    polls["ap99"] = [(0.0, 1.0), (60.0, 1.0), (120.0, 0.0)]
    assert mass_loss(polls, watched=100) == {60.0}
    assert mass_loss(polls, watched=1000) == frozenset()  # 12 is under 5 % of 1,000
    few = {ap: values for ap, values in polls.items() if ap < "ap09"}  # 9 of them
    assert mass_loss(few, watched=100) == frozenset()  # under the 10-AP floor
