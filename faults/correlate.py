"""From one snapshot, the problems now: one per real problem, not one per AP.

Pure (no database, no clock): the same snapshot always gives the same problems, which is
what lets the engine run a cycle twice, or after a restart, without duplicating
anything. Correlation follows the topology the way Zabbix trigger dependencies and
OpenNMS situations do: a parent's failure explains its children's, so each down AP ends
up in exactly one problem, the largest that explains it:

1. A site whose every watched AP is down is one site problem; otherwise each down AP is
   an ``ap_down`` of its own (the site still answers, so the AP is the fault).
2. An uplink all of whose sites are down (at least ``uplink_min_sites``) is one
   ``uplink_down`` over those sites, across districts: their site problems are absorbed.
3. Of the remaining down sites, those of one district that went down within
   ``area_window_s`` of one another (chained), at least ``area_min_sites`` of them, are
   one ``area_outage`` (likely power): their site problems are absorbed.
4. What is left stays a ``site_down``.

An AP in state ``unknown`` (never judged) is neither up nor down: a site counts as down
only when every watched AP there is down, because an AP not yet judged may well answer.

A problem may be *unsettled*: what it is could still change with the next polls, so the
lifecycle does not open an incident for it yet (it still keeps one already open). That
is what keeps one real problem from showing up first as its parts (an ``ap_down`` per
AP, a ``site_down`` per site) that are merged a minute later:

- an ``ap_down`` while another AP of its site, still counted as answering, has not been
  polled since this one went down (the collector polls the APs of a site at different
  moments of its interval: the whole site may be going);
- a ``site_down`` while other sites of its district or of its uplink went down within
  ``area_window_s`` of it and that window is not over (an area outage or an uplink cut
  may be forming). Only coincidences wait; a lone site is settled at once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.incidents import IncidentClass
from core.settings import Settings
from core.states import ApState
from faults.snapshot import Snapshot
from faults.words import ap_label, clock, district_label, plural, site_label

#: A problem's identity, shared with the incident that carries it: (class, scope id).
Key = tuple[IncidentClass, str]

#: How much an outage class explains: a problem absorbs (merges) smaller incidents it
#: overlaps and is absorbed by a larger open incident that already holds all its APs.
#: Only these classes come from the AP states; the others (faults.assessment) are judged
#: from metrics and behaviour, and only ``flapping`` explains another (an AP's ap_down:
#: faults.lifecycle).
RANK: dict[IncidentClass, int] = {
    IncidentClass.AP_DOWN: 0,
    IncidentClass.SITE_DOWN: 1,
    IncidentClass.AREA_OUTAGE: 2,
    IncidentClass.UPLINK_DOWN: 3,
}

#: At most this many APs are named in an evidence line (the column holds 1000 chars).
EVIDENCE_APS = 12


@dataclass(frozen=True)
class Thresholds:
    """The correlation settings (core.settings), in one value for the pure functions."""

    uplink_min_sites: int = 2
    area_min_sites: int = 5
    area_window_s: float = 180.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(settings.uplink_min_sites, settings.area_min_sites, settings.area_window_s)


@dataclass(frozen=True)
class Problem:
    """One real problem now: what an incident of ``kind`` about ``scope_id`` covers.

    ``aps`` maps each down AP to its site; ``since`` is when the first of them went down;
    ``explanation`` is the plain-words line an operator reads, ``evidence`` the states
    that led to it."""

    kind: IncidentClass
    scope_id: str
    district_id: str | None
    aps: Mapping[str, str]
    since: float
    explanation: str
    evidence: str
    settled: bool = True

    @property
    def key(self) -> Key:
        return (self.kind, self.scope_id)

    @property
    def rank(self) -> int:
        """How much it explains (:data:`RANK`); the metric and behaviour classes rank
        with an AP's (they explain no outage)."""
        return RANK.get(self.kind, 0)


def _evidence(snapshot: Snapshot, aps: Iterable[str]) -> str:
    """ "down since: ap1 14:03:12Z, ap2 ..." for the first few APs (earliest first)."""
    ordered = sorted(aps, key=lambda a: (snapshot.since(a), a))
    shown = ", ".join(f"{a} {clock(snapshot.since(a))}" for a in ordered[:EVIDENCE_APS])
    more = len(ordered) - EVIDENCE_APS
    return f"down since: {shown}" + (f" and {more} more" if more > 0 else "")


