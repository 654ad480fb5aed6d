from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inventory import import_file
from inventory.models import AccessPoint, Site
from inventory.secretbox import SecretBox

Counts = Callable[[Engine], dict[str, int]]
Write = Callable[[Path, str, str], Path]
Problems = Callable[[Engine, Path], list[str]]


@pytest.fixture
def city(engine: Engine, city_file: Path, secret_box: SecretBox) -> Engine:
    import_file(engine, city_file, secret_box)
    return engine


def test_sites_csv(city: Engine, data_dir: Path, secret_box: SecretBox) -> None:
    report = import_file(city, data_dir / "sites.csv", secret_box)

    assert report.counts == {"sites": {"created": 3, "updated": 0, "unchanged": 0}}
    with Session(city) as session:
        lansia = session.get_one(Site, "s0101")
        assert (lansia.lat, lansia.coverage_radius_m, lansia.partner_id) == (-6.202, 60.0, "p01")
        alun = session.get_one(Site, "s0102")
        # empty cells: null references and the schema's defaults
        assert alun.name == "Alun-alun, Selatan"
        assert (alun.district_id, alun.partner_id, alun.kind, alun.status) == (
            None,
            None,
            "other",
            "active",
        )
        assert alun.coverage_radius_m == 50.0


def test_aps_csv_and_enabled_spellings(city: Engine, data_dir: Path, secret_box: SecretBox) -> None:
    import_file(city, data_dir / "sites.csv", secret_box)

    report = import_file(city, data_dir / "aps.csv", secret_box)

    assert report.counts == {"aps": {"created": 4, "updated": 0, "unchanged": 0}}
    with Session(city) as session:
        aps = {ap.id: ap for ap in session.query(AccessPoint).filter(AccessPoint.id.like("ap01%"))}
    assert {ap_id: ap.enabled for ap_id, ap in aps.items()} == {
        "ap0101": True,
        "ap0102": False,
        "ap0103": True,
        "ap0104": True,
    }
    assert (aps["ap0101"].snmp_port, aps["ap0101"].ssh_port) == (1161, 2222)
    assert (aps["ap0102"].snmp_port, aps["ap0102"].profile) == (161, "auto")
    assert aps["ap0102"].credential_id == "v3-core"
    assert import_file(city, data_dir / "aps.csv", secret_box).counts["aps"]["unchanged"] == 4


def test_csv_bad_rows_report_their_physical_line(
    city: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    text = (
        "id,name,lat,lon,district\n"
        's0201,"A name\n'
        'over two lines",1,2,d01\n'
        "\n"
        "s0202,Far north,123,2,d01\n"
        "s0203,Nowhere,1,2,d77\n"
    )
    path = write(tmp_path, "sites.csv", text)

    assert failed_import(city, path) == [
        f"{path}:5: sites[1] id=s0202: lat: Input should be less than or equal to 90",
        f"{path}:6: sites[2] id=s0203: district: unknown district 'd77' "
        "(neither in this file nor in the database)",
    ]


def test_aps_csv_bad_enabled_and_missing_site(
    city: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    text = (
        "id,site,name,host,credentials,enabled\n"
        "ap0201,s0001,a,127.1.2.1,snmp-d01,maybe\n"
        "ap0202,s9999,b,127.1.2.2,snmp-d01,true\n"
        "ap0203,s0001,c,127.1.2.3,snmp-d01,true,extra\n"
    )
    path = write(tmp_path, "aps.csv", text)

    assert failed_import(city, path) == [
        f"{path}:2: aps[0] id=ap0201: enabled: Input should be a valid boolean, "
        "unable to interpret input",
        f"{path}:3: aps[1] id=ap0202: site: unknown site 's9999' "
        "(neither in this file nor in the database)",
        f"{path}:4: aps[2]: 7 cells but the header has 6 columns",
    ]


def test_csv_header_decides_or_fails_clearly(
    engine: Engine, tmp_path: Path, counts: Counts, write: Write, failed_import: Problems
) -> None:
    unknown = write(tmp_path, "what.csv", "id,name\nx,y\n")
    assert failed_import(engine, unknown) == [
        f"{unknown}:1: cannot tell what this CSV holds: a sites file needs lat and lon "
        "columns, an APs file needs site and host columns, a demand file lat, lon and weight "
        "(header: id, name)"
    ]
    typo = write(tmp_path, "typo.csv", "id,name,lat,lon,distrct\n")
    assert failed_import(engine, typo)[0].startswith(
        f"{typo}:1: sites header: unknown column 'distrct'"
    )
    twice = write(tmp_path, "twice.csv", "id,name,lat,lon,lat\n")
    assert failed_import(engine, twice) == [f"{twice}:1: sites header: column 'lat' appears twice"]
    empty = write(tmp_path, "empty.csv", "")
    assert failed_import(engine, empty) == [
        f"{empty}:1: empty CSV file: expected a header of sites or APs columns"
    ]
    assert set(counts(engine).values()) == {0}


def test_csv_with_byte_order_mark(city: Engine, tmp_path: Path, secret_box: SecretBox) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,name,lat,lon\ns0301,Excel,1,2\n")
    assert import_file(city, path, secret_box).counts["sites"]["created"] == 1
