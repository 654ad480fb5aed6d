"""Migrations on SQLite and on a real PostgreSQL, and the database made before them.

``data/legacy-d320795.db`` was made by the code before migrations (see
``data/make_legacy_db.py``): its create_all tables, its importer's rows, its status rows.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from api.app import create_app
from core.errors import DatabaseError
from core.settings import Settings
from inventory.db import make_engine, open_inventory
from inventory.migrations import (
    LEGACY_TABLES,
    current,
    downgrade,
    head,
    inspect_url,
    known_revisions,
    upgrade,
)
from inventory.models import Base, CredentialProfile
from inventory.revision import HEAD, REVISIONS
from inventory.secretbox import SecretBox
from tests.fixtures.accounts import bearer, user_token

LEGACY = Path(__file__).parent / "data" / "legacy-d320795.db"
FIRST, SECOND = "0001_initial", "0002_ap_events"


def schema_dump(url: str) -> dict[str, Any]:
    """Tables, columns, keys and indexes as the database reports them (not the models)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            return {
                table: {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)
                    ],
                    "pk": found.get_pk_constraint(table)["constrained_columns"],
                    "fks": sorted(
                        (
                            tuple(fk["constrained_columns"]),
                            fk["referred_table"],
                            tuple(fk["referred_columns"]),
                            fk.get("options", {}).get("ondelete"),
                        )
                        for fk in found.get_foreign_keys(table)
                    ),
                    "indexes": sorted(
                        (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                        for ix in found.get_indexes(table)
                    ),
                }
                for table in sorted(found.get_table_names())
                if table != "alembic_version"
            }
    finally:
        engine.dispose()


def model_diff(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def rows(url: str, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: sorted(
                    tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))
                )
                for table in tables
            }
    finally:
        engine.dispose()


def opened(credential_rows: list[tuple[Any, ...]], box: SecretBox) -> list[tuple[Any, ...]]:
    """credential_profiles rows with their sealed columns opened."""
    names = [c.key for c in CredentialProfile.__table__.columns]
    sealed = {names.index(c) for c in CredentialProfile.SECRET_COLUMNS}
    return [
        tuple(box.open(v) if i in sealed else v for i, v in enumerate(row))
        for row in credential_rows
    ]


def test_revisions_are_linear() -> None:
    assert head() == HEAD
    assert known_revisions()[:2] == [FIRST, SECOND]


def test_migrations_from_empty_give_the_models_schema(new_db_url: Callable[[], str]) -> None:
    migrated, created = new_db_url(), new_db_url()
    assert upgrade(migrated) == (None, HEAD)
    open_inventory(created, create=True).dispose()  # create_all + stamp
    assert model_diff(migrated) == []
    assert schema_dump(migrated) == schema_dump(created)
    assert current(migrated) == current(created) == HEAD