def _common_district(snapshot: Snapshot, site_ids: Iterable[str]) -> str | None:
    districts = {snapshot.sites[s].district_id for s in site_ids}
    return districts.pop() if len(districts) == 1 else None


def _chains(times: Mapping[str, float], window_s: float) -> list[list[str]]:
    """Sites grouped by when they went down: consecutive ones at most ``window_s`` apart
    belong to the same chain (single linkage, so a cut the collector notices over a few
    poll intervals stays one event)."""
    ordered = sorted(times, key=lambda s: (times[s], s))
    chains: list[list[str]] = []
    for site in ordered:
        if chains and times[site] - times[chains[-1][-1]] <= window_s:
            chains[-1].append(site)
        else:
            chains.append([site])
    return chains


def correlate(snapshot: Snapshot, thresholds: Thresholds) -> list[Problem]:
    """The problems in ``snapshot``, largest first (then by scope id): each down AP in
    exactly one of them."""
    by_site: dict[str, list[str]] = defaultdict(list)
    for ap in snapshot.aps.values():
        by_site[ap.site_id].append(ap.ap_id)

    problems: list[Problem] = []
    down_sites: dict[str, float] = {}  # site -> when it became entirely down
    for site_id, ap_ids in sorted(by_site.items()):
        down = [a for a in ap_ids if snapshot.aps[a].state is ApState.DOWN]
        if not down:
            continue
        if len(down) == len(ap_ids):
            down_sites[site_id] = max(snapshot.since(a) for a in down)
            continue
        answering = sum(snapshot.aps[a].state is ApState.UP for a in ap_ids)
        others = [snapshot.aps[a] for a in ap_ids if snapshot.aps[a].state is not ApState.DOWN]
        for ap_id in sorted(down):
            since = snapshot.since(ap_id)
            settled = all(o.last_poll is None or o.last_poll >= since for o in others)
            problems.append(_ap_problem(snapshot, ap_id, answering, settled))

    all_down = dict(down_sites)
    answered = _uplinks_answered_at(snapshot)
    problems += _uplink_problems(snapshot, by_site, down_sites, thresholds)
    problems += _area_problems(snapshot, by_site, down_sites, thresholds)
    for site_id in sorted(down_sites):
        settled = not _may_be_forming(snapshot, site_id, all_down, answered, thresholds)
        problems.append(_site_problem(snapshot, site_id, by_site[site_id], settled))
    problems.sort(key=lambda p: (-p.rank, p.scope_id))
    return problems


def _ap_problem(snapshot: Snapshot, ap_id: str, answering: int, settled: bool) -> Problem:
    ap = snapshot.aps[ap_id]
    site = snapshot.sites[ap.site_id]
    label = ap_label(snapshot, ap_id)
    others = (
        f"{plural(answering, 'other AP')} there still answer"
        if answering
        else "the other APs there are not judged yet"
    )
    return Problem(
        kind=IncidentClass.AP_DOWN,
        scope_id=ap_id,
        district_id=site.district_id,
        aps={ap_id: ap.site_id},
        since=snapshot.since(ap_id),
        explanation=f"AP {label} at {site_label(snapshot, site.site_id)} stopped answering "
        f"while {others}: the AP itself (power, crash or cable)",
        evidence=_evidence(snapshot, [ap_id]),
        settled=settled,
    )


def _uplinks_answered_at(snapshot: Snapshot) -> dict[str, float]:
    """Per uplink, the latest poll of an AP behind it that is up: the uplink carried
    traffic then."""
    latest: dict[str, float] = {}
    for ap in snapshot.aps.values():
        uplink = snapshot.sites[ap.site_id].uplink_id
        if uplink is not None and ap.state is ApState.UP and ap.last_poll is not None:
            latest[uplink] = max(latest.get(uplink, ap.last_poll), ap.last_poll)
    return latest


