"""``citywifi coverage``: the table and its ``--json``, gaps to a file, suggestions, what-if,
candidates import and list, and one-line errors. On the spread city of
:mod:`tests.fixtures.coverage_city` (s-park live and s-school down in North, s-market live
in South, 60 m each)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from citywifi.cli import app
from core.settings import Settings
from inventory.db import open_inventory
from inventory.models import AuditEntry
from tests.fixtures.coverage_city import DEMAND, RADIUS_M, build_coverage_city

runner = CliRunner()
DISC_M2 = math.pi * RADIUS_M**2


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> Path:
    """The commands' data dir; their inventory is the run's database (``--database``)."""
    return tmp_path / "state"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = open_inventory(Settings(data_dir=data_dir).db_url, create=True)
    build_coverage_city(engine)
    yield engine
    engine.dispose()


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data_dir), "coverage", *args])


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_table(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["DISTRICT", "NAME"]
    north, south, city = lines[1].split(), lines[2].split(), lines[3].split()
    assert north[:2] == ["d-north", "North"] and north[-1] == "1/2"
    assert north[4:6] == ["100.0", "66.7"]  # demand %, live demand %
    assert south[:2] == ["d-south", "South"] and south[4:6] == ["80.0", "80.0"]
    assert city[0] == "city" and city[-1] == "2/3"


def test_json_is_one_object_per_district(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["district"] for row in rows] == ["d-north", "d-south"]
    north, south = rows
    for row in rows:
        for key in ("designed_pct", "live_pct", "demand_pct"):
            assert 0 <= row[key] <= 100
    assert north["designed_km2"] * 1e6 == pytest.approx(2 * DISC_M2, rel=0.01)
    assert north["live_pct"] == pytest.approx(north["designed_pct"] / 2, rel=0.01)
    assert (north["demand_pct"], south["demand_pct"]) == (100, 80)
    assert south["live_pct"] == south["designed_pct"] > 0

    one = json.loads(run(data_dir, "--district", "d-south", "--json").stdout)
    assert one == [south]


def test_unknown_district_is_one_line(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "--district", "zz")
    assert result.exit_code == 1
    assert one_error_line(result) == "error: no district with id 'zz'"


def test_missing_inventory_is_one_line(data_dir: Path) -> None:
    result = run(data_dir)
    assert result.exit_code == 1
    one_error_line(result)


def test_gaps_to_a_file(engine: Engine, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "gaps.geojson"
    result = run(data_dir, "gaps", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"to {out}" in result.stderr
    collection = json.loads(out.read_text())
    assert collection["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in collection["features"]]
    assert kinds.count("fault") == 1
    fault = next(f for f in collection["features"] if f["properties"]["kind"] == "fault")
    assert fault["properties"]["sites"] == ["s-school"]
    assert fault["properties"]["demand"] == 50
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    stdout = run(data_dir, "gaps", "--kind", "design", "--district", "d-south", "--limit", "1")
    assert stdout.exit_code == 0, stdout.output
    (only,) = json.loads(stdout.stdout)["features"]
    assert only["properties"]["kind"] == "design" and only["properties"]["district"] == "d-south"


def test_gaps_into_a_missing_directory_is_one_line(
    engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    result = run(data_dir, "gaps", "-o", str(tmp_path / "nowhere" / "gaps.geojson"))
    assert result.exit_code == 1
    assert "nowhere" in one_error_line(result)


def test_suggest_on_the_grid(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "suggest", "-k", "2", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["k"] == 2 and body["method"] == "optimal" and body["status"] == "optimal"
    assert body["candidate_source"] == "grid"
    assert body["greedy_demand"] <= body["optimal_demand"]

    table = run(data_dir, "suggest", "-k", "1", "--method", "greedy")
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split()[:2] == ["#", "CANDIDATE"]
    assert "greedy (greedy)" in table.stdout


def test_suggest_from_a_file_and_too_many(engine: Engine, data_dir: Path, tmp_path: Path) -> None:
    lat, lon, weight, _district = DEMAND["dp-s2"]
    places = tmp_path / "places.csv"
    places.write_text(f"id,name,lat,lon,coverage_radius_m\nc-on,On,{lat},{lon},40\n")
    result = run(data_dir, "suggest", "-k", "1", "--candidates", str(places), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["candidate_source"] == "file"
    assert [s["candidate"] for s in body["sites"]] == ["c-on"]
    assert body["added_demand"] == weight and body["sites"][0]["radius_m"] == 40

    refused = run(data_dir, "suggest", "-k", "2", "--candidates", str(places))
    assert refused.exit_code == 1
    one_error_line(refused)


def test_whatif(engine: Engine, data_dir: Path) -> None:
    result = run(data_dir, "whatif", "--fail", "s-park", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["failed"] == ["s-park"] and body["demand_lost"] == 100

    lat, lon, weight, _district = DEMAND["dp-s2"]
    table = run(data_dir, "whatif", "--remove", "s-market", "--add", f"{lat},{lon},30")
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split()[:2] == ["DISTRICT", "NAME"]
    assert f"{weight:g} people gain it" in table.stdout
    assert "(80 people) lose service" in table.stdout


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ((), 2),  # nothing asked
        (("--add", "north,east"), 2),
        (("--add", "91,0"), 2),
        (("--fail", "zz-nowhere"), 1),
    ],
)
def test_whatif_errors_are_one_line(
    engine: Engine, data_dir: Path, args: tuple[str, ...], status: int
) -> None:
    result = run(data_dir, "whatif", *args)
    assert result.exit_code == status, result.output
    one_error_line(result)


def test_candidates_import_and_list(engine: Engine, data_dir: Path, tmp_path: Path) -> None:
    assert run(data_dir, "candidates", "list").stderr.startswith("no candidate places")
    places = tmp_path / "places.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"id": f"c-{n}", "kind": "pole"}}
        for n, (lat, lon, _w, _d) in enumerate(DEMAND.values())
    ]  # fmt: skip
    places.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = run(data_dir, "candidates", "import", str(places))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("imported 4 candidate places")
    with Session(engine) as session:
        (entry,) = session.scalars(select(AuditEntry))
    assert (entry.action, entry.target, entry.detail) == (
        "candidates_imported", str(places), "4 candidate places",
    )  # fmt: skip
    assert entry.actor.startswith("cli:")
    listed = run(data_dir, "candidates", "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "ID", "c-0", "c-1", "c-2", "c-3",
    ]  # fmt: skip
    assert "60 (setting)" in listed.stdout
    suggested = json.loads(run(data_dir, "suggest", "-k", "1", "--json").stdout)
    assert suggested["candidate_source"] == "inventory" and suggested["candidates"] == 4


def test_candidates_import_of_a_bad_file_changes_nothing(
    engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lat,lon\nc-1,95,0\n")
    result = run(data_dir, "candidates", "import", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:2:" in one_error_line(result)
    assert run(data_dir, "candidates", "list").stderr.startswith("no candidate places")
