"""The simulated city's geography: district boundaries and where people are.

Planners' questions (which district lacks coverage, where to build next) need district
polygons and demand points; a real city has them from its GIS office, the simulated one
makes them from its seed. Districts are the Voronoi cells of their centres, clipped to a
disc of about 210 km² around the city centre, so they tile the city without gaps or
overlaps. Demand points sit on a regular grid, weighted by a population density that is
highest near district centres and near busy kinds of site; and a few *crowd* points lie
around each busy site (a market, a transit stop, a school), where people gather. The grid
alone (500 m) would never put a person inside a hotspot's 40 to 150 m disc, so a planner's
"people served" would read 0 % for any city; the crowd points are the people standing at
the market, some within the hotspot's reach and some just beyond it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulators import bekasi
from simulators.city import KM_PER_DEG_LAT, City

CITY_AREA_KM2 = bekasi.AREA_KM2
CITY_RADIUS_KM = math.sqrt(CITY_AREA_KM2 / math.pi)  # ≈ 8.18 km
DEFAULT_CENTER = bekasi.CENTER
BOUNDARY_VERTICES = 72
DEMAND_SPACING_KM = 0.5
# People per demand point at the centre of a district, and how fast it falls off (km).
PEAK_PEOPLE = 2_500.0
FALLOFF_KM = 2.5
# Extra people drawn around sites of each kind (markets and transit hubs draw crowds).
SITE_DRAW = {"market": 1.0, "transit": 0.9, "school": 0.6, "residential": 0.8}
# Crowd points per busy site, how far from it they lie at most (km), and the people each
# stands for at a site of draw 1.0.
CROWD_POINTS = 3
CROWD_REACH_KM = 0.2
CROWD_PEOPLE = 300.0

Point = tuple[float, float]  # (east_km, north_km) relative to the centre


def _to_km(center: Point, lat: float, lon: float) -> Point:
    east = (lon - center[1]) * 111.320 * math.cos(math.radians(center[0]))
    north = (lat - center[0]) * KM_PER_DEG_LAT
    return east, north


def _to_lonlat(center: Point, p: Point) -> list[float]:
    lat = center[0] + p[1] / KM_PER_DEG_LAT
    lon = center[1] + p[0] / (111.320 * math.cos(math.radians(center[0])))
    return [round(lon, 6), round(lat, 6)]


def _clip(polygon: list[Point], a: Point, b: Point) -> list[Point]:
    """Keep the part of a convex polygon nearer to ``a`` than to ``b`` (one bisector)."""
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    normal = (b[0] - a[0], b[1] - a[1])

    def side(p: Point) -> float:
        return (p[0] - mid[0]) * normal[0] + (p[1] - mid[1]) * normal[1]

    out: list[Point] = []
    for i, current in enumerate(polygon):
        previous = polygon[i - 1]
        s_cur, s_prev = side(current), side(previous)
        if (s_cur <= 0) != (s_prev <= 0):
            t = s_prev / (s_prev - s_cur)
            out.append(
                (
                    previous[0] + t * (current[0] - previous[0]),
                    previous[1] + t * (current[1] - previous[1]),
                )
            )
        if s_cur <= 0:
            out.append(current)
    return out


def district_cells(city: City, center: Point = DEFAULT_CENTER) -> dict[str, list[Point]]:
    """Each district's cell (km coordinates), clipped to the city disc."""
    disc = [
        (
            CITY_RADIUS_KM * math.cos(2 * math.pi * k / BOUNDARY_VERTICES),
            CITY_RADIUS_KM * math.sin(2 * math.pi * k / BOUNDARY_VERTICES),
        )
        for k in range(BOUNDARY_VERTICES)
    ]
    seeds = {d.id: _to_km(center, d.lat, d.lon) for d in city.districts}
    cells: dict[str, list[Point]] = {}
    for district_id, own in seeds.items():
        cell = disc
        for other_id, other in seeds.items():
            if other_id != district_id and other != own:
                cell = _clip(cell, own, other)
        cells[district_id] = cell
    return cells


