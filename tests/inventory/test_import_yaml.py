from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inventory import import_file, validate_file
from inventory.models import AccessPoint, CredentialProfile, Site
from inventory.secretbox import SecretBox

Snapshot = Callable[[Engine], dict[str, list[tuple[Any, ...]]]]
Counts = Callable[[Engine], dict[str, int]]
LineOf = Callable[[str, str], int]
Write = Callable[[Path, str, str], Path]
Problems = Callable[[Engine, Path], list[str]]
CityWith = Callable[[Path, str, str], tuple[Path, str]]


@pytest.fixture
def city_with(city_file: Path, write: Write) -> CityWith:
    """``city_with(tmp_path, old, new)``: the test city with one text replaced, and its text."""

    def make(directory: Path, old: str, new: str) -> tuple[Path, str]:
        text = city_file.read_text()
        assert old in text
        text = text.replace(old, new)
        return write(directory, "city.yaml", text), text

    return make


def test_valid_yaml_import(
    engine: Engine, city_file: Path, counts: Counts, secret_box: SecretBox
) -> None:
    report = import_file(engine, city_file, secret_box)

    assert report.counts["sites"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert report.counts["aps"]["created"] == 5
    assert "aps 5 created" in report.summary()
    assert counts(engine) == {
        "partners": 2,
        "districts": 2,
        "credential_profiles": 3,
        "uplinks": 2,
        "sites": 4,
        "access_points": 5,
        "ap_status": 0,
        "ap_events": 0,
        "demand_points": 0,
        "candidate_sites": 0,
        "report_deliveries": 0,
        "users": 0,
        "api_tokens": 0,
        "web_sessions": 0,
        "audit_log": 0,
        "incidents": 0,
        "incident_aps": 0,
        "incident_entries": 0,
        "maintenance_windows": 0,
        "notification_groups": 0,
        "notified_incidents": 0,
        "notifications": 0,
        "accounting_sessions": 0,
        "user_hash_keys": 0,
        "collectors": 0,
        "ap_leases": 0,
        "leader_leases": 0,
        "citizen_reports": 0,
        "report_photos": 0,
        "field_teams": 0,
        "field_team_members": 0,
        "work_orders": 0,
        "work_order_entries": 0,
        "work_order_photos": 0,
    }
    with Session(engine) as session:
        site = session.get_one(Site, "s0004")
        assert (site.district_id, site.partner_id, site.kind, site.status) == (
            None,
            None,
            "other",
            "active",
        )
        assert site.coverage_radius_m == 50.0
        ap = session.get_one(AccessPoint, "ap00001")
        assert (ap.site_id, ap.credential_id, ap.snmp_port, ap.ssh_port, ap.enabled) == (
            "s0001",
            "snmp-d01",
            1161,
            2222,
            True,
        )
        assert session.get_one(AccessPoint, "ap00005").enabled is False


def test_v3_and_ssh_credentials_are_stored_in_their_columns_secrets_sealed(
    engine: Engine, city_file: Path, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    with Session(engine) as session:
        v3 = session.get_one(CredentialProfile, "v3-core")
        v2 = session.get_one(CredentialProfile, "v2-keyed")
    stored = [v3.snmp_auth_key, v3.snmp_priv_key, v3.ssh_password, v2.snmp_community]
    assert all(SecretBox.is_sealed(value) for value in stored)
    auth, priv, ssh, community = (secret_box.open(value) for value in stored)
    assert (v3.snmp_version, v3.snmp_community, v3.snmp_user) == ("3", None, "noc")
    assert (v3.snmp_auth_protocol, auth) == ("SHA", "authkey123")
    assert (v3.snmp_priv_protocol, priv) == ("AES", "privkey123")
    assert (v3.ssh_username, ssh, v3.ssh_key_file) == ("admin", "hunter22", None)
    assert (v2.snmp_version, community) == ("2c", "public-ish")
    assert (v2.ssh_password, v2.ssh_key_file) == (None, "/etc/citywifi/ops_ed25519")


def test_import_twice_leaves_the_inventory_identical(
    engine: Engine, city_file: Path, snapshot: Snapshot, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    first = snapshot(engine)

    report = import_file(engine, city_file, secret_box)

    assert snapshot(engine) == first
    assert all(c["created"] == 0 and c["updated"] == 0 for c in report.counts.values())
    assert report.counts["aps"]["unchanged"] == 5


def test_reimport_updates_changed_rows_and_keeps_absent_ones(
    engine: Engine,
    tmp_path: Path,
    city_file: Path,
    counts: Counts,
    write: Write,
    secret_box: SecretBox,
) -> None:
    import_file(engine, city_file, secret_box)
    path = write(
        tmp_path,
        "partial.yaml",
        "sites:\n"
        "  - {id: s0002, name: Pasar Baru, lat: -6.19, lon: 106.91, district: d02}\n"
        "  - {id: s0009, name: Stasiun, lat: -6.21, lon: 106.90}\n",
    )

    report = import_file(engine, path, secret_box)

    assert report.counts == {"sites": {"created": 1, "updated": 1, "unchanged": 0}}
    with Session(engine) as session:
        site = session.get_one(Site, "s0002")
        assert (site.name, site.district_id, site.status) == ("Pasar Baru", "d02", "active")
        assert session.get(Site, "s0001") is not None  # absent from the file, not deleted
    assert counts(engine)["sites"] == 5


def test_credential_changing_version_clears_the_other_versions_columns(
    engine: Engine, tmp_path: Path, city_file: Path, write: Write, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    path = write(
        tmp_path,
        "creds.yaml",
        "credentials:\n"
        "  - id: v3-core\n"
        "    snmp: {version: 2c, community: downgraded}\n"
        "  - id: snmp-d01\n"
        "    snmp: {version: 3, user: u, auth_key: '12345678', priv_key: abcdefgh}\n",
    )

    import_file(engine, path, secret_box)

    with Session(engine) as session:
        was_v3 = session.get_one(CredentialProfile, "v3-core")
        was_v2 = session.get_one(CredentialProfile, "snmp-d01")
    assert was_v3.snmp_version == "2c"
    assert secret_box.open(was_v3.snmp_community) == "downgraded"
    assert was_v3.snmp_user is None and was_v3.snmp_auth_key is None
    assert was_v3.ssh_username is None  # the file no longer gives ssh
    assert (was_v2.snmp_version, was_v2.snmp_community, was_v2.snmp_user) == ("3", None, "u")
    assert (was_v2.snmp_auth_protocol, was_v2.snmp_priv_protocol) == ("SHA", "AES")


def test_one_bad_row_names_file_and_line_and_writes_nothing(
    engine: Engine,
    tmp_path: Path,
    city_file: Path,
    line_of: LineOf,
    failed_import: Problems,
    city_with: CityWith,
    secret_box: SecretBox,
) -> None:
    import_file(
        engine, city_file, secret_box
    )  # so "unchanged" also covers updates that did not happen
    path, text = city_with(tmp_path, "lat: -6.19,", "lat: 123,")

    problems = failed_import(engine, path)

    line = line_of(text, "id: s0002")
    assert problems == [
        f"{path}:{line}: sites[1] id=s0002: lat: Input should be less than or equal to 90"
    ]


def test_bad_row_in_empty_database_writes_nothing(
    engine: Engine, tmp_path: Path, counts: Counts, failed_import: Problems, city_with: CityWith
) -> None:
    path, _ = city_with(tmp_path, "host: 127.1.0.5", "host: 127.1.0.5, snmp_port: 0")
    failed_import(engine, path)
    assert set(counts(engine).values()) == {0}


def test_every_bad_row_is_reported_in_file_order(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    text = (
        "sites:\n"
        "  - {id: s1, name: A, lat: 123, lon: 500}\n"
        "  - {id: s2, name: B, lat: 1, lon: 2, kind: castle}\n"
        "  - name: C\n"
        "    lat: 1\n"
        "    lon: 2\n"
        "aps:\n"
        "  - {id: a1, site: s1, name: x, host: h, credentials: c, snmp_port: many}\n"
        "  - just a string\n"
    )
    path = write(tmp_path, "bad.yaml", text)

    problems = failed_import(engine, path)

    p = str(path)
    assert problems[:3] == [
        f"{p}:2: sites[0] id=s1: lat: Input should be less than or equal to 90",
        f"{p}:2: sites[0] id=s1: lon: Input should be less than or equal to 180",
        f"{p}:3: sites[1] id=s2: kind: Input should be 'park', 'market', 'school', 'office', "
        "'transit', 'mosque', 'residential' or 'other'",
    ]
    assert problems[3] == f"{p}:4: sites[2] id=?: id: Field required"
    assert problems[4].startswith(f"{p}:8: aps[0] id=a1: snmp_port: Input should be a valid")
    assert problems[5].startswith(f"{p}:9: aps[1] id=?: Input should be a valid dictionary")
    assert len(problems) == 6, problems  # a1's bad references are not checked: row invalid


def test_missing_references_are_reported(
    engine: Engine, tmp_path: Path, line_of: LineOf, failed_import: Problems, city_with: CityWith
) -> None:
    path, text = city_with(tmp_path, "district: d02, partner: p02", "district: d9, partner: p9")
    text = text.replace("credentials: v2-keyed", "credentials: nope")
    path.write_text(text)

    problems = failed_import(engine, path)

    site_line, ap_line = line_of(text, "id: s0003"), line_of(text, "id: ap00003")
    assert problems == [
        f"{path}:{site_line}: sites[2] id=s0003: district: unknown district 'd9' "
        "(neither in this file nor in the database)",
        f"{path}:{site_line}: sites[2] id=s0003: partner: unknown partner 'p9' "
        "(neither in this file nor in the database)",
        f"{path}:{ap_line}: aps[2] id=ap00003: credentials: unknown credential profile "
        "'nope' (neither in this file nor in the database)",
    ]


def test_references_may_point_into_the_database(
    engine: Engine, tmp_path: Path, city_file: Path, write: Write, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    path = write(
        tmp_path,
        "more.yaml",
        "aps:\n  - {id: ap00100, site: s0004, name: n, host: 127.1.0.9, credentials: v3-core}\n",
    )
    assert import_file(engine, path, secret_box).counts == {
        "aps": {"created": 1, "updated": 0, "unchanged": 0}
    }


def test_duplicate_ids_are_reported_at_the_second_row(
    engine: Engine, tmp_path: Path, line_of: LineOf, failed_import: Problems, city_with: CityWith
) -> None:
    path, text = city_with(tmp_path, "id: ap00004", "id: ap00002")

    problems = failed_import(engine, path)

    first, second = line_of(text, "tamankota-2"), line_of(text, "terminal-1")
    assert problems == [
        f"{path}:{second}: aps[3] id=ap00002: id: duplicate id, first at line {first}"
    ]


def test_yaml_syntax_error_has_a_line(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    text = "partners:\n  - {id: p01, name: A}\n  - {id: p02, name: [unclosed\ndistricts: []\n"
    path = write(tmp_path, "broken.yaml", text)

    problems = failed_import(engine, path)

    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:4: YAML syntax error:")


def test_unknown_top_level_key_and_duplicate_keys(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    text = "partners: []\nsties: []\ndistricts:\n  - {id: d1, name: A, name: B}\n"
    path = write(tmp_path, "typo.yaml", text)

    assert failed_import(engine, path) == [
        f"{path}:2: unknown top-level key 'sties' (expected one of partners, districts, "
        "credentials, uplinks, sites, aps, demand)",
        f"{path}:4: duplicate key 'name' in a mapping",
    ]


def test_section_that_is_not_a_list(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    path = write(tmp_path, "odd.yaml", "partners:\n  id: p1\n")
    assert failed_import(engine, path) == [f"{path}:2: partners: expected a list"]


def test_credential_errors_name_the_field_and_not_the_secret(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems
) -> None:
    text = (
        "credentials:\n"
        "  - id: c\n"
        "    snmp: {version: 3, user: u, auth_key: short, priv_key: abcdefgh}\n"
        "    ssh: {username: x}\n"
    )
    path = write(tmp_path, "c.yaml", text)
    assert failed_import(engine, path) == [
        f"{path}:2: credentials[0] id=c: snmp.auth_key: Value should have at least 8 items "
        "after validation, not 5",
        f"{path}:2: credentials[0] id=c: ssh: Value error, ssh needs exactly one of password "
        "or key_file",
    ]


def test_empty_file_and_unsupported_type(
    engine: Engine, tmp_path: Path, write: Write, failed_import: Problems, secret_box: SecretBox
) -> None:
    assert (
        import_file(engine, write(tmp_path, "empty.yaml", ""), secret_box)
        .summary()
        .endswith("nothing to import")
    )
    path = write(tmp_path, "inv.txt", "{}")
    assert failed_import(engine, path) == [
        f"{path}: unsupported file type '.txt': use .yaml, .yml, .csv or .geojson"
    ]


def test_validate_file_is_a_dry_run(engine: Engine, city_file: Path, counts: Counts) -> None:
    doc = validate_file(engine, city_file)
    assert [site.id for site in doc.sites] == ["s0001", "s0002", "s0003", "s0004"]
    assert set(counts(engine).values()) == {0}