def _may_be_forming(
    snapshot: Snapshot,
    site_id: str,
    down_sites: Mapping[str, float],
    uplink_answered: Mapping[str, float],
    thresholds: Thresholds,
) -> bool:
    """Whether a larger problem may be forming around this down site: another site of
    its district, or of its uplink, went down within ``area_window_s`` of it, and the
    window since it went down is not over yet. Not the uplink when a site behind it
    answered after this one went down: that uplink works, so it cannot be cut (a power
    cut elsewhere on the same uplink must not hold this site's incident back)."""
    at = down_sites[site_id]
    window = thresholds.area_window_s
    if snapshot.taken_at - at >= window:
        return False
    site = snapshot.sites[site_id]
    for other_id, other_at in down_sites.items():
        other = snapshot.sites[other_id]
        if other_id == site_id or abs(other_at - at) > window:
            continue
        same_district = site.district_id is not None and other.district_id == site.district_id
        same_uplink = (
            site.uplink_id is not None
            and other.uplink_id == site.uplink_id
            and uplink_answered.get(site.uplink_id, -math.inf) < at
        )
        if same_district or same_uplink:
            return True
    return False


def _site_problem(snapshot: Snapshot, site_id: str, ap_ids: list[str], settled: bool) -> Problem:
    site = snapshot.sites[site_id]
    what = "The only AP" if len(ap_ids) == 1 else f"All {len(ap_ids)} APs"
    return Problem(
        kind=IncidentClass.SITE_DOWN,
        scope_id=site_id,
        district_id=site.district_id,
        aps={a: site_id for a in ap_ids},
        since=min(snapshot.since(a) for a in ap_ids),
        explanation=f"{what} of site {site_label(snapshot, site_id)} stopped answering: "
        "power or backhaul at the site",
        evidence=_evidence(snapshot, ap_ids),
        settled=settled,
    )


def _uplink_problems(
    snapshot: Snapshot,
    by_site: Mapping[str, list[str]],
    down_sites: dict[str, float],
    thresholds: Thresholds,
) -> list[Problem]:
    """Uplinks whose every watched site is down; their sites leave ``down_sites``."""
    behind: dict[str, list[str]] = defaultdict(list)
    for site in snapshot.sites.values():
        if site.uplink_id is not None and site.site_id in by_site:
            behind[site.uplink_id].append(site.site_id)
    problems = []
    for uplink_id, site_ids in sorted(behind.items()):
        if len(site_ids) < thresholds.uplink_min_sites or any(
            s not in down_sites for s in site_ids
        ):
            continue
        for s in site_ids:
            del down_sites[s]
        aps = {a: s for s in sorted(site_ids) for a in by_site[s]}
        districts = {snapshot.sites[s].district_id for s in site_ids}
        uplink = snapshot.uplinks.get(uplink_id)
        label = f"uplink {uplink.name} ({uplink.operator})" if uplink else f"uplink {uplink_id}"
        across = f", across {plural(len(districts), 'district')}" if len(districts) > 1 else ""
        problems.append(
            Problem(
                kind=IncidentClass.UPLINK_DOWN,
                scope_id=uplink_id,
                district_id=_common_district(snapshot, site_ids),
                aps=aps,
                since=min(snapshot.since(a) for a in aps),
                explanation=f"All {plural(len(site_ids), 'site')} behind {label} stopped "
                f"answering together{across}: likely the uplink",
                evidence=_evidence(snapshot, aps),
            )
        )
    return problems


def _area_problems(
    snapshot: Snapshot,
    by_site: Mapping[str, list[str]],
    down_sites: dict[str, float],
    thresholds: Thresholds,
) -> list[Problem]:
    """Per district, the down sites of chains of at least ``area_min_sites``: one area
    outage (all such chains of a district together); their sites leave ``down_sites``."""
    per_district: dict[str, dict[str, float]] = defaultdict(dict)
    for site_id, at in down_sites.items():
        district = snapshot.sites[site_id].district_id
        if district is not None:
            per_district[district][site_id] = at
    problems = []
    for district, times in sorted(per_district.items()):
        chains = _chains(times, thresholds.area_window_s)
        sites = sorted(s for c in chains if len(c) >= thresholds.area_min_sites for s in c)
        if not sites:
            continue
        spread = max(times[s] for s in sites) - min(times[s] for s in sites)
        for s in sites:
            del down_sites[s]
        aps = {a: s for s in sites for a in by_site[s]}
        problems.append(
            Problem(
                kind=IncidentClass.AREA_OUTAGE,
                scope_id=district,
                district_id=district,
                aps=aps,
                since=min(snapshot.since(a) for a in aps),
                explanation=f"{len(sites)} sites in {district_label(snapshot, district)} "
                f"stopped answering within {max(spread, 1.0):.0f} s: likely power cut",
                evidence=_evidence(snapshot, aps),
            )
        )
    return problems
