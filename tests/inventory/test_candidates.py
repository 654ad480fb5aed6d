"""inventory.candidates: candidate files read with file:line errors, the stored list
replaced as a whole (SQLite and PostgreSQL), and a site's radius defaulting by kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.errors import InventoryError
from inventory.candidates import read_candidates, replace_candidates, stored_candidates
from inventory.db import transaction
from inventory.schemas import DEFAULT_RADIUS_M, SITE_KINDS, CandidateIn, SiteIn


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InventoryError) as failed:
        read_candidates(path)
    return failed.value.problems


def feature(props: dict[str, object], lon: float = 106.99, lat: float = -6.24) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def geojson(features: list[dict[str, object]]) -> str:
    """One feature per line, so a feature's line is its index + 3."""
    body = ",\n".join(json.dumps(f) for f in features)
    return '{"type": "FeatureCollection",\n "features": [\n' + body + "\n]}\n"


# --- CSV -----------------------------------------------------------------------------------


def test_csv_with_optional_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.csv",
        "id,name,lat,lon,kind,coverage_radius_m\n"
        "sd-01,SD Negeri 1,-6.24,106.99,school,75\n"
        "pole-7,,-6.25,107.0,,\n",
    )
    assert read_candidates(path) == [
        CandidateIn(
            id="sd-01",
            name="SD Negeri 1",
            lat=-6.24,
            lon=106.99,
            kind="school",
            coverage_radius_m=75.0,
        ),
        CandidateIn(id="pole-7", name="pole-7", lat=-6.25, lon=107.0),
    ]


def test_csv_minimal_header_names_default_to_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "\ufefflat,lon,id\n-6.2,106.9,a\n\n-6.3,106.8,b\n")
    found = read_candidates(path)
    assert [(c.id, c.name, c.coverage_radius_m, c.kind) for c in found] == [
        ("a", "a", None, None),
        ("b", "b", None, None),
    ]


def test_csv_every_bad_row_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.csv",
        "id,lat,lon,coverage_radius_m\n"
        "a,-6.2,106.9,\n"
        "b,-96,106.9,\n"  # line 3: latitude out of range
        "a,-6.2,106.8,\n"  # line 4: duplicate id
        '"c",-6.2,"x",0\n'  # line 5: lon not a number, radius 0
        ",-6.2,106.9,\n",  # line 6: no id
    )
    found = problems(path)
    assert found[0].startswith(f"{path}:3: candidates[1] id=b: lat: ")
    assert found[1] == f"{path}:4: candidates[2] id=a: id: duplicate id, first at line 2"
    assert [p.split(": ")[0] for p in found[2:]] == [f"{path}:5", f"{path}:5", f"{path}:6"]
    assert "lon:" in found[2] and "coverage_radius_m:" in found[3]
    assert "candidates[4] id=?: id: Field required" in found[4]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "empty CSV file"),
        ("id,lat,lon,height", "unknown column 'height'"),
        ("id,lat,lat,lon", "column 'lat' appears twice"),
        ("id,name,lat", "missing column(s) lon"),
    ],
)
def test_csv_bad_header_is_line_one(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, "c.csv", f"{header}\n")
    found = problems(path)
    assert found and all(p.startswith(f"{path}:1: ") for p in found)
    assert any(message in p for p in found)


def test_csv_row_with_too_many_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "id,lat,lon\na,-6.2,106.9,extra\n")
    assert problems(path) == [f"{path}:2: candidates[0]: 4 cells but the header has 3 columns"]


# --- GeoJSON -------------------------------------------------------------------------------


def test_geojson_points_with_properties_or_feature_id(tmp_path: Path) -> None:
    first = feature({"id": "sd-01", "name": "SD 1", "kind": "school", "coverage_radius_m": 70})
    second = {**feature({"owner": "dinas"}, lon=107.01, lat=-6.26), "id": "pole-9"}
    path = write(tmp_path, "c.geojson", geojson([first, second]))
    assert read_candidates(path) == [
        CandidateIn(
            id="sd-01", name="SD 1", lat=-6.24, lon=106.99, kind="school", coverage_radius_m=70
        ),
        CandidateIn(id="pole-9", name="pole-9", lat=-6.26, lon=107.01),
    ]


