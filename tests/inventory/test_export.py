from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from inventory import export_doc, export_yaml, import_file
from inventory.db import open_inventory
from inventory.models import CredentialProfile
from inventory.secretbox import SecretBox

Snapshot = Callable[[Engine], dict[str, list[tuple[Any, ...]]]]
Write = Callable[[Path, str, str], Path]


def opened(
    tables: dict[str, list[tuple[Any, ...]]], box: SecretBox
) -> dict[str, list[tuple[Any, ...]]]:
    """A snapshot with the credential profiles' secrets opened."""
    names = [column.key for column in CredentialProfile.__table__.columns]
    secret = {names.index(name) for name in CredentialProfile.SECRET_COLUMNS}
    profiles = [
        tuple(box.open(value) if i in secret else value for i, value in enumerate(row))
        for row in tables["credential_profiles"]
    ]
    return {**tables, "credential_profiles": profiles}


def test_export_shape(engine: Engine, city_file: Path, secret_box: SecretBox) -> None:
    import_file(engine, city_file, secret_box)

    doc = export_doc(engine, secret_box, include_secrets=True)

    assert list(doc) == [
        "partners",
        "districts",
        "credentials",
        "uplinks",
        "sites",
        "aps",
        "demand",
    ]
    assert doc["uplinks"] == [
        {"id": "u01", "name": "OLT Bekasi Timur 1", "operator": "PT Serat Optik Kota"},
        {"id": "u02", "name": "Microwave Rawalumbu", "operator": "PT Radio Link Patriot"},
    ]
    assert [s["uplink"] for s in doc["sites"]] == ["u01", "u02", "u01", None]
    assert [c["id"] for c in doc["credentials"]] == ["snmp-d01", "v2-keyed", "v3-core"]
    snmp_only, keyed, v3 = doc["credentials"]
    assert snmp_only == {"id": "snmp-d01", "snmp": {"version": "2c", "community": "s3cret"}}
    assert keyed["ssh"] == {"username": "ops", "key_file": "/etc/citywifi/ops_ed25519"}
    assert v3 == {
        "id": "v3-core",
        "snmp": {
            "version": "3",
            "user": "noc",
            "auth_protocol": "SHA",
            "auth_key": "authkey123",
            "priv_protocol": "AES",
            "priv_key": "privkey123",
        },
        "ssh": {"username": "admin", "password": "hunter22"},
    }
    unsponsored = doc["sites"][3]
    assert unsponsored == {
        "id": "s0004",
        "name": "Balai Kota",
        "lat": -6.21,
        "lon": 106.91,
        "district": None,
        "partner": None,
        "kind": "other",
        "coverage_radius_m": 50.0,
        "status": "active",
        "uplink": None,
    }
    assert list(doc["aps"][0]) == [
        "id",
        "site",
        "name",
        "host",
        "snmp_port",
        "ssh_port",
        "profile",
        "enabled",
        "credentials",
    ]


def test_export_yaml_reads_back_to_the_same_document(
    engine: Engine, city_file: Path, data_dir: Path, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    import_file(engine, data_dir / "sites.csv", secret_box)
    text = export_yaml(engine)
    assert text.startswith("# citywifi inventory export")
    assert "partner: null" in text
    assert yaml.safe_load(text) == export_doc(engine)
    assert [s["id"] for s in yaml.safe_load(text)["sites"]] == sorted(
        ["s0001", "s0002", "s0003", "s0004", "s0101", "s0102", "s0103"]
    )


def test_round_trip_into_a_fresh_database(
    engine: Engine,
    tmp_path: Path,
    city_file: Path,
    data_dir: Path,
    snapshot: Snapshot,
    write: Write,
    secret_box: SecretBox,
    new_database_url: Callable[[], str],
) -> None:
    import_file(engine, city_file, secret_box)
    import_file(engine, data_dir / "sites.csv", secret_box)
    import_file(engine, data_dir / "aps.csv", secret_box)
    backup = export_yaml(engine, secret_box, include_secrets=True)
    exported = write(tmp_path, "backup.yaml", backup)

    fresh = open_inventory(new_database_url(), create=True)
    import_file(fresh, exported, secret_box)
    again = export_yaml(fresh, secret_box, include_secrets=True)

    # Sealing is randomised: the two databases hold the same secrets, sealed differently.
    assert opened(snapshot(fresh), secret_box) == opened(snapshot(engine), secret_box)
    assert again == exported.read_text()
    # and importing the export over the original changes nothing
    report = import_file(engine, exported, secret_box)
    assert all(c["created"] == c["updated"] == 0 for c in report.counts.values())
    fresh.dispose()
