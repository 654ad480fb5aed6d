"""Which hotspot a report is about: the nearest reportable site whose radius reaches the
point, ties by site id; the SQL bounding box never changes the answer."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from citizens import matching
from citizens.matching import SiteMatch, haversine_m, nearest_site, picked_site
from inventory.models import AccessPoint, Site


def test_haversine_against_known_distances() -> None:
    assert haversine_m(-6.2, 106.8, -6.2, 106.8) == 0.0
    # One degree of latitude on the mean sphere, and a quarter of the equator.
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(0.0, 0.0, 0.0, 90.0) == pytest.approx(10_007_557.2, abs=0.5)
    # Along a parallel a degree of longitude shrinks with cos(latitude): 60° is half.
    assert haversine_m(60.0, 10.0, 60.0, 10.001) == pytest.approx(55.6, abs=0.05)
    assert haversine_m(-6.2, 106.8, -6.2005, 106.8) == haversine_m(-6.2005, 106.8, -6.2, 106.8)


@pytest.mark.parametrize(
    ("lat", "lon", "site", "distance"),
    [
        (-6.2, 106.8, "taman", 0.0),  # on it
        (-6.2004, 106.8, "halte", 11.1),  # in both discs: the nearer one
        (-6.2001, 106.8, "taman", 11.1),
        (-6.2, 106.8003, "taman", 33.2),  # on the planned site: the nearest active one
        (-6.2, 106.8008, None, None),  # 88 m from taman (80 m), 104 m from halte (100 m)
        (-6.199, 106.8, None, None),  # on a site whose APs are all disabled
        (-6.2122, 106.81, "pasar", 244.6),  # only the largest radius reaches
        (-6.22, 106.8201, "tie-a", 11.1),  # two sites on one spot: the smaller id
        (-6.5, 107.0, None, None),  # nowhere near
    ],
)
def test_nearest_site(
    hotspots: Session, lat: float, lon: float, site: str | None, distance: float | None
) -> None:
    found = nearest_site(hotspots, lat, lon)
    if site is None:
        assert found is None
    else:
        assert found is not None and (found.site_id, found.district_id) == (site, "d1")
        assert found.distance_m == pytest.approx(distance, abs=0.1)


def test_picked_site_must_be_reportable(hotspots: Session) -> None:
    assert picked_site(hotspots, "taman") == SiteMatch("taman", "Taman Kota", "d1", None)
    assert picked_site(hotspots, "planned") is None  # not active
    assert picked_site(hotspots, "dark") is None  # no enabled AP
    assert picked_site(hotspots, "nowhere") is None


def test_only_the_sites_in_the_bounding_box_are_read(
    hotspots: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Around taman the box spans the largest radius (pasar's 300 m): the database hands
    back taman and halte only (pasar is 1.5 km away, planned and dark are not
    reportable), in one query."""
    measured: list[tuple[float, float]] = []
    statements: list[str] = []

    def measuring(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        measured.append((lat2, lon2))
        return haversine_m(lat1, lon1, lat2, lon2)

    def seen(*args: object) -> None:
        statements.append(str(args[2]))

    monkeypatch.setattr(matching, "haversine_m", measuring)
    bind = hotspots.get_bind()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        found = nearest_site(hotspots, -6.2, 106.8)
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    assert found is not None and found.site_id == "taman"
    assert sorted(measured) == [(-6.2005, 106.8), (-6.2, 106.8)]
    assert len(statements) == 1


def test_matches_a_brute_force_search_over_many_sites(hotspots: Session) -> None:
    """Random sites and radii, random points: the bounding box drops no answer."""
    rng = random.Random(16)
    for n in range(40):
        site_id = f"r{n:02d}"
        hotspots.add(
            Site(
                id=site_id, name=site_id, lat=-6.3 + rng.uniform(-0.01, 0.01),
                lon=106.9 + rng.uniform(-0.01, 0.01), district_id="d1", kind="park",
                coverage_radius_m=rng.choice([30.0, 80.0, 150.0, 600.0]), status="active",
            )
        )  # fmt: skip
        hotspots.flush()
        hotspots.add(
            AccessPoint(
                id=f"{site_id}-a", site_id=site_id, name=site_id, host=f"127.5.0.{n + 1}",
                snmp_port=161, ssh_port=22, profile="generic", credential_id="cred",
                enabled=True,
            )
        )  # fmt: skip
    hotspots.flush()
    sites = hotspots.execute(
        select(Site.id, Site.lat, Site.lon, Site.coverage_radius_m).where(Site.id.like("r%"))
    ).all()
    for _ in range(150):
        lat, lon = -6.3 + rng.uniform(-0.015, 0.015), 106.9 + rng.uniform(-0.015, 0.015)
        reach = sorted(
            (haversine_m(lat, lon, s_lat, s_lon), s_id)
            for s_id, s_lat, s_lon, radius in sites
            if haversine_m(lat, lon, s_lat, s_lon) <= radius
        )
        found = nearest_site(hotspots, lat, lon)
        assert (found.site_id if found else None) == (reach[0][1] if reach else None)
