"""What a coverage analysis is computed from: plain, hashable values, no database.

:func:`planning.source.load_inputs` reads them from the inventory (scoped to a principal);
tests and benchmarks build them directly. Everything is in degrees (WGS84, as stored and
as the API speaks); the analysis projects to metres itself (:mod:`planning.projection`).

The inputs are frozen and hashable so that :attr:`CoverageInputs.design_key` and
:attr:`CoverageInputs.live_key` can key the cache (:mod:`planning.cache`): a change of
inventory changes the first, an AP going down changes only the second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: Where a suggestion's candidate places came from.
CandidateSource = Literal["inventory", "file", "grid"]


@dataclass(frozen=True, slots=True)
class DistrictShape:
    """A district and its boundary (a GeoJSON Polygon or MultiPolygon in lon/lat, as a
    JSON string so that it hashes; None when the city has not imported one)."""

    id: str
    name: str
    boundary_geojson: str | None


@dataclass(frozen=True, slots=True)
class SiteDisc:
    """A site as coverage sees it: a disc of ``radius_m`` around its position.

    ``live``: at least one of its APs is up now (a site with no AP, or whose APs are all
    down or not yet judged, is not live). Only active sites are loaded: planned and retired
    ones cover nothing.
    """

    id: str
    name: str
    lat: float
    lon: float
    radius_m: float
    district_id: str | None = None
    partner_id: str | None = None
    live: bool = True


@dataclass(frozen=True, slots=True)
class DemandSpot:
    """People at a point (a demand point): ``weight`` is the population it stands for.

    ``district_id``: as imported; None means "find it from the boundaries".
    """

    id: str
    lat: float
    lon: float
    weight: float
    district_id: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place a new site could be built, with the radius it would cover."""

    id: str
    name: str
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class CoverageInputs:
    """One consistent picture of the city for one analysis.

    ``candidates`` empty means "none given": the suggestions then use a regular grid over
    the districts (``grid_spacing_m``, ``grid_radius_m``). ``epsg`` None: the UTM zone of
    the city's centre. ``scope_partner``: the partner whose sites alone were loaded (the
    figures then say what its sites cover), None for the whole city.
    """

    districts: tuple[DistrictShape, ...]
    sites: tuple[SiteDisc, ...]
    demand: tuple[DemandSpot, ...]
    candidates: tuple[Candidate, ...] = ()
    candidate_source: CandidateSource = "grid"
    grid_spacing_m: float = 250.0
    grid_radius_m: float = 60.0
    gap_cell_m: float = 1000.0
    epsg: int | None = None
    scope_partner: str | None = None
    #: Free for the loader to note what it read (e.g. {"live_as_of": epoch}); not hashed.
    notes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def design_key(self) -> int:
        """Changes when anything but the live state changes."""
        return hash(
            (
                self.districts,
                tuple((s.id, s.lat, s.lon, s.radius_m, s.district_id) for s in self.sites),
                self.demand,
                self.candidates,
                self.candidate_source,
                self.grid_spacing_m,
                self.grid_radius_m,
                self.gap_cell_m,
                self.epsg,
                self.scope_partner,
            )
        )

    @property
    def live_key(self) -> int:
        """Changes when the design or any site's live state changes."""
        return hash((self.design_key, tuple(s.id for s in self.sites if s.live)))
