"""Coverage with sites removed, added or failing, against coverage now.

The "after" city reuses the projected geometry of now: the districts and the demand do
not change, only the site arrays (the removed ones dropped, the added ones projected and
appended) and the live mask (failing sites: still designed, not live; added sites: live).
Both sides are measured by :func:`planning.analysis.report`, so a what-if with nothing
asked answers exactly the coverage report, and the demand that loses or gains service is
compared point by point (live service before against after).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from core.errors import PlanningError
from planning.analysis import report, site_districts
from planning.geometry import Bools, CityGeometry, city_geometry, covered, discs, live_mask
from planning.inputs import CoverageInputs
from planning.results import AreaCoverage, DistrictChange, NewSite, WhatIf


def what_if(
    inputs: CoverageInputs,
    geometry: CityGeometry | None = None,
    *,
    remove: Sequence[str] = (),
    add: Sequence[NewSite] = (),
    fail: Sequence[str] = (),
    max_points: int = 500,
) -> WhatIf:
    """Coverage now against coverage with ``remove`` taken out, ``add`` built (and up) and
    ``fail`` down. Unknown or repeated site ids raise :class:`PlanningError`, as does an
    added site that is not a place (bad position, radius not positive)."""
    geo = geometry if geometry is not None else city_geometry(inputs)
    if max_points < 0:
        raise PlanningError(f"max_points must not be negative: {max_points}")
    index = {site_id: i for i, site_id in enumerate(geo.site_ids)}
    removed = _known(remove, index, "remove")
    failed = _known(fail, index, "fail")
    added = tuple(add)
    _check_added(added, index)

    live_before = live_mask(inputs)
    district_before = site_districts(inputs)
    keep = np.ones(len(geo.site_ids), dtype=bool)
    keep[[index[s] for s in removed]] = False
    live_after_kept = live_before.copy()
    live_after_kept[[index[s] for s in failed]] = False

    x, y = geo.projector.forward([s.lon for s in added], [s.lat for s in added])
    new_xy = np.column_stack([x, y]) if added else np.empty((0, 2))
    new_radius = np.array([s.radius_m for s in added], dtype=np.float64)
    after_geo = replace(
        geo,
        site_ids=tuple(s for s, k in zip(geo.site_ids, keep, strict=True) if k)
        + tuple(s.id for s in added),
        site_xy=np.concatenate([geo.site_xy[keep], new_xy]),
        site_radius=np.concatenate([geo.site_radius[keep], new_radius]),
        site_discs=np.concatenate([geo.site_discs[keep], discs(new_xy, new_radius)]),
    )
    live_after = np.concatenate([live_after_kept[keep], np.ones(len(added), dtype=bool)])
    district_after = np.concatenate(
        [district_before[keep], np.full(len(added), -1, dtype=np.int64)]
    )

    before = report(geo, live_before, district_before)
    after = report(after_geo, live_after, district_after)
    served_before = _served_live(geo, live_before)
    served_after = _served_live(after_geo, live_after)
    lost = served_before & ~served_after
    gained = served_after & ~served_before

    n = len(geo.district_ids)
    at = geo.demand_district
    weight = geo.demand_weight

    def per_district(mask: Bools) -> list[float]:
        pick = mask & (at >= 0)
        sums = np.bincount(at[pick], weights=weight[pick], minlength=n)
        return [float(v) for v in sums]

    lost_by = per_district(lost)
    gained_by = per_district(gained)
    order = {district_id: d for d, district_id in enumerate(geo.district_ids)}
    changes = tuple(
        _change(b, a, lost_by[order[b.district or ""]], gained_by[order[b.district or ""]])
        for b, a in zip(before.districts, after.districts, strict=True)
    )
    city = _change(before.city, after.city, float(weight[lost].sum()), float(weight[gained].sum()))
    return WhatIf(
        removed=removed,
        added=added,
        failed=failed,
        districts=changes,
        city=city,
        demand_lost=city.demand_lost,
        demand_gained=city.demand_gained,
        lost_points=int(lost.sum()),
        lost=_lost_features(inputs, geo, lost, max_points),
    )


def _known(ids: Sequence[str], index: dict[str, int], what: str) -> tuple[str, ...]:
    """The ids, in order, each once; PlanningError naming the ones not loaded."""
    unknown = sorted({s for s in ids if s not in index})
    if unknown:
        raise PlanningError(f"{what}: unknown site(s): {', '.join(unknown)}")
    return tuple(dict.fromkeys(ids))


def _check_added(added: Sequence[NewSite], index: dict[str, int]) -> None:
    seen: set[str] = set()
    for site in added:
        if site.id in index or site.id in seen:
            raise PlanningError(f"add: site id already used: {site.id}")
        seen.add(site.id)
        if not (-180.0 <= site.lon <= 180.0 and -90.0 <= site.lat <= 90.0):
            raise PlanningError(f"add: {site.id}: not a position: {site.lat}, {site.lon}")
        if not (math.isfinite(site.radius_m) and site.radius_m > 0):
            raise PlanningError(f"add: {site.id}: radius must be positive: {site.radius_m}")


def _served_live(geo: CityGeometry, live: Bools) -> Bools:
    return covered(geo.demand_xy, geo.site_xy[live], geo.site_radius[live])


def _change(
    before: AreaCoverage, after: AreaCoverage, lost: float, gained: float
) -> DistrictChange:
    return DistrictChange(
        district=before.district,
        name=before.name,
        designed_pct_before=before.designed_pct,
        designed_pct_after=after.designed_pct,
        live_pct_before=before.live_pct,
        live_pct_after=after.live_pct,
        demand_pct_before=before.demand_pct,
        demand_pct_after=after.demand_pct,
        live_demand_pct_before=before.live_demand_pct,
        live_demand_pct_after=after.live_demand_pct,
        demand_lost=lost,
        demand_gained=gained,
    )


def _lost_features(
    inputs: CoverageInputs, geo: CityGeometry, lost: Bools, max_points: int
) -> dict[str, Any]:
    """The points losing service as GeoJSON Point features, most weight first (then by
    id), at most ``max_points``; positions as the inputs give them (no round trip)."""
    which = np.flatnonzero(lost)
    ids = [inputs.demand[j].id for j in which]
    order = sorted(range(len(which)), key=lambda k: (-geo.demand_weight[which[k]], ids[k]))
    features: list[dict[str, Any]] = []
    for k in order[:max_points]:
        spot = inputs.demand[which[k]]
        district = int(geo.demand_district[which[k]])
        features.append(
            {
                "type": "Feature",
                "id": spot.id,
                "geometry": {"type": "Point", "coordinates": [spot.lon, spot.lat]},
                "properties": {
                    "id": spot.id,
                    "weight": spot.weight,
                    "district": geo.district_ids[district] if district >= 0 else None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
