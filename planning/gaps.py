"""Uncovered areas, ranked by the demand they leave unserved; fault gaps apart.

Two kinds, because they call for different work:

- fault: covered by design but not now, because the sites there are down (repair them).
  The area is (union of the down sites' discs - union of the live discs) inside the
  districts, one gap per connected part, naming the down sites whose discs make it.
  Only the live discs near a down one take part, so a few faults cost a few discs.
- design: no active site reaches it at all (build there). A district minus the designed
  union is one huge, ragged polygon; it is cut into ``gap_cell_m`` squares (one grid for
  the whole city, so cells line up across districts and between calls) so each piece can
  be ranked by the demand in it. Each cell subtracts only the discs that touch it
  (``STRtree``), so the cost grows with the sites, not with the sites times the cells.

Demand in a gap is the weight of the unserved points inside it: for a design gap, points
no active site reaches; for a fault gap, points a site reaches by design but no live one
does. Cells with no such demand are kept (a planner may still want the empty land) and
rank after all those with demand; ``limit`` trims. Slivers below :data:`MIN_AREA_M2`
(floating-point debris of clipping along a boundary) are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from core.errors import PlanningError
from planning.analysis import lost_coverage
from planning.geometry import Bools, CityGeometry, Geoms, Ints, city_geometry, covered, live_mask
from planning.inputs import CoverageInputs
from planning.projection import Floats
from planning.results import Gap, GapKind, Gaps

#: Gap pieces smaller than this (square metres) are clipping debris, not gaps.
MIN_AREA_M2 = 1.0
#: How far (metres) a drawn outline may stray from the measured one.
DRAW_TOLERANCE_M = 0.5
#: Decimal places of the GeoJSON degrees: 1e-7 degree is about 1 cm.
DEGREE_DECIMALS = 7


@dataclass(frozen=True, slots=True)
class _Pieces:
    """Gap polygons of one kind, in metres, before ranking."""

    kind: GapKind
    shapes: Geoms
    district: Ints  # index into the districts
    sites: list[tuple[str, ...]]


def find_gaps(
    inputs: CoverageInputs,
    geometry: CityGeometry | None = None,
    *,
    kind: GapKind | None = None,
    district: str | None = None,
    limit: int | None = None,
) -> Gaps:
    """The gaps of ``kind`` (both when None) in ``district`` (all when None), ranked by
    unserved demand then area, at most ``limit`` of them. The totals (``fault_area_m2``
    ...) are over every gap of the kinds asked for in the district asked for, before the
    limit; a kind not asked for totals 0."""
    geo = geometry if geometry is not None else city_geometry(inputs)
    if district is not None and district not in geo.district_ids:
        raise PlanningError(f"unknown district: {district}")
    if limit is not None and limit < 0:
        raise PlanningError(f"limit must not be negative: {limit}")
    wanted = [
        d
        for d, shape in enumerate(geo.district_shapes)
        if shape is not None and (district is None or geo.district_ids[d] == district)
    ]
    live = live_mask(inputs)
    served = covered(geo.demand_xy, geo.site_xy, geo.site_radius)
    served_live = served.copy()
    served_live[served] = covered(geo.demand_xy[served], geo.site_xy[live], geo.site_radius[live])

    pieces: list[tuple[_Pieces, Bools]] = []
    if kind in (None, "fault"):
        pieces.append((_fault_pieces(geo, live, wanted), served & ~served_live))
    if kind in (None, "design"):
        pieces.append((_design_pieces(geo, wanted, inputs.gap_cell_m), ~served))

    found: list[tuple[float, float, int, Gap, BaseGeometry]] = []  # sort keys, gap, shape
    totals = {"fault": [0.0, 0.0], "design": [0.0, 0.0]}
    for piece, unserved in pieces:
        areas = shapely.area(piece.shapes)
        demand, points = _demand_inside(geo, piece.shapes, unserved)
        for i in range(len(piece.shapes)):
            gap = Gap(
                kind=piece.kind,
                district=geo.district_ids[piece.district[i]],
                area_m2=float(areas[i]),
                demand=float(demand[i]),
                demand_points=int(points[i]),
                sites=piece.sites[i],
                geometry={},
                rank=0,
            )
            found.append((-gap.demand, -gap.area_m2, len(found), gap, piece.shapes[i]))
            totals[piece.kind][0] += gap.area_m2
            totals[piece.kind][1] += gap.demand
    found.sort(key=lambda item: item[:3])
    kept = found if limit is None else found[:limit]
    drawn = _geojson(geo, np.array([item[4] for item in kept], dtype=object))
    gaps = tuple(
        replace(item[3], geometry=geometry, rank=rank)
        for rank, (item, geometry) in enumerate(zip(kept, drawn, strict=True), start=1)
    )
    return Gaps(
        gaps=gaps,
        fault_area_m2=totals["fault"][0],
        design_area_m2=totals["design"][0],
        fault_demand=totals["fault"][1],
        design_demand=totals["design"][1],
    )


def _fault_pieces(geo: CityGeometry, live: Bools, wanted: list[int]) -> _Pieces:
    """Designed coverage lost now: the down discs minus the live ones near them, per
    district, split into connected parts, each naming the down sites that make it."""
    down = np.flatnonzero(~live)
    if len(down) == 0 or not wanted:
        return _Pieces("fault", np.empty(0, dtype=object), np.empty(0, dtype=np.int64), [])
    down_discs = geo.site_discs[down]
    lost = lost_coverage(geo.site_discs, live)
    parts, district = _clip_to_districts(geo, lost, wanted)
    tree = shapely.STRtree(down_discs)
    part_idx, disc_idx = tree.query(parts, predicate="intersects")
    # A disc only touching a part along its edge did not make it: demand shared area.
    shared = shapely.area(shapely.intersection(parts[part_idx], down_discs[disc_idx]))
    keep = shared >= MIN_AREA_M2
    names: list[list[str]] = [[] for _ in range(len(parts))]
    for p, s in zip(part_idx[keep], disc_idx[keep], strict=True):
        names[int(p)].append(geo.site_ids[int(down[s])])
    return _Pieces("fault", parts, district, [tuple(sorted(n)) for n in names])


def _clip_to_districts(
    geo: CityGeometry, area: BaseGeometry, wanted: list[int]
) -> tuple[Geoms, Ints]:
    """The connected parts of ``area`` inside each wanted district. Part by part, not the
    whole area against each district: most parts lie within one district and are kept as
    they are; only those crossing a boundary are cut."""
    pieces, _ = _explode(np.array([area], dtype=object), np.zeros(1, dtype=np.int64))
    if len(pieces) == 0:
        return pieces, np.empty(0, dtype=np.int64)
    shapes = np.array([geo.district_shapes[d] for d in wanted], dtype=object)
    piece_idx, shape_idx = shapely.STRtree(shapes).query(pieces, predicate="intersects")
    inside = shapely.within(pieces[piece_idx], shapes[shape_idx])
    clipped = pieces[piece_idx].copy()
    clipped[~inside] = shapely.intersection(pieces[piece_idx[~inside]], shapes[shape_idx[~inside]])
    return _explode(clipped, np.asarray(wanted, dtype=np.int64)[shape_idx])


def _design_pieces(geo: CityGeometry, wanted: list[int], cell: float) -> _Pieces:
    """Each district minus the designed union, cut along one city-wide grid of ``cell``
    metre squares."""
    if not wanted:
        return _Pieces("design", np.empty(0, dtype=object), np.empty(0, dtype=np.int64), [])
    if not math.isfinite(cell) or cell <= 0:
        raise PlanningError(f"gap cell size must be a positive number of metres: {cell}")
    boxes: list[BaseGeometry] = []
    owner: list[int] = []
    for d in wanted:
        shape = geo.district_shapes[d]
        assert shape is not None  # wanted holds districts with a shape only
        minx, miny, maxx, maxy = shape.bounds
        cols = np.arange(math.floor(minx / cell), math.ceil(maxx / cell))
        rows = np.arange(math.floor(miny / cell), math.ceil(maxy / cell))
        cx, cy = np.meshgrid(cols * cell, rows * cell)
        cells = shapely.box(cx.ravel(), cy.ravel(), cx.ravel() + cell, cy.ravel() + cell)
        boxes.extend(shapely.intersection(cells, shape))
        owner.extend([d] * cells.size)
    clipped = np.array(boxes, dtype=object)
    district = np.array(owner, dtype=np.int64)
    keep = shapely.area(clipped) >= MIN_AREA_M2
    clipped, district = clipped[keep], district[keep]
    holes = np.array([shapely.Polygon()] * len(clipped), dtype=object)
    if len(geo.site_discs) and len(clipped):
        cell_idx, disc_idx = shapely.STRtree(geo.site_discs).query(clipped, predicate="intersects")
        order = np.argsort(cell_idx, kind="stable")
        cell_idx, disc_idx = cell_idx[order], disc_idx[order]
        if len(cell_idx):
            starts = np.flatnonzero(np.r_[True, cell_idx[1:] != cell_idx[:-1]])
            for start, end in zip(starts, np.r_[starts[1:], len(cell_idx)], strict=True):
                holes[cell_idx[start]] = shapely.union_all(geo.site_discs[disc_idx[start:end]])
    left = shapely.difference(clipped, holes)
    parts, district = _explode(left, district)
    return _Pieces("design", parts, district, [() for _ in range(len(parts))])


def _explode(shapes: Geoms, district: Ints) -> tuple[Geoms, Ints]:
    """The polygons of each (multi)polygon, each keeping its district; slivers dropped.

    A difference along a boundary can also leave lines or points (a GeometryCollection):
    only polygons are area."""
    parts, index = np.asarray(shapes, dtype=object), np.arange(len(shapes), dtype=np.int64)
    for _ in range(3):  # multi-geometries, and collections holding them
        nested = shapely.get_num_geometries(parts) > 1
        nested |= shapely.get_type_id(parts) >= shapely.GeometryType.MULTIPOINT
        if not nested.any():
            break
        inner, inner_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], np.asarray(inner, dtype=object)])
        index = np.concatenate([index[~nested], index[nested][inner_index]])
    polygon = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    keep = polygon & (shapely.area(parts) >= MIN_AREA_M2)
    return parts[keep], district[index[keep]]


def _demand_inside(geo: CityGeometry, shapes: Geoms, unserved: Bools) -> tuple[Floats, Ints]:
    """Weight and number of the unserved demand points inside each shape (a point on the
    edge of two counts in the first only)."""
    demand = np.zeros(len(shapes), dtype=np.float64)
    points = np.zeros(len(shapes), dtype=np.int64)
    which = np.flatnonzero(unserved)
    if len(which) == 0 or len(shapes) == 0:
        return demand, points
    point_idx, shape_idx = shapely.STRtree(shapes).query(
        shapely.points(geo.demand_xy[which]), predicate="intersects"
    )
    first = np.unique(point_idx, return_index=True)[1]
    point_idx, shape_idx = point_idx[first], shape_idx[first]
    demand += np.bincount(
        shape_idx, weights=geo.demand_weight[which[point_idx]], minlength=len(shapes)
    )
    points += np.bincount(shape_idx, minlength=len(shapes))
    return demand, points


def _geojson(geo: CityGeometry, shapes: Geoms) -> list[dict[str, Any]]:
    """The shapes in lon/lat as GeoJSON geometries, degrees rounded to about 1 cm.

    Drawn, not measured: the outlines are simplified to :data:`DRAW_TOLERANCE_M` first (a
    disc's 128-gon hole becomes about 20 vertices), which keeps a city's gaps to a few
    hundred kilobytes; the areas and demand were measured on the exact shapes."""
    if len(shapes) == 0:
        return []
    projector = geo.projector
    drawn = shapely.simplify(shapes, DRAW_TOLERANCE_M, preserve_topology=False)
    # a piece simplified away (or made invalid) is drawn as measured instead
    bad = shapely.is_empty(drawn) | ~shapely.is_valid(drawn)
    drawn[bad] = shapes[bad]
    drawn = shapely.orient_polygons(drawn)  # RFC 7946: outer rings counterclockwise
    rings, ring_owner = shapely.get_rings(drawn, return_index=True)
    coords, coord_owner = shapely.get_coordinates(rings, return_index=True)
    lon, lat = projector.inverse(coords[:, 0], coords[:, 1])
    degrees = np.round(np.column_stack([lon, lat]), DEGREE_DECIMALS).tolist()
    # coordinates come ring by ring: ring r's are those from starts[r] to starts[r + 1]
    starts = np.searchsorted(coord_owner, np.arange(len(rings) + 1)).tolist()
    polygons: list[list[list[list[float]]]] = [[] for _ in range(len(shapes))]
    for r, owner in enumerate(ring_owner.tolist()):
        polygons[owner].append(degrees[starts[r] : starts[r + 1]])
    return [{"type": "Polygon", "coordinates": outline} for outline in polygons]