def test_downgrade_to_base_and_up_again(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    upgrade(url)
    assert downgrade(url, to=FIRST) == FIRST
    assert "ap_events" not in schema_dump(url)
    assert "last_cause" not in [c[0] for c in schema_dump(url)["ap_status"]["columns"]]
    assert downgrade(url, to="base") is None
    assert schema_dump(url) == {}
    assert upgrade(url) == (None, HEAD)
    assert model_diff(url) == []


def sqlite_ddl(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return {
            name: " ".join(sql.split())
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            )
            if name != "alembic_version"
        }


def test_revision_1_is_what_the_old_create_all_made(tmp_path: Path) -> None:
    """Byte for byte (bar whitespace) the DDL of the legacy file: stamping it at revision
    1 is only right if revision 1 is exactly its schema."""
    path = tmp_path / "first.db"
    assert upgrade(f"sqlite:///{path}", to=FIRST) == (None, FIRST)
    assert sqlite_ddl(path) == sqlite_ddl(LEGACY)


def test_legacy_sqlite_file_is_upgraded_in_place(tmp_path: Path, secret_box: SecretBox) -> None:
    path = tmp_path / "inventory.db"
    shutil.copy(LEGACY, path)
    path.chmod(0o644)  # as the old code made it
    url = f"sqlite:///{path}"
    before = rows(url, sorted(LEGACY_TABLES))
    assert len(before["partners"]) == 2 and len(before["districts"]) == 2
    assert len(before["sites"]) == 4 and len(before["access_points"]) == 5
    assert len(before["ap_status"]) == 3

    assert current(url) is None
    assert inspect_url(url).revision == FIRST
    with pytest.raises(DatabaseError) as refused:
        open_inventory(url, create=True)
    message = str(refused.value)
    assert str(path) in message and "`citywifi db upgrade`" in message
    assert "\n" not in message

    assert upgrade(url, box=secret_box) == (FIRST, HEAD)
    assert current(url) == HEAD
    assert path.stat().st_mode & 0o777 == 0o600  # it holds device credentials
    assert model_diff(url) == []
    after = rows(url, sorted(LEGACY_TABLES))
    changed = {"ap_status", "credential_profiles", "partners", "sites"}
    assert {t: r for t, r in after.items() if t not in changed} == {
        t: r for t, r in before.items() if t not in changed
    }
    # Partners keep every value; no own SLA target nor report addresses yet.
    assert after["partners"] == [(*row, None, None) for row in before["partners"]]
    # Sites keep every value; the new uplink_id column is empty (no topology yet).
    assert [r[:-1] for r in after["sites"]] == before["sites"]
    assert {r[-1] for r in after["sites"]} == {None}
    # The device secrets are sealed now, and open to what they were; no RADIUS secret yet.
    assert opened(after["credential_profiles"], secret_box) == [
        (*row, None) for row in before["credential_profiles"]
    ]
    assert after["credential_profiles"] != before["credential_profiles"]
    # ap_status keeps every value; the new last_cause column is empty.
    assert [r[:-1] for r in after["ap_status"]] == before["ap_status"]
    assert {r[-1] for r in after["ap_status"]} == {None}
    assert upgrade(url) == (HEAD, HEAD)  # again: nothing to do

    settings = Settings(data_dir=tmp_path / "state", database_url=url)
    token = user_token(url)
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/status", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    # ap00004's site is retired but the AP is enabled; ap00005 is disabled.
    assert [r["ap_id"] for r in body["data"]] == ["ap00001", "ap00002", "ap00003", "ap00004"]
    assert body["summary"] == {"up": 1, "down": 1, "unknown": 2, "total": 4}
    first = body["data"][0]
    assert (first["site_name"], first["district_name"], first["partner_name"]) == (
        "Taman Kota Bekasi",
        "Bekasi Timur",
        "PT Contoh Telekomunikasi",
    )
    assert first["availability"] == pytest.approx(398 / 400)


LEGACY_ROWS = (
    "INSERT INTO partners VALUES ('p1', 'Partner One')",
    "INSERT INTO districts VALUES ('d1', 'District One', NULL)",
    "INSERT INTO credential_profiles (id, snmp_version, snmp_community) VALUES ('c1', '2c', 'x')",
    "INSERT INTO sites VALUES ('s1', 'Site', -6.2, 106.9, 'd1', 'p1', 'park', 50.0, 'active')",
    "INSERT INTO access_points VALUES ('a1', 's1', 'AP', '127.1.0.1', 161, 22, 'auto', 'c1', true)",
    "INSERT INTO demand_points VALUES ('dp1', -6.2, 106.9, 10.0, 'd1')",
    "INSERT INTO ap_status VALUES ('a1', 'down', 1.0, 2.0, 3.0, 4, 'generic', 5, 6, 'timeout')",
)


def test_pre_migration_database_is_recognised_on_both(
    new_db_url: Callable[[], str], secret_box: SecretBox
) -> None:
    """A database with revision 1's tables and no alembic_version, as create_all left it."""
    url = new_db_url()
    upgrade(url, to=FIRST)
    execute(url, "DROP TABLE alembic_version", *LEGACY_ROWS)
    before = rows(url, sorted(LEGACY_TABLES))
    assert inspect_url(url).revision == FIRST and current(url) is None

    assert upgrade(url, box=secret_box) == (FIRST, HEAD)
    after = rows(url, sorted(LEGACY_TABLES))
    assert after["access_points"] == before["access_points"]
    assert opened(after["credential_profiles"], secret_box) == [
        (*row, None) for row in before["credential_profiles"]
    ]
    assert after["ap_status"] == [(*before["ap_status"][0], None)]
    assert model_diff(url) == []
    open_inventory(url, create=False).dispose()


def test_unstamped_second_revision_is_recognised(new_db_url: Callable[[], str]) -> None:
    """As create_all of the code between revisions 1 and 2 left it (ap_events, no stamp):
    recognised as revision 2 and migrated from there. No later code leaves a database
    unstamped, so no later shape needs recognising."""
    url = new_db_url()
    upgrade(url, to=SECOND)
    execute(url, "DROP TABLE alembic_version")
    assert inspect_url(url).revision == SECOND
    assert upgrade(url) == (SECOND, HEAD)
    assert current(url) == HEAD
    assert model_diff(url) == []


def test_behind_database_is_refused(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    upgrade(url, to=FIRST)
    with pytest.raises(DatabaseError, match=rf"at revision 0001_initial, behind {HEAD}; "
                       r"run `citywifi db upgrade`"):  # fmt: skip
        open_inventory(url, create=False)


def test_newer_database_is_refused(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    upgrade(url)
    execute(url, "UPDATE alembic_version SET version_num = '0099_future'")
    with pytest.raises(DatabaseError, match="0099_future, which this version of citywifi"):
        open_inventory(url, create=True)
    with pytest.raises(DatabaseError, match="0099_future"):
        upgrade(url)


def test_foreign_tables_are_refused(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    execute(url, "CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    with pytest.raises(DatabaseError, match="is not a citywifi inventory: it has tables but not"):
        open_inventory(url, create=True)
    with pytest.raises(DatabaseError, match="not a citywifi inventory"):
        upgrade(url)


def test_empty_database_is_created_only_when_asked(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    if url.startswith("sqlite"):
        execute(url, "SELECT 1")  # an existing, empty file
    with pytest.raises(DatabaseError, match=r"is empty; create its tables with `citywifi db"):
        open_inventory(url, create=False)
    open_inventory(url, create=True).dispose()
    assert current(url) == HEAD
    open_inventory(url, create=False).dispose()


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "inventory.db"
    with pytest.raises(DatabaseError, match=f"no inventory database at {path}; create it with"):
        open_inventory(f"sqlite:///{path}", create=False)
    with pytest.raises(DatabaseError, match="no inventory database at"):
        current(f"sqlite:///{path}")
    assert not path.parent.exists()


def test_unreachable_server_is_one_line_without_password(free_tcp_port: Callable[[], int]) -> None:
    url = f"postgresql+psycopg://citywifi:hunter2secret@127.0.0.1:{free_tcp_port()}/inventory"
    for attempt in (lambda: open_inventory(url, create=True), lambda: upgrade(url)):
        with pytest.raises(DatabaseError) as failed:
            attempt()
        message = str(failed.value)
        assert "hunter2secret" not in message
        assert "127.0.0.1" in message and "\n" not in message


def test_the_light_revision_list_is_the_revision_files() -> None:
    assert list(REVISIONS) == known_revisions()
    assert head() == HEAD


def test_a_created_database_is_stamped_as_alembic_stamps(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    open_inventory(url, create=True).dispose()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == HEAD
    finally:
        engine.dispose()
    assert upgrade(url) == (HEAD, HEAD)


def test_opening_the_inventory_does_not_load_alembic(tmp_path: Path) -> None:
    """serve and collect check the revision on every start: without Alembic (14 MiB)."""
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    code = (
        "import sys\n"
        "from inventory.db import open_inventory\n"
        f"open_inventory({url!r}, create=True).dispose()\n"
        f"open_inventory({url!r}, create=False).dispose()\n"
        "assert 'alembic' not in sys.modules, 'alembic was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_candidate_sites_come_and_go_with_their_revision(new_db_url: Callable[[], str]) -> None:
    """0009 adds only candidate_sites; its downgrade drops it and leaves the rest as 0008."""
    url = new_db_url()
    upgrade(url, to="0008_notifications")
    before = schema_dump(url)
    assert "candidate_sites" not in before
    upgrade(url, to="0009_candidate_sites")
    after = schema_dump(url)
    assert set(after) - set(before) == {"candidate_sites"}
    assert after["candidate_sites"]["pk"] == ["id"]
    execute(url, "INSERT INTO candidate_sites VALUES ('c1', 'School', -6.2, 106.9, NULL, NULL)")
    assert downgrade(url, to="0008_notifications") == "0008_notifications"
    assert schema_dump(url) == before


def test_accounting_comes_and_goes_with_its_revision(new_db_url: Callable[[], str]) -> None:
    """0010 adds the two accounting tables and credential_profiles.radius_secret (empty for
    the existing profiles); its downgrade leaves the database as 0009 had it, rows kept."""
    url = new_db_url()
    upgrade(url, to="0009_candidate_sites")
    execute(url, *LEGACY_ROWS[:3])
    before = schema_dump(url)
    profiles = rows(url, ["credential_profiles"])["credential_profiles"]
    upgrade(url, to="0010_accounting")
    after = schema_dump(url)
    assert set(after) - set(before) == {"accounting_sessions", "user_hash_keys"}
    assert after["credential_profiles"]["columns"][-1] == ("radius_secret", "TEXT", True)
    assert rows(url, ["credential_profiles"])["credential_profiles"] == [(*profiles[0], None)]
    execute(
        url,
        "INSERT INTO user_hash_keys VALUES ('2026-11', 'sealed:v1:x', 1.0)",
        "UPDATE credential_profiles SET radius_secret = 'sealed:v1:y'",
    )
    assert downgrade(url, to="0009_candidate_sites") == "0009_candidate_sites"
    assert schema_dump(url) == before
    assert rows(url, ["credential_profiles"])["credential_profiles"] == profiles


def test_reports_come_and_go_with_their_revision(new_db_url: Callable[[], str]) -> None:
    """0011 adds report_deliveries and the partners' own SLA target and report addresses
    (empty for the existing partners); its downgrade leaves the database as 0010 had it,
    rows kept."""
    url = new_db_url()
    upgrade(url, to="0010_accounting")
    execute(url, *LEGACY_ROWS[:2])
    before = schema_dump(url)
    partners = rows(url, ["partners"])["partners"]
    assert upgrade(url, to="0011_reports") == ("0010_accounting", "0011_reports")
    after = schema_dump(url)
    assert set(after) - set(before) == {"report_deliveries"}
    assert after["report_deliveries"]["pk"] == ["partner_id", "month"]
    assert [c[0] for c in after["partners"]["columns"][-2:]] == ["sla_target_pct", "report_to"]
    assert all(c[2] for c in after["partners"]["columns"][-2:])  # nullable
    assert rows(url, ["partners"])["partners"] == [(*partners[0], None, None)]
    execute(
        url,
        "UPDATE partners SET sla_target_pct = 97.5, report_to = 'board@example.org'",
        "INSERT INTO report_deliveries VALUES ('p1', '2026-11', 'sent', 1.0, 2.0, 'a@b.c', NULL)",
    )
    assert downgrade(url, to="0010_accounting") == "0010_accounting"
    assert schema_dump(url) == before
    assert rows(url, ["partners"])["partners"] == partners


def test_leases_come_and_go_with_their_revision(new_db_url: Callable[[], str]) -> None:
    """0012 adds the collectors' heartbeats, the AP leases and the leader leases as new
    tables; every existing row stays, and its downgrade leaves the database as 0011 had
    it."""
    url = new_db_url()
    upgrade(url, to="0011_reports")
    execute(
        url,
        "INSERT INTO partners (id, name) VALUES ('p1', 'Partner One')",
        "INSERT INTO districts (id, name) VALUES ('d1', 'District One')",
    )
    before = schema_dump(url)
    kept = rows(url, sorted(before))
    assert upgrade(url, to="0012_leases") == ("0011_reports", "0012_leases")
    after = schema_dump(url)
    assert set(after) - set(before) == {"collectors", "ap_leases", "leader_leases"}
    assert after["ap_leases"]["pk"] == ["ap_id"]
    assert rows(url, sorted(before)) == kept
    execute(
        url,
        "INSERT INTO collectors VALUES ('c1', 'host', 1, 1.0, 2.0)",
        "INSERT INTO leader_leases VALUES ('faults', 'c1', 3.0, 1)",
    )
    assert downgrade(url, to="0011_reports") == "0011_reports"
    assert schema_dump(url) == before
    assert rows(url, sorted(before)) == kept


def test_citizen_reports_come_and_go_with_their_revision(new_db_url: Callable[[], str]) -> None:
    """0013 adds the citizens' reports and their photos, and the field teams and work
    orders, as new tables and a priority to every incident (0 for those already there);
    its downgrade leaves the database as 0012 had it, incidents included."""
    url = new_db_url()
    upgrade(url, to="0012_leases")
    execute(
        url,
        "INSERT INTO incidents (id, kind, scope_kind, scope_id, state, opened_at, updated_at, "
        "responsible, explanation, reopened) VALUES (1, 'ap_down', 'ap', 'ap-1', 'open', 1.0, "
        "1.0, 'noc', 'down', 0)",
    )
    before = schema_dump(url)
    kept = rows(url, sorted(before))
    assert upgrade(url) == ("0012_leases", HEAD)
    after = schema_dump(url)
    assert set(after) - set(before) == {
        "citizen_reports",
        "report_photos",
        "field_teams",
        "field_team_members",
        "work_orders",
        "work_order_entries",
        "work_order_photos",
    }
    assert rows(url, ["incidents"])["incidents"] == [(*kept["incidents"][0], 0)]
    assert model_diff(url) == []
    execute(
        url,
        "INSERT INTO citizen_reports (id, received_at, channel, problem, match, incident_id) "
        "VALUES (1, 2.0, 'web', 'slow', 'joined', 1)",
        "INSERT INTO report_photos VALUES (1, 'image/jpeg', 1, 1, 'x')",
        "INSERT INTO field_teams (id, name, responsible) VALUES ('t-1', 'Team', 'noc')",
        "INSERT INTO work_orders (id, incident_id, site_id, team_id, state, created_at, "
        "created_by, updated_at) VALUES (1, 1, 's-1', 't-1', 'assigned', 2.0, 'me', 2.0)",
        "INSERT INTO work_order_entries (order_id, at, kind) VALUES (1, 2.0, 'created')",
        "INSERT INTO work_order_photos VALUES (1, 'image/jpeg', 1, 1, 'x', 'me', 2.0)",
    )
    assert downgrade(url, to="0012_leases") == "0012_leases"
    assert schema_dump(url) == before
    assert rows(url, sorted(before)) == kept
