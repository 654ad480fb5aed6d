"""District boundaries from GeoJSON and demand points from CSV: same rules as any row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.errors import InventoryError
from inventory import export_yaml, import_file
from inventory.db import open_inventory
from inventory.models import DemandPoint, District
from inventory.secretbox import SecretBox

SQUARE = [[[106.9, -6.2], [106.91, -6.2], [106.91, -6.21], [106.9, -6.21], [106.9, -6.2]]]


@pytest.fixture
def engine(tmp_path: Path, secret_box: SecretBox, database_url: str) -> Engine:
    engine = open_inventory(database_url, create=True)
    (tmp_path / "base.yaml").write_text("districts: [{id: d01, name: Bekasi Timur}]\n")
    import_file(engine, tmp_path / "base.yaml", secret_box)
    return engine


def feature(district_id: str, geometry: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"id": district_id, "name": "Bekasi Timur"},
        "geometry": geometry,
    }


def write_geojson(path: Path, *features: object) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}, indent=1))
    return path


def test_boundaries_import_and_survive_a_yaml_reimport(
    engine: Engine, tmp_path: Path, secret_box: SecretBox
) -> None:
    path = write_geojson(
        tmp_path / "d.geojson", feature("d01", {"type": "Polygon", "coordinates": SQUARE})
    )
    assert import_file(engine, path, secret_box).counts["districts"] == {
        "created": 0,
        "updated": 1,
        "unchanged": 0,
    }
    import_file(engine, tmp_path / "base.yaml", secret_box)
    with Session(engine) as session:
        stored = session.scalar(select(District.boundary_geojson))
    assert stored is not None and json.loads(stored)["coordinates"] == SQUARE
    exported = export_yaml(engine)
    assert "boundary:" in exported
    again = tmp_path / "again.yaml"
    again.write_text(exported)
    assert import_file(engine, again, secret_box).counts["districts"]["unchanged"] == 1


def test_bad_feature_is_reported_by_line_and_nothing_changes(
    engine: Engine, tmp_path: Path, secret_box: SecretBox
) -> None:
    open_ring = [[[106.9, -6.2], [106.91, -6.2], [106.91, -6.21], [106.9, -6.21]]]
    path = write_geojson(
        tmp_path / "d.geojson",
        feature("d01", {"type": "Polygon", "coordinates": SQUARE}),
        feature("d02", {"type": "Polygon", "coordinates": open_ring}),
        feature("d03", {"type": "Point", "coordinates": [106.9, -6.2]}),
    )
    with pytest.raises(InventoryError) as caught:
        import_file(engine, path, secret_box)
    text = path.read_text().splitlines()
    lines = [int(p.split(":")[1]) for p in caught.value.problems]
    assert len(lines) == 2
    assert '"type": "Feature"' in text[lines[0] - 1] or text[lines[0] - 1].strip() == "{"
    assert "must end where it starts" in caught.value.problems[0]
    assert "Polygon or MultiPolygon" in caught.value.problems[1]
    with Session(engine) as session:
        assert session.scalar(select(District.boundary_geojson)) is None


def test_demand_csv_with_a_bad_row(engine: Engine, tmp_path: Path, secret_box: SecretBox) -> None:
    good = tmp_path / "demand.csv"
    good.write_text("id,lat,lon,weight,district\ng1,-6.2,106.9,1200,d01\ng2,-6.21,106.91,80,\n")
    assert import_file(engine, good, secret_box).counts["demand"]["created"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,lat,lon,weight,district\ng3,-6.2,106.9,1200,d01\ng4,-6.2,106.9,5,d09\n"
        "g5,-6.2,106.9,-5,d01\n"
    )
    with pytest.raises(InventoryError) as caught:
        import_file(engine, bad, secret_box)
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{bad}:3:") and "unknown district 'd09'" in problems[0]
    assert problems[1].startswith(f"{bad}:4:") and "weight" in problems[1]
    with Session(engine) as session:
        assert session.get(DemandPoint, "g3") is None