def test_geojson_bad_features_by_line(tmp_path: Path) -> None:
    polygon: dict[str, object] = {
        "type": "Feature",
        "properties": {"id": "x"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }
    features: list[dict[str, object]] = [
        feature({"id": "ok"}),  # line 3
        feature({"name": "no id"}),  # line 4
        polygon,  # line 5
        feature({"id": "far"}, lat=95.0),  # line 6
        feature({"id": "ok"}),  # line 7
        {
            "type": "Feature",
            "properties": {"id": "p"},
            "geometry": {"type": "Point", "coordinates": ["a", 1]},
        },  # line 8
    ]
    path = write(tmp_path, "c.json", geojson(features))
    found = problems(path)
    assert found[0] == f"{path}:4: candidates[1]: a candidate feature needs an id " + (
        "(properties.id or the feature id)"
    )
    assert found[1] == f"{path}:5: candidates[2]: a candidate feature needs a Point geometry"
    assert found[2].startswith(f"{path}:6: candidates[3] id=far: lat: ")
    assert found[3] == f"{path}:7: candidates[4] id=ok: id: duplicate id, first at line 3"
    assert found[4].startswith(f"{path}:8: candidates[5]: a Point's coordinates must be")
    assert len(found) == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "Feature"}', "expected a FeatureCollection"),
        ("[1, 2]", "expected a FeatureCollection"),
        ('{"type": "FeatureCollection",\n "features": [\n  {"a": ]\n]}', "3: GeoJSON syntax error"),
    ],
)
def test_geojson_not_a_collection(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "c.geojson", text)
    found = problems(path)
    assert len(found) == 1 and message in found[0] and found[0].startswith(f"{path}:")


def test_unsupported_and_unreadable_files(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "c.yaml", "x: 1")) == [
        f"{tmp_path / 'c.yaml'}: unsupported candidates file type '.yaml': use .csv or .geojson"
    ]
    missing = tmp_path / "none.csv"
    assert problems(missing)[0].startswith(f"{missing}: cannot read: ")


# --- stored --------------------------------------------------------------------------------


def test_replace_is_whole_and_in_the_callers_transaction(any_engine: Engine) -> None:
    first = [
        CandidateIn(id="b", name="B", lat=-6.2, lon=106.9, kind="pole"),
        CandidateIn(id="a", name="A", lat=-6.3, lon=106.8, coverage_radius_m=90),
    ]
    with transaction(any_engine) as session:
        assert replace_candidates(session, first) == 2
    with transaction(any_engine) as session:
        assert stored_candidates(session) == sorted(first, key=lambda c: c.id)

    second = [CandidateIn(id=f"c{i:04d}", name="x", lat=-6.2, lon=106.9) for i in range(2500)]
    with pytest.raises(RuntimeError), transaction(any_engine) as session:
        replace_candidates(session, second)
        raise RuntimeError("the import failed later")
    with transaction(any_engine) as session:
        assert [c.id for c in stored_candidates(session)] == ["a", "b"]  # rolled back
        assert replace_candidates(session, second) == 2500
    with transaction(any_engine) as session:
        assert [c.id for c in stored_candidates(session)] == [c.id for c in second]
        assert replace_candidates(session, []) == 0
    with transaction(any_engine) as session:
        assert stored_candidates(session) == []


def test_replace_refuses_duplicate_ids(any_engine: Engine) -> None:
    twice = [CandidateIn(id="a", name="A", lat=0, lon=0)] * 2
    with pytest.raises(InventoryError, match="duplicate id 'a'"), transaction(any_engine) as s:
        replace_candidates(s, twice)


# --- a site's radius by kind ---------------------------------------------------------------


@pytest.mark.parametrize("kind", SITE_KINDS)
def test_site_without_radius_gets_its_kinds(kind: str) -> None:
    site = SiteIn.model_validate({"id": "s", "name": "S", "lat": 0, "lon": 0, "kind": kind})
    assert site.coverage_radius_m == DEFAULT_RADIUS_M[kind]
    null = SiteIn.model_validate(
        {"id": "s", "name": "S", "lat": 0, "lon": 0, "kind": kind, "coverage_radius_m": None}
    )
    assert null.coverage_radius_m == DEFAULT_RADIUS_M[kind]


def test_site_radius_defaults() -> None:
    assert set(DEFAULT_RADIUS_M) == set(SITE_KINDS)
    plain = SiteIn.model_validate({"id": "s", "name": "S", "lat": 0, "lon": 0})
    assert (plain.kind, plain.coverage_radius_m) == ("other", 50.0)
    given = SiteIn.model_validate(
        {"id": "s", "name": "S", "lat": 0, "lon": 0, "kind": "park", "coverage_radius_m": "33"}
    )
    assert given.coverage_radius_m == 33.0
    with pytest.raises(ValueError, match="kind"):
        SiteIn.model_validate({"id": "s", "name": "S", "lat": 0, "lon": 0, "kind": "castle"})