def _inside(p: Point, polygon: Sequence[Point]) -> bool:
    inside = False
    for i, (x1, y1) in enumerate(polygon):
        x2, y2 = polygon[i - 1]
        if (y1 > p[1]) != (y2 > p[1]) and p[0] < x1 + (p[1] - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def districts_geojson(city: City, center: Point = DEFAULT_CENTER) -> dict[str, Any]:
    """A FeatureCollection, one Polygon per district, importable by citywifi."""
    features = []
    for district in city.districts:
        cell = district_cells(city, center)[district.id]
        ring = [_to_lonlat(center, p) for p in cell]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "properties": {"id": district.id, "name": district.name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def demand_points(city: City, center: Point = DEFAULT_CENTER) -> list[dict[str, Any]]:
    """Grid points over the city with a population weight and the district they fall in."""
    rng = random.Random(f"demand:{city.seed}")
    cells = district_cells(city, center)
    centres = {d.id: _to_km(center, d.lat, d.lon) for d in city.districts}
    crowds = [
        (_to_km(center, s.lat, s.lon), SITE_DRAW[s.kind]) for s in city.sites if s.kind in SITE_DRAW
    ]
    steps = int(CITY_RADIUS_KM // DEMAND_SPACING_KM)
    points: list[dict[str, Any]] = []
    for i in range(-steps, steps + 1):
        for j in range(-steps, steps + 1):
            p = (i * DEMAND_SPACING_KM, j * DEMAND_SPACING_KM)
            if math.hypot(*p) > CITY_RADIUS_KM:
                continue
            district = next((d for d, cell in cells.items() if _inside(p, cell)), None)
            base = max(math.exp(-math.dist(p, c) / FALLOFF_KM) for c in centres.values())
            crowd = sum(w * math.exp(-math.dist(p, c) / 0.4) for c, w in crowds)
            people = PEAK_PEOPLE * (0.15 + base + 0.5 * min(crowd, 2.0)) * rng.uniform(0.7, 1.3)
            lon, lat = _to_lonlat(center, p)
            points.append(
                {
                    "id": f"g{len(points) + 1:05d}",
                    "lat": lat,
                    "lon": lon,
                    "weight": round(people, 1),
                    "district": district,
                }
            )
    return points + _crowd_points(city, center, cells)


def _crowd_points(city: City, center: Point, cells: dict[str, list[Point]]) -> list[dict[str, Any]]:
    """``CROWD_POINTS`` points around each busy site, uniform over a disc of
    ``CROWD_REACH_KM``, inside the city; see the module doc for why."""
    rng = random.Random(f"crowd:{city.seed}")
    points: list[dict[str, Any]] = []
    for site in city.sites:
        draw = SITE_DRAW.get(site.kind)
        if draw is None:
            continue
        sx, sy = _to_km(center, site.lat, site.lon)
        for _ in range(CROWD_POINTS):
            reach = CROWD_REACH_KM * math.sqrt(rng.random())
            angle = rng.uniform(0.0, 2 * math.pi)
            p = (sx + reach * math.cos(angle), sy + reach * math.sin(angle))
            district = next((d for d, cell in cells.items() if _inside(p, cell)), None)
            if district is None:
                continue  # beyond the city's edge
            lon, lat = _to_lonlat(center, p)
            points.append(
                {
                    "id": f"c{len(points) + 1:05d}",
                    "lat": lat,
                    "lon": lon,
                    "weight": round(CROWD_PEOPLE * draw * rng.uniform(0.7, 1.3), 1),
                    "district": district,
                }
            )
    return points


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(temp, path)


def write_districts(city: City, path: Path, center: Point = DEFAULT_CENTER) -> None:
    _atomic_write(path, json.dumps(districts_geojson(city, center), indent=1) + "\n")


def write_demand(city: City, path: Path, center: Point = DEFAULT_CENTER) -> None:
    """Demand points as CSV (id, lat, lon, weight, district): the inventory's demand shape."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "lat", "lon", "weight", "district"])
    writer.writeheader()
    writer.writerows({**r, "district": r["district"] or ""} for r in demand_points(city, center))
    _atomic_write(path, buffer.getvalue())
