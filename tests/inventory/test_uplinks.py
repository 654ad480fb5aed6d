"""Topology in the inventory: the ``uplinks`` section, ``site.uplink`` (YAML and CSV), their
checks, and migration 0005 that adds them to an existing database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from inventory import export_doc, import_file
from inventory.db import make_engine
from inventory.migrations import downgrade, upgrade
from inventory.models import Site, Uplink
from inventory.secretbox import SecretBox

Write = Callable[[Path, str, str], Path]
Problems = Callable[[Engine, Path], list[str]]
LineOf = Callable[[str, str], int]

BEFORE, UPLINKS = "0004_sealed_secrets", "0005_uplinks"


def uplinks_of(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        return {site: uplink for site, uplink in session.execute(select(Site.id, Site.uplink_id))}


def test_uplinks_and_site_uplinks_are_imported(
    engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    report = import_file(engine, city_file, secret_box)

    assert report.counts["uplinks"] == {"created": 2, "updated": 0, "unchanged": 0}
    with Session(engine) as session:
        u01 = session.get_one(Uplink, "u01")
    assert (u01.name, u01.operator) == ("OLT Bekasi Timur 1", "PT Serat Optik Kota")
    # u01 serves sites in two districts: the topology is not the district map.
    assert uplinks_of(engine) == {"s0001": "u01", "s0002": "u02", "s0003": "u01", "s0004": None}
    again = import_file(engine, city_file, secret_box)
    assert again.counts["uplinks"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert again.counts["sites"]["updated"] == 0


def test_unknown_uplink_is_a_file_line_problem(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems, line_of: LineOf
) -> None:
    body = (
        "uplinks:\n"
        "  - {id: u01, name: OLT Timur, operator: PT Serat}\n"
        "  - {id: u02, name: No operator}\n"
        "sites:\n"
        "  - {id: s1, name: Taman, lat: -6.2, lon: 106.9, uplink: u01}\n"
        "  - {id: s2, name: Pasar, lat: -6.2, lon: 106.9, uplink: u99}\n"
        "  - {id: s3, name: Halte, lat: -6.2, lon: 106.9, uplink: u02}\n"
    )
    path = write(tmp_path, "topology.yaml", body)

    problems = failed_import(engine, path)

    assert problems == [
        f"{path}:{line_of(body, 'No operator')}: uplinks[1] id=u02: operator: Field required",
        f"{path}:{line_of(body, 'u99')}: sites[1] id=s2: uplink: unknown uplink 'u99' "
        "(neither in this file nor in the database)",
    ]  # s3 names the invalid u02: it counts as present, so only the uplink row is wrong


def test_a_site_may_name_an_uplink_already_stored(
    engine: Engine, city_file: Path, tmp_path: Path, write: Write, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    path = write(
        tmp_path,
        "more.yaml",
        "sites:\n  - {id: s0009, name: Halte Baru, lat: -6.2, lon: 106.9, uplink: u02}\n",
    )
    import_file(engine, path, secret_box)
    assert uplinks_of(engine)["s0009"] == "u02"


def test_uplink_capacity_is_imported_changed_and_exported(
    any_engine: Engine, tmp_path: Path, write: Write, secret_box: SecretBox
) -> None:
    """``capacity_mbps`` is optional (the fault engine judges backhaul_saturated only
    where it is known); an export names it only when set, so a city without capacities
    exports as before; an import owns it like every column: left out, it is cleared."""
    body = (
        "uplinks:\n"
        "  - {id: u01, name: OLT Timur, operator: PT Serat, capacity_mbps: 1000}\n"
        "  - {id: u02, name: Hub Barat, operator: PT Radio}\n"
    )
    import_file(any_engine, write(tmp_path, "a.yaml", body), secret_box)
    assert export_doc(any_engine)["uplinks"] == [
        {"id": "u01", "name": "OLT Timur", "operator": "PT Serat", "capacity_mbps": 1000.0},
        {"id": "u02", "name": "Hub Barat", "operator": "PT Radio"},
    ]
    changed = body.replace("capacity_mbps: 1000}", "capacity_mbps: 2500.5}").replace(
        "PT Radio}", "PT Radio, capacity_mbps: 200}"
    )
    report = import_file(any_engine, write(tmp_path, "b.yaml", changed), secret_box)
    assert report.counts["uplinks"] == {"created": 0, "updated": 2, "unchanged": 0}
    with Session(any_engine) as session:
        stored = {u: c for u, c in session.execute(select(Uplink.id, Uplink.capacity_mbps))}
    assert stored == {"u01": 2500.5, "u02": 200.0}
    report = import_file(any_engine, write(tmp_path, "c.yaml", body), secret_box)
    assert report.counts["uplinks"] == {"created": 0, "updated": 2, "unchanged": 0}
    assert [u.get("capacity_mbps") for u in export_doc(any_engine)["uplinks"]] == [1000.0, None]


def test_an_impossible_capacity_is_a_file_line_problem(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems, line_of: LineOf
) -> None:
    body = (
        "uplinks:\n"
        "  - {id: u01, name: OLT Timur, operator: PT Serat, capacity_mbps: 0}\n"
        "  - {id: u02, name: Hub Barat, operator: PT Radio, capacity_mbps: lots}\n"
    )
    path = write(tmp_path, "bad.yaml", body)
    problems = failed_import(engine, path)
    assert problems == [
        f"{path}:{line_of(body, 'u01')}: uplinks[0] id=u01: capacity_mbps: "
        "Input should be greater than 0",
        f"{path}:{line_of(body, 'u02')}: uplinks[1] id=u02: capacity_mbps: "
        "Input should be a valid number, unable to parse string as a number",
    ]


def test_sites_csv_with_an_uplink_column(
    engine: Engine, city_file: Path, tmp_path: Path, write: Write, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    path = write(
        tmp_path,
        "sites.csv",
        "id,name,lat,lon,district,uplink\n"
        "s0201,Taman Baru,-6.2,106.9,d01,u02\n"
        "s0202,Pasar Baru,-6.21,106.91,d02,\n"
        # an existing site moved to another uplink
        "s0001,Taman Kota Bekasi,-6.2,106.92,d01,u02\n",
    )
    report = import_file(engine, path, secret_box)
    assert report.counts == {"sites": {"created": 2, "updated": 1, "unchanged": 0}}
    found = uplinks_of(engine)
    assert (found["s0201"], found["s0202"], found["s0001"]) == ("u02", None, "u02")


def test_unknown_uplink_in_csv(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    path = write(tmp_path, "sites.csv", "id,name,lat,lon,uplink\ns1,Taman,-6.2,106.9,nowhere\n")
    assert failed_import(engine, path) == [
        f"{path}:2: sites[0] id=s1: uplink: unknown uplink 'nowhere' "
        "(neither in this file nor in the database)"
    ]


def test_a_site_left_without_uplink_loses_it(
    engine: Engine, city_file: Path, tmp_path: Path, write: Write, secret_box: SecretBox
) -> None:
    """An import owns every column of the rows it gives (like district and partner), so a
    site re-imported without ``uplink`` hangs off none; the uplink itself stays."""
    import_file(engine, city_file, secret_box)
    path = write(
        tmp_path,
        "s1.yaml",
        "sites:\n  - {id: s0001, name: Taman Kota Bekasi, lat: -6.2, lon: 106.92, "
        "district: d01, partner: p01, kind: park, coverage_radius_m: 80}\n",
    )
    assert import_file(engine, path, secret_box).counts["sites"]["updated"] == 1
    assert uplinks_of(engine)["s0001"] is None
    assert [u["id"] for u in export_doc(engine)["uplinks"]] == ["u01", "u02"]


def test_migration_adds_topology_to_a_city_and_takes_it_away(
    new_db_url: Callable[[], str],
) -> None:
    """On SQLite (batch mode: the sites table is copied) and PostgreSQL (in place): the
    existing sites keep their rows, with no uplink; the downgrade gives them back as
    they were."""
    url = new_db_url()
    upgrade(url, to=BEFORE)
    engine = make_engine(url)
    try:
        site = "INSERT INTO sites VALUES ('s1', 'Taman', -6.2, 106.9, NULL, NULL, 'park', 50.0, "
        with engine.begin() as connection:
            connection.execute(text(site + "'active')"))
        upgrade(url, to=UPLINKS)
        with engine.begin() as connection:
            found = inspect(connection)
            assert [c["name"] for c in found.get_columns("uplinks")] == ["id", "name", "operator"]
            assert ("ix_sites_uplink_id", ["uplink_id"]) in [
                (ix["name"], ix["column_names"]) for ix in found.get_indexes("sites")
            ]
            assert (["uplink_id"], "uplinks") in [
                (fk["constrained_columns"], fk["referred_table"])
                for fk in found.get_foreign_keys("sites")
            ]
            assert connection.execute(text("SELECT id, uplink_id FROM sites")).all() == [
                ("s1", None)
            ]
            connection.execute(text("INSERT INTO uplinks VALUES ('u1', 'OLT', 'PT Serat')"))
            connection.execute(text("UPDATE sites SET uplink_id = 'u1'"))
        assert downgrade(url, to=BEFORE) == BEFORE
        with engine.connect() as connection:
            found = inspect(connection)
            assert "uplinks" not in found.get_table_names()
            assert "uplink_id" not in [c["name"] for c in found.get_columns("sites")]
            assert connection.execute(text("SELECT id, name FROM sites")).all() == [("s1", "Taman")]
    finally:
        engine.dispose()
