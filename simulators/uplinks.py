"""The simulated city's topology: which shared uplink each site's traffic leaves through.

A real city's hotspots reach the internet through a few dozen aggregation nodes (an OLT,
a metro-Ethernet switch, a microwave hub) run by a handful of operators, and the node
that fails takes every site behind it off the air at once. The fault engine must tell
that apart from a district's power cut, so here an uplink's sites are laid out the way
operators build, not the way the city draws districts: each node stands at a site (where
its operator already has fibre or a mast), each site buys its backhaul from one operator
and is served by that operator's nearest node. A node's catchment is therefore a patch of
the map crossing district lines, interleaved with other operators' sites that stay up.

Seeded on a stream of its own, after the sites are drawn: the rest of a seeded city
(sites, names, addresses, vendors) is the same as before topology existed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from simulators.device import MAX_AP_RATE_BPS

SITES_PER_UPLINK = 30
"""About this many sites behind one node: a 2,000-AP city (~1,200 sites) gets 40."""

AP_PEAK_BPS = MAX_AP_RATE_BPS * 5 // 4
"""The most one AP's uplink carries, both directions: its client traffic is capped at
MAX_AP_RATE_BPS downstream, plus at most 20 % upstream and a few % of headers."""

HEADROOM = 2
"""A node is bought for twice what its APs could carry all at once, so the city's traffic
stays at half its capacity or less (well below the fault engine's backhaul_saturated
line): only an injected load would fill it."""

CAPACITY_STEPS_MBPS = (100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 40_000, 100_000)
"""The link sizes operators sell (Mbit/s, both directions together)."""

OPERATORS: tuple[tuple[str, str, float], ...] = (
    ("PT Serat Optik Kota", "OLT", 0.45),
    ("PT Jaringan Metro Patriot", "Metro-E", 0.35),
    ("PT Radio Link Kalimalang", "Microwave hub", 0.20),
)
"""(operator, what its nodes are called, its share of the nodes); fictional companies."""


@dataclass(frozen=True)
class Uplink:
    id: str
    name: str
    operator: str
    lat: float  # where the node stands (a site's place)
    lon: float
    capacity_mbps: float | None = None  # what it carries, both directions (None: not said)


class Placed(Protocol):
    """A site as this module needs it (simulators.city.Site)."""

    @property
    def id(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def district(self) -> str: ...


def plan_uplinks(
    sites: Sequence[Placed],
    district_names: Mapping[str, str],
    seed: int,
    aps_per_site: Mapping[str, int] | None = None,
) -> tuple[list[Uplink], dict[str, str]]:
    """The city's uplinks and each site's uplink id; the same arguments give the same plan.

    At least two uplinks when there are two sites (a cut must not be the whole city), at
    most one per site. With ``aps_per_site`` each uplink gets the capacity its APs need
    (:func:`capacity_mbps`); it draws nothing, so the plan is the same with or without."""
    if not sites:
        return [], {}
    rng = random.Random(f"uplinks:{seed}")
    count = min(len(sites), max(2, round(len(sites) / SITES_PER_UPLINK)))
    operators = OPERATORS[: min(len(OPERATORS), count)]
    per_operator = apportion(count, [share for _, _, share in operators])
    hubs = rng.sample(range(len(sites)), count)
    uplinks: list[Uplink] = []
    owner: list[int] = []  # uplink index -> operator index
    named: dict[str, int] = {}
    for operator_index, n in enumerate(per_operator):
        operator, word, _ = operators[operator_index]
        for _ in range(n):
            hub = sites[hubs[len(uplinks)]]
            place = f"{word} {district_names.get(hub.district, hub.district)}"
            named[place] = named.get(place, 0) + 1
            uplinks.append(
                Uplink(
                    id=f"u{len(uplinks) + 1:02d}",
                    name=f"{place} {named[place]}",
                    operator=operator,
                    lat=hub.lat,
                    lon=hub.lon,
                )
            )
            owner.append(operator_index)
    by_operator = [
        [i for i, o in enumerate(owner) if o == operator_index]
        for operator_index in range(len(operators))
    ]
    hub_of = {sites[site_index].id: i for i, site_index in enumerate(hubs)}
    chosen: dict[str, str] = {}
    for site in sites:
        if site.id in hub_of:  # a node serves the site it stands at
            chosen[site.id] = uplinks[hub_of[site.id]].id
            continue
        candidates = rng.choices(by_operator, weights=per_operator)[0]
        nearest = min(candidates, key=lambda i: (_distance2(site, uplinks[i]), i))
        chosen[site.id] = uplinks[nearest].id
    if aps_per_site is not None:
        behind = dict.fromkeys((u.id for u in uplinks), 0)
        for site_id, uplink_id in chosen.items():
            behind[uplink_id] += aps_per_site.get(site_id, 0)
        uplinks = [replace(u, capacity_mbps=capacity_mbps(behind[u.id])) for u in uplinks]
    return uplinks, chosen


def capacity_mbps(aps: int) -> float:
    """The smallest link size sold that carries ``HEADROOM`` times what ``aps`` APs could
    send and receive at once (the largest size beyond that)."""
    wanted = HEADROOM * aps * AP_PEAK_BPS / 1e6
    return float(next((c for c in CAPACITY_STEPS_MBPS if c >= wanted), CAPACITY_STEPS_MBPS[-1]))


def apportion(total: int, shares: Sequence[float]) -> list[int]:
    """``total`` split by ``shares`` (largest remainder), at least one each when there are
    as many as there are shares."""
    raw = [total * share / sum(shares) for share in shares]
    counts = [max(1, math.floor(value)) for value in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in by_remainder[: max(0, total - sum(counts))]:
        counts[i] += 1
    while sum(counts) > total:  # the floor of one was lifted to 1: take from the largest
        counts[counts.index(max(counts))] -= 1
    return counts


def _distance2(site: Placed, uplink: Uplink) -> float:
    """Squared distance on a local flat map (a city is small enough)."""
    east = (site.lon - uplink.lon) * math.cos(math.radians(site.lat))
    return (site.lat - uplink.lat) ** 2 + east**2
