"""Builders for planning tests: a city laid out in metres, handed over in degrees.

The analysis takes lon/lat (as the inventory stores it) and projects to the UTM zone
itself. Tests want to say "a site of radius 100 m at the middle of a 1 km square", so
:class:`MetricCity` places everything by metre offsets from a centre in that same UTM zone
(EPSG:32748, Bekasi) and converts to lon/lat once. The analysis projects the vertices back
to exactly the metres the test meant (to ~1e-6 m), so analytic figures (pi r^2 / L^2, the
lens of two discs) hold to the accuracy of the 128-gon, not of the projection.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence

import pytest

from planning.inputs import (
    Candidate,
    CandidateSource,
    CoverageInputs,
    DemandSpot,
    DistrictShape,
    SiteDisc,
)
from planning.projection import Projector

#: Bekasi's UTM zone (48 south); the centre below lies in it.
EPSG = 32748
CENTRE_LON, CENTRE_LAT = 106.99, -6.24

#: Area of the 128-gon the analysis draws for a disc, as a share of the true circle's.
POLYGON_SHARE = 128 / (2 * math.pi) * math.sin(2 * math.pi / 128)


def lens_area(r1: float, r2: float, d: float) -> float:
    """The area two discs of radius r1 and r2 at distance d share (the lens formula)."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return math.pi * min(r1, r2) ** 2
    a1 = r1**2 * math.acos((d**2 + r1**2 - r2**2) / (2 * d * r1))
    a2 = r2**2 * math.acos((d**2 + r2**2 - r1**2) / (2 * d * r2))
    tri = 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))
    return a1 + a2 - tri


class MetricCity:
    """Places things by metre offsets (x east, y north) from the centre."""

    lens_area = staticmethod(lens_area)

    def __init__(self, epsg: int = EPSG, lon: float = CENTRE_LON, lat: float = CENTRE_LAT):
        self.epsg = epsg
        self.projector = Projector(epsg)
        x0, y0 = self.projector.forward([lon], [lat])
        self.x0, self.y0 = float(x0[0]), float(y0[0])

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        """The lon/lat of the point x, y metres from the centre."""
        lon, lat = self.projector.inverse([self.x0 + x], [self.y0 + y])
        return float(lon[0]), float(lat[0])

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Metres from the centre of a lon/lat point (the inverse of :meth:`lonlat`)."""
        x, y = self.projector.forward([lon], [lat])
        return float(x[0]) - self.x0, float(y[0]) - self.y0

    def polygon(self, ring: Sequence[tuple[float, float]]) -> str:
        """A GeoJSON Polygon (string) through the metre points of ``ring``."""
        coords = [list(self.lonlat(x, y)) for x, y in ring]
        coords.append(coords[0])
        return json.dumps({"type": "Polygon", "coordinates": [coords]})

    def square(
        self, id: str, side: float, cx: float = 0.0, cy: float = 0.0, name: str | None = None
    ) -> DistrictShape:
        """A district: the square of ``side`` metres centred cx, cy metres from the centre."""
        return self.rect(id, cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, name)

    def rect(
        self, id: str, x1: float, y1: float, x2: float, y2: float, name: str | None = None
    ) -> DistrictShape:
        """A district: the rectangle between (x1, y1) and (x2, y2) metres."""
        ring = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
        return DistrictShape(id=id, name=name or id, boundary_geojson=self.polygon(ring))

    def site(
        self,
        id: str,
        x: float,
        y: float,
        radius: float,
        *,
        live: bool = True,
        district: str | None = None,
        partner: str | None = None,
    ) -> SiteDisc:
        lon, lat = self.lonlat(x, y)
        return SiteDisc(
            id=id,
            name=id,
            lat=lat,
            lon=lon,
            radius_m=radius,
            district_id=district,
            partner_id=partner,
            live=live,
        )

    def spot(
        self, id: str, x: float, y: float, weight: float = 1.0, district: str | None = None
    ) -> DemandSpot:
        lon, lat = self.lonlat(x, y)
        return DemandSpot(id=id, lat=lat, lon=lon, weight=weight, district_id=district)

    def candidate(self, id: str, x: float, y: float, radius: float) -> Candidate:
        lon, lat = self.lonlat(x, y)
        return Candidate(id=id, name=id, lat=lat, lon=lon, radius_m=radius)

    def inputs(
        self,
        districts: Iterable[DistrictShape] = (),
        sites: Iterable[SiteDisc] = (),
        demand: Iterable[DemandSpot] = (),
        candidates: Iterable[Candidate] = (),
        *,
        candidate_source: CandidateSource | None = None,
        grid_spacing_m: float = 250.0,
        grid_radius_m: float = 60.0,
        gap_cell_m: float = 1000.0,
    ) -> CoverageInputs:
        """CoverageInputs in this city's projection (given candidates: source "file")."""
        cands = tuple(candidates)
        return CoverageInputs(
            districts=tuple(districts),
            sites=tuple(sites),
            demand=tuple(demand),
            candidates=cands,
            candidate_source=candidate_source or ("file" if cands else "grid"),
            grid_spacing_m=grid_spacing_m,
            grid_radius_m=grid_radius_m,
            gap_cell_m=gap_cell_m,
            epsg=self.epsg,
        )


@pytest.fixture
def city() -> MetricCity:
    """A city laid out in metres around Bekasi's centre (see :class:`MetricCity`)."""
    return MetricCity()
