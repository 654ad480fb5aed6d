"""planning.source.load_inputs: the inventory as coverage inputs, scoped, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text, update
from sqlalchemy.orm import Session

from core.access import Scope
from core.settings import Settings
from inventory.candidates import replace_candidates
from inventory.db import open_inventory, transaction
from inventory.models import (
    AccessPoint,
    ApStatus,
    CredentialProfile,
    DemandPoint,
    District,
    Partner,
    Site,
)
from inventory.schemas import CandidateIn
from planning.inputs import Candidate, CoverageInputs, DemandSpot, DistrictShape
from planning.source import load_inputs

BOUNDARY = (
    '{"type": "Polygon", "coordinates": [[[106.9, -6.3], [107.0, -6.3], [107.0, -6.2], '
    "[106.9, -6.2], [106.9, -6.3]]]}"
)
CITY, P1, P2 = Scope(), Scope("p1"), Scope("p2")

# site -> (partner, status, radius, APs as (id, enabled, state or None: never judged, last_poll))
SITES: dict[str, tuple[str | None, str, float, list[tuple[str, bool, str | None, float]]]] = {
    "s1": ("p1", "active", 80.0, [("a1", True, "up", 100.0), ("a1b", True, "down", 50.0)]),
    "s2": ("p1", "active", 40.0, [("a2", True, "down", 200.0), ("a3", False, "up", 300.0)]),
    "s3": (None, "active", 50.0, [("a4", True, None, 0.0)]),
    "s4": ("p1", "planned", 60.0, [("a6", True, "up", 500.0)]),
    "s5": (None, "retired", 60.0, [("a7", True, "up", 600.0)]),
    "s6": ("p2", "active", 70.0, [("a5", True, "up", 400.0)]),
    "s7": (None, "active", 60.0, []),
}


@pytest.fixture(params=("sqlite", "postgresql"))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new, empty inventory at the newest schema on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'inventory.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    opened = open_inventory(url, create=True)
    yield opened
    opened.dispose()


@pytest.fixture
def city_engine(engine: Engine) -> Engine:
    """Two partners, a district with a boundary and one without, the sites above (active,
    planned, retired; APs up, down, disabled, never judged, none), three demand points."""
    with transaction(engine) as s:
        s.add_all(
            [
                Partner(id="p1", name="One"),
                Partner(id="p2", name="Two"),
                District(id="d2", name="Bare", boundary_geojson=None),
                District(id="d1", name="Shaped", boundary_geojson=BOUNDARY),
                CredentialProfile(id="cred", snmp_version="2c"),
            ]
        )
        s.flush()
        for n, (site_id, (partner, status, radius, aps)) in enumerate(SITES.items()):
            s.add(
                Site(
                    id=site_id,
                    name=f"Site {site_id}",
                    lat=-6.25 + n / 1000,
                    lon=106.95,
                    district_id="d1",
                    partner_id=partner,
                    kind="park",
                    coverage_radius_m=radius,
                    status=status,
                )
            )
            s.flush()
            for ap_id, enabled, state, polled in aps:
                s.add(
                    AccessPoint(
                        id=ap_id,
                        site_id=site_id,
                        name=ap_id,
                        host="127.0.0.1",
                        snmp_port=161,
                        ssh_port=22,
                        profile="auto",
                        credential_id="cred",
                        enabled=enabled,
                    )
                )
                s.flush()
                if state is not None:
                    s.add(ApStatus(ap_id=ap_id, state=state, last_poll=polled))
        s.add_all(
            [
                DemandPoint(id="dp3", lat=-6.21, lon=106.91, weight=3.0, district_id=None),
                DemandPoint(id="dp1", lat=-6.22, lon=106.92, weight=1.5, district_id="d1"),
                DemandPoint(id="dp2", lat=-6.23, lon=106.93, weight=2.0, district_id="d2"),
            ]
        )
    return engine


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=tmp_path / "state", **overrides)


def load(
    engine: Engine, scope: Scope, tmp_path: Path, candidates: Sequence[Candidate] | None = None
) -> CoverageInputs:
    with Session(engine) as session:
        return load_inputs(session, scope, settings(tmp_path), candidates=candidates)


def test_whole_city(city_engine: Engine, tmp_path: Path) -> None:
    with Session(city_engine) as session:
        inputs = load_inputs(
            session,
            CITY,
            settings(
                tmp_path,
                coverage_epsg=32748,
                coverage_candidate_spacing_m=300.0,
                coverage_candidate_radius_m=55.0,
                coverage_gap_cell_m=500.0,
            ),
        )
    # Active sites only, by id; live = an enabled AP is up (s2's up AP is disabled, s3's
    # was never judged, s7 has none).
    assert [(s.id, s.live, s.radius_m, s.partner_id) for s in inputs.sites] == [
        ("s1", True, 80.0, "p1"),
        ("s2", False, 40.0, "p1"),
        ("s3", False, 50.0, None),
        ("s6", True, 70.0, "p2"),
        ("s7", False, 60.0, None),
    ]
    first = inputs.sites[0]
    assert (first.name, first.lat, first.lon, first.district_id) == ("Site s1", -6.25, 106.95, "d1")
    assert inputs.districts == (
        DistrictShape("d1", "Shaped", BOUNDARY),
        DistrictShape("d2", "Bare", None),
    )
    assert inputs.demand == (
        DemandSpot("dp1", -6.22, 106.92, 1.5, "d1"),
        DemandSpot("dp2", -6.23, 106.93, 2.0, "d2"),
        DemandSpot("dp3", -6.21, 106.91, 3.0, None),
    )
    assert (inputs.candidates, inputs.candidate_source) == ((), "grid")
    assert (inputs.grid_spacing_m, inputs.grid_radius_m, inputs.gap_cell_m) == (300, 55, 500)
    assert (inputs.epsg, inputs.scope_partner) == (32748, None)
    # The newest poll of any AP (also of a planned site's: the collector polled it).
    assert inputs.notes == {"live_as_of": 600.0}


def test_a_partner_gets_only_its_own_sites(city_engine: Engine, tmp_path: Path) -> None:
    mine = load(city_engine, P1, tmp_path)
    assert [(s.id, s.live) for s in mine.sites] == [("s1", True), ("s2", False)]
    assert mine.scope_partner == "p1"
    assert len(mine.districts) == 2 and len(mine.demand) == 3  # public facts
    assert mine.notes == {"live_as_of": 500.0}  # its own APs' polls only
    other = load(city_engine, P2, tmp_path)
    assert [s.id for s in other.sites] == ["s6"] and other.notes == {"live_as_of": 400.0}
    nobody = load(city_engine, Scope("p-none"), tmp_path)
    assert nobody.sites == () and nobody.notes == {"live_as_of": None}
    assert mine.design_key != load(city_engine, CITY, tmp_path).design_key


def test_candidates_given_stored_or_grid(city_engine: Engine, tmp_path: Path) -> None:
    given = (Candidate("f1", "From file", -6.2, 106.9, 45.0),)
    from_file = load(city_engine, CITY, tmp_path, candidates=given)
    assert (from_file.candidates, from_file.candidate_source) == (given, "file")

    with transaction(city_engine) as session:
        replace_candidates(
            session,
            [
                CandidateIn(id="c2", name="Pole", lat=-6.21, lon=106.91),
                CandidateIn(id="c1", name="School", lat=-6.22, lon=106.92, coverage_radius_m=90),
            ],
        )
    stored = load(city_engine, CITY, tmp_path)
    assert stored.candidate_source == "inventory"
    assert stored.candidates == (
        Candidate("c1", "School", -6.22, 106.92, 90.0),
        Candidate("c2", "Pole", -6.21, 106.91, 60.0),  # the setting's default radius
    )
    # A file still wins over the stored list; an empty file means "no candidates".
    assert load(city_engine, CITY, tmp_path, candidates=given).candidates == given
    empty = load(city_engine, CITY, tmp_path, candidates=())
    assert (empty.candidates, empty.candidate_source) == ((), "file")


def test_keys_follow_inventory_and_live_state(city_engine: Engine, tmp_path: Path) -> None:
    before = load(city_engine, CITY, tmp_path)
    assert load(city_engine, CITY, tmp_path) == before  # deterministic
    with transaction(city_engine) as session:
        session.execute(update(ApStatus).where(ApStatus.ap_id == "a1").values(state="down"))
    down = load(city_engine, CITY, tmp_path)
    assert [s.live for s in down.sites] == [False, False, False, True, False]
    assert down.design_key == before.design_key and down.live_key != before.live_key
    with transaction(city_engine) as session:
        session.execute(update(Site).where(Site.id == "s7").values(coverage_radius_m=65.0))
    moved = load(city_engine, CITY, tmp_path)
    assert moved.design_key != down.design_key and moved.live_key != down.live_key


def test_a_big_city_loads_fast(engine: Engine, tmp_path: Path) -> None:
    """1,000 sites with 2 APs each and 10,000 demand points: well under 100 ms."""
    with transaction(engine) as s:
        s.add(CredentialProfile(id="cred", snmp_version="2c"))
        s.flush()
        s.execute(
            insert(Site),
            [
                dict(
                    id=f"s{i:04d}",
                    name="x",
                    lat=-6.2 - i / 1e4,
                    lon=106.9,
                    kind="park",
                    coverage_radius_m=60.0,
                    status="active",
                )
                for i in range(1000)
            ],
        )
        aps = [(f"a{i:04d}{n}", f"s{i:04d}") for i in range(1000) for n in "ab"]
        s.execute(
            insert(AccessPoint),
            [
                dict(
                    id=ap,
                    site_id=site,
                    name=ap,
                    host="127.0.0.1",
                    snmp_port=161,
                    ssh_port=22,
                    profile="auto",
                    credential_id="cred",
                    enabled=True,
                )
                for ap, site in aps
            ],
        )
        s.execute(
            insert(ApStatus),
            [dict(ap_id=ap, state="up" if ap.endswith("a") else "down") for ap, _ in aps[::3]],
        )
        s.execute(
            insert(DemandPoint),
            [
                dict(id=f"d{j:05d}", lat=-6.2, lon=106.9 + j / 1e5, weight=1.0)
                for j in range(10_000)
            ],
        )
    if engine.dialect.name == "postgresql":
        # As autovacuum would have by now: without statistics on tables filled a moment
        # ago the planner guesses one row each and nests loops (a few times slower).
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    # Its cost (about 30 ms on SQLite, 36 ms on PostgreSQL) is measured by
    # bench/bench_coverage.py, not asserted here.
    inputs = load(engine, CITY, tmp_path)
    assert len(inputs.sites) == 1000 and len(inputs.demand) == 10_000
    assert sum(s.live for s in inputs.sites) == len([ap for ap, _ in aps[::3] if ap[-1] == "a"])
