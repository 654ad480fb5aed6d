"""Device secrets at rest: never in clear in the database, on SQLite and PostgreSQL, from
import, through migration 0004 and back, and across a key rotation that crashes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

import citywifi.secrets_cli as secrets_cli
from core.access import AuditAction
from core.citizens import Channel, Match, Problem
from core.errors import ConfigError, DatabaseError, InventoryError
from core.settings import Settings
from inventory import citizen_reports, enabled_aps, export_yaml, import_file
from inventory.audit import entries
from inventory.db import open_inventory, transaction
from inventory.engine import make_engine, sqlite_path
from inventory.migrations import current, downgrade, upgrade
from inventory.models import CredentialProfile, Notification
from inventory.revision import HEAD
from inventory.secretbox import (
    SecretBox,
    generate_key,
    load_box,
    open_rows,
    read_key_file,
    reseal_rows,
)
from inventory.userkeys import MonthKeys

BEFORE = "0002_ap_events"  # the last revision with secrets in clear
NOW = 1_767_225_600.0

# The device secrets of tests/inventory/data/city.yaml, by AP: (community, auth_key,
# priv_key, ssh_password) as enabled_aps must give them.
CITY_SECRETS = {
    "ap00001": ("s3cret", None, None, None),
    "ap00002": (None, "authkey123", "privkey123", "hunter22"),
    "ap00003": ("public-ish", None, None, None),
}
CLEAR = ("s3cret", "authkey123", "privkey123", "hunter22", "public-ish")


def polled_secrets(engine: Engine, box: SecretBox) -> dict[str, tuple[str | None, ...]]:
    """The secrets the collector would poll each AP with."""
    with Session(engine) as session:
        return {
            t.ap_id: (t.community, t.auth_key, t.priv_key, t.ssh_password)
            for t in enabled_aps(session, box)
        }


def raw_secrets(engine: Engine) -> list[str]:
    """Every secret column's stored value, as the database holds it (plain SQL); the
    columns its revision has (radius_secret came with 0010)."""
    with engine.connect() as connection:
        present = {c["name"] for c in inspect(connection).get_columns("credential_profiles")}
        names = ", ".join(c for c in CredentialProfile.SECRET_COLUMNS if c in present)
        rows = connection.execute(text(f"SELECT {names} FROM credential_profiles"))
        return [value for row in rows for value in row if value is not None]


def file_bytes(url: str) -> bytes:
    """The SQLite database file and its WAL and shared-memory files, as on disk."""
    path = sqlite_path(url)
    assert path is not None
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(f"{path.name}*")))


def assert_nothing_in_clear(url: str, engine: Engine, clear: tuple[str, ...]) -> None:
    stored = raw_secrets(engine)
    assert stored and all(SecretBox.is_sealed(value) for value in stored)
    assert not [c for c in clear for value in stored if c in value]
    if sqlite_path(url) is not None:
        found = file_bytes(url)
        assert not [c for c in clear if c.encode() in found], "a secret in clear in the file"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    """Settings on the run's inventory (SQLite in the data dir, or PostgreSQL) whose key
    is the key file in the data dir."""
    monkeypatch.delenv("CITYWIFI_SECRET_KEY", raising=False)
    monkeypatch.delenv("CITYWIFI_SECRET_KEY_FILE", raising=False)
    return Settings(data_dir=tmp_path / "state")


@pytest.fixture
def city(settings: Settings, city_file: Path) -> Iterator[Engine]:
    """The test city imported into the inventory of ``settings``, sealed with its key."""
    engine = open_inventory(settings.db_url, create=True)
    import_file(engine, city_file, load_box(settings))
    yield engine
    engine.dispose()


# --- import: sealed in the database --------------------------------------------------------


def test_import_leaves_no_secret_in_clear_on_either_database(
    new_db_url: Callable[[], str], city_file: Path, secret_box: SecretBox
) -> None:
    """The SQLite file (and its WAL) read as bytes; PostgreSQL's columns read raw."""
    url = new_db_url()
    engine = open_inventory(url, create=True)
    try:
        import_file(engine, city_file, secret_box)
        assert_nothing_in_clear(url, engine, CLEAR)  # with the WAL still there
        assert polled_secrets(engine, secret_box) == CITY_SECRETS
    finally:
        engine.dispose()
    if sqlite_path(url) is not None:
        assert not [c for c in CLEAR if c.encode() in file_bytes(url)]


def test_a_changed_secret_is_an_update_and_an_unchanged_one_is_not(
    engine: Engine, city_file: Path, tmp_path: Path, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    before = raw_secrets(engine)
    again = import_file(engine, city_file, secret_box)
    assert again.counts["credentials"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert raw_secrets(engine) == before  # nothing rewritten, not even resealed
    changed = tmp_path / "changed.yaml"
    changed.write_text(city_file.read_text().replace("community: s3cret}", "community: n3w}"))
    report = import_file(engine, changed, secret_box)
    assert report.counts["credentials"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert polled_secrets(engine, secret_box)["ap00001"][0] == "n3w"


# --- export without secrets, and its import back --------------------------------------------


def test_an_export_without_secrets_reimports_keeping_the_stored_ones(
    engine: Engine, city_file: Path, tmp_path: Path, secret_box: SecretBox
) -> None:
    import_file(engine, city_file, secret_box)
    text_out = export_yaml(engine)
    assert not [c for c in CLEAR if c in text_out]
    assert "without device secrets" in text_out.splitlines()[0]
    credentials = yaml.safe_load(text_out)["credentials"]
    assert credentials == [
        {"id": "snmp-d01", "snmp": {"version": "2c"}},
        {
            "id": "v2-keyed",
            "snmp": {"version": "2c"},
            "ssh": {"username": "ops", "key_file": "/etc/citywifi/ops_ed25519"},
        },
        {
            "id": "v3-core",
            "snmp": {"version": "3", "user": "noc", "auth_protocol": "SHA", "priv_protocol": "AES"},
            "ssh": {"username": "admin"},
        },
    ]
    path = tmp_path / "review.yaml"
    path.write_text(text_out)
    report = import_file(engine, path, secret_box)
    assert all(c["created"] == c["updated"] == 0 for c in report.counts.values())
    assert polled_secrets(engine, secret_box) == CITY_SECRETS

    # A non-secret change in such a file is applied; the stored secrets stay.
    path.write_text(text_out.replace("user: noc", "user: noc2"))
    report = import_file(engine, path, secret_box)
    assert report.counts["credentials"] == {"created": 0, "updated": 1, "unchanged": 2}
    with Session(engine) as session:
        assert session.get_one(CredentialProfile, "v3-core").snmp_user == "noc2"
    assert polled_secrets(engine, secret_box) == CITY_SECRETS


def test_a_secret_may_be_left_out_only_where_one_is_stored(
    engine: Engine,
    city_file: Path,
    tmp_path: Path,
    secret_box: SecretBox,
    failed_import: Callable[[Engine, Path], list[str]],
) -> None:
    import_file(engine, city_file, secret_box)
    path = tmp_path / "missing.yaml"
    path.write_text(
        "credentials:\n"
        "  - {id: brand-new, snmp: {version: 2c}}\n"
        # v3 -> v2c: the stored profile has no community to keep
        "  - {id: v3-core, snmp: {version: 2c}}\n"
        # a key file, not a password, is stored for this one
        "  - {id: v2-keyed, snmp: {version: 2c}, ssh: {username: ops}}\n"
        "  - {id: snmp-d01, snmp: {version: 3, user: u, auth_key: '12345678'}}\n"
    )
    kept = "(only a profile already in the database with a stored one may leave it out)"
    assert failed_import(engine, path) == [
        f"{path}:2: credentials[0] id=brand-new: snmp: Value error, community required {kept}",
        f"{path}:3: credentials[1] id=v3-core: snmp: Value error, community required {kept}",
        f"{path}:4: credentials[2] id=v2-keyed: ssh: Value error, ssh needs exactly one of "
        "password or key_file",
        f"{path}:5: credentials[3] id=snmp-d01: snmp: Value error, priv_key required {kept}",
    ]


def test_an_export_without_secrets_cannot_fill_a_new_database(
    engine: Engine,
    city_file: Path,
    tmp_path: Path,
    secret_box: SecretBox,
) -> None:
    import_file(engine, city_file, secret_box)
    path = tmp_path / "review.yaml"
    path.write_text(export_yaml(engine))
    fresh = open_inventory(f"sqlite:///{tmp_path / 'fresh.db'}", create=True)
    try:
        with pytest.raises(InventoryError) as refused:
            import_file(fresh, path, secret_box)
    finally:
        fresh.dispose()
    assert len(refused.value.problems) == 4  # 3 communities/keys + the v3 ssh password


# --- a wrong key ----------------------------------------------------------------------------


def test_a_wrong_key_file_is_one_line_naming_it(
    city: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = settings.secret_key_path
    path.write_text(generate_key() + "\n")  # another installation's key
    with pytest.raises(ConfigError) as refused:
        polled_secrets(city, load_box(settings))
    message = str(refused.value)
    assert f"with the key(s) in {path}: not the key they were sealed with" in message
    assert "\n" not in message and not [c for c in CLEAR if c in message]


# --- migration 0004 ---------------------------------------------------------------------------

CLEAR_ROWS = (
    "INSERT INTO credential_profiles (id, snmp_version, snmp_community) "
    "VALUES ('c1', '2c', 'clear-community-1')",
    "INSERT INTO credential_profiles (id, snmp_version, snmp_user, snmp_auth_protocol, "
    "snmp_auth_key, snmp_priv_protocol, snmp_priv_key, ssh_username, ssh_password) "
    "VALUES ('c2', '3', 'noc', 'SHA', 'clear-auth-key-2', 'AES', 'clear-priv-key-2', "
    "'admin', 'clear-ssh-pass-2')",
    "INSERT INTO credential_profiles (id, snmp_version, snmp_community, ssh_username, "
    "ssh_key_file) VALUES ('c3', '2c', 'clear-community-3', 'ops', '/etc/citywifi/ops')",
    "INSERT INTO sites VALUES ('s1', 'Site', -6.2, 106.9, NULL, NULL, 'park', 50.0, 'active')",
    "INSERT INTO access_points VALUES ('a1', 's1', 'n', '127.1.0.1', 161, 22, 'auto', 'c1', true)",
    "INSERT INTO access_points VALUES ('a2', 's1', 'n', '127.1.0.2', 161, 22, 'auto', 'c2', true)",
    "INSERT INTO access_points VALUES ('a3', 's1', 'n', '127.1.0.3', 161, 22, 'auto', 'c3', true)",
)
MIGRATED_CLEAR = (
    "clear-community-1",
    "clear-auth-key-2",
    "clear-priv-key-2",
    "clear-ssh-pass-2",
    "clear-community-3",
)
MIGRATED_POLLED = {
    "a1": ("clear-community-1", None, None, None),
    "a2": (None, "clear-auth-key-2", "clear-priv-key-2", "clear-ssh-pass-2"),
    "a3": ("clear-community-3", None, None, None),
}


@pytest.fixture
def clear_era_url(new_db_url: Callable[[], str]) -> str:
    """A database at revision 0002 holding device secrets in clear, as that version did."""
    url = new_db_url()
    upgrade(url, to=BEFORE)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in CLEAR_ROWS:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    return url


def secret_column_types(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            columns = inspect(connection).get_columns("credential_profiles")
    finally:
        engine.dispose()
    return {str(c["type"]) for c in columns if c["name"] in CredentialProfile.SECRET_COLUMNS}


def stored(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        return sorted(raw_secrets(engine))
    finally:
        engine.dispose()


def test_migration_0004_seals_clear_secrets_in_place_and_its_downgrade_opens_them(
    clear_era_url: str, secret_box: SecretBox
) -> None:
    url = clear_era_url
    assert stored(url) == sorted(MIGRATED_CLEAR)
    assert secret_column_types(url) == {"VARCHAR(200)"}

    assert upgrade(url, box=secret_box) == (BEFORE, HEAD)

    assert secret_column_types(url) == {"TEXT"}
    engine = open_inventory(url, create=False)
    try:
        assert_nothing_in_clear(url, engine, MIGRATED_CLEAR)
        assert polled_secrets(engine, secret_box) == MIGRATED_POLLED
    finally:
        engine.dispose()
    if sqlite_path(url) is not None:  # and nothing left behind in freed pages
        assert not [c for c in MIGRATED_CLEAR if c.encode() in file_bytes(url)]

    # A downgrade with the wrong key changes nothing (one transaction).
    with pytest.raises(ConfigError, match="with the key\\(s\\) in elsewhere"):
        downgrade(url, to=BEFORE, box=SecretBox([generate_key()], "elsewhere"))
    assert current(url) == HEAD and all(SecretBox.is_sealed(v) for v in stored(url))

    assert downgrade(url, to=BEFORE, box=secret_box) == BEFORE
    assert stored(url) == sorted(MIGRATED_CLEAR)
    assert secret_column_types(url) == {"VARCHAR(200)"}


def test_migration_0004_without_the_key_refuses_and_changes_nothing(
    clear_era_url: str,
) -> None:
    with pytest.raises(DatabaseError) as refused:
        upgrade(clear_era_url)
    message = str(refused.value)
    assert "migration 0004_sealed_secrets must seal the device secrets" in message
    assert "needs the secret key" in message and "\n" not in message
    assert current(clear_era_url) == BEFORE
    assert stored(clear_era_url) == sorted(MIGRATED_CLEAR)


def test_migration_0004_needs_no_key_without_secrets(new_db_url: Callable[[], str]) -> None:
    url = new_db_url()
    upgrade(url, to=BEFORE)
    assert upgrade(url) == (BEFORE, HEAD)
    assert downgrade(url, to=BEFORE) == BEFORE


# --- rotate-key: a crash after any step leaves every secret readable ------------------------


class Crash(Exception):
    """The process dying at that point (nothing after it runs)."""


STEPS = (
    # (step function in citywifi.secrets_cli, its n-th call, crash before or after it,
    #  the key file then: the old key, [new, old] or [new]; audited rotations then)
    ("write_key_file", 1, "before", "old", 0),  # 1 not done
    ("write_key_file", 1, "after", "both", 0),  # 1 done, rows under the old key
    ("reseal_rows", 1, "after", "both", 0),  # 2 not committed: rolled back
    ("write_key_file", 2, "before", "both", 1),  # 2 committed: rows under the new key
    ("write_key_file", 2, "after", "new", 1),  # 3 done
)


@pytest.mark.parametrize(("step", "call", "when", "file", "audited"), STEPS)
def test_rotate_key_survives_a_crash_at_any_step(
    city: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    call: int,
    when: str,
    file: str,
    audited: int,
) -> None:
    original = read_key_file(settings.secret_key_path)
    real = getattr(secrets_cli, step)
    calls: list[int] = []

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == call and when == "before":
            raise Crash
        result = real(*args, **kwargs)
        if len(calls) == call:
            raise Crash
        return result

    monkeypatch.setattr(secrets_cli, step, crashing)
    with pytest.raises(Crash):
        secrets_cli.rotate_key(settings, city, actor="cli:test", now=NOW)
    monkeypatch.undo()

    # What a process starting now (a collector, an export) finds: everything opens.
    assert polled_secrets(city, load_box(settings)) == CITY_SECRETS
    keys = read_key_file(settings.secret_key_path)
    assert original is not None and keys is not None
    assert {
        "old": keys == original,
        "both": len(keys) == 2 and keys[1:] == original,
        "new": len(keys) == 1 and keys != original,
    }[file], keys
    with Session(city) as session:
        assert entries(session, action=AuditAction.KEY_ROTATED)[1] == audited

    # And rotating again completes: one key left, every secret under it.
    done = secrets_cli.rotate_key(settings, city, actor="cli:test", now=NOW + 1)
    assert done.resealed == 5
    final = read_key_file(settings.secret_key_path)
    assert final is not None and len(final) == 1 and final != original
    assert polled_secrets(city, SecretBox(final, "new")) == CITY_SECRETS


def test_rotate_key_reseals_everything_and_is_audited(city: Engine, settings: Settings) -> None:
    original = read_key_file(settings.secret_key_path)
    assert original is not None
    before = raw_secrets(city)
    done = secrets_cli.rotate_key(settings, city, actor="cli:test", now=NOW)
    assert (done.resealed, done.source) == (5, str(settings.secret_key_path))
    after = raw_secrets(city)
    assert all(SecretBox.is_sealed(value) for value in after)
    assert not set(before) & set(after)
    new = read_key_file(settings.secret_key_path)
    assert new is not None and len(new) == 1 and new != original
    with pytest.raises(ConfigError):  # the old key is gone for good
        polled_secrets(city, SecretBox(original, "old"))
    assert polled_secrets(city, load_box(settings)) == CITY_SECRETS
    with Session(city) as session:
        rows, total = entries(session, action=AuditAction.KEY_ROTATED)
    assert total == 1 and rows[0].actor == "cli:test" and rows[0].at == NOW
    assert rows[0].target == str(settings.secret_key_path)


def test_rotate_key_with_a_wrong_key_file_changes_nothing(city: Engine, settings: Settings) -> None:
    wrong = [generate_key()]
    settings.secret_key_path.write_text(wrong[0] + "\n")
    before = raw_secrets(city)
    with pytest.raises(ConfigError, match="not the key they were sealed with"):
        secrets_cli.rotate_key(settings, city, actor="cli:test", now=NOW)
    assert read_key_file(settings.secret_key_path) == wrong
    assert raw_secrets(city) == before
    with Session(city) as session:
        assert session.scalar(select(func.count()).select_from(CredentialProfile)) == 3
        assert entries(session, action=AuditAction.KEY_ROTATED)[1] == 0


def test_rotate_key_with_keys_from_the_setting_reseals_and_writes_no_file(
    settings: Settings, city_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("CITYWIFI_SECRET_KEY", old)
    with_old = Settings(data_dir=settings.data_dir)
    engine = open_inventory(with_old.db_url, create=True)
    try:
        import_file(engine, city_file, load_box(with_old))
        monkeypatch.setenv("CITYWIFI_SECRET_KEY", f"{new},{old}")
        rotating = Settings(data_dir=settings.data_dir)
        done = secrets_cli.rotate_key(rotating, engine, actor="cli:test", now=NOW)
        assert done.resealed == 5 and "secret_key setting" in done.source
        assert polled_secrets(engine, SecretBox([new], "new only")) == CITY_SECRETS
        with transaction(engine) as session:
            assert entries(session, action=AuditAction.KEY_ROTATED)[1] == 1
    finally:
        engine.dispose()
    assert not settings.secret_key_path.exists()


# --- the RADIUS shared secret (issue 12) ----------------------------------------------------

RADIUS_SECRET = "r4dius-Sh4red"


@pytest.fixture
def radius_city(tmp_path: Path, city_file: Path) -> Path:
    """The test city with a RADIUS secret on the v3 profile."""
    path = tmp_path / "radius-city.yaml"
    path.write_text(
        city_file.read_text().replace(
            "ssh: {username: admin, password: hunter22}",
            "ssh: {username: admin, password: hunter22}\n"
            f"    radius: {{secret: {RADIUS_SECRET}}}",
        )
    )
    return path


def radius_secrets(engine: Engine, box: SecretBox) -> dict[str, str | None]:
    with Session(engine) as session:
        profiles = session.scalars(select(CredentialProfile).order_by(CredentialProfile.id))
        return {p.id: box.open(p.radius_secret) for p in profiles}


def test_the_radius_secret_is_sealed_at_rest_on_either_database(
    new_db_url: Callable[[], str], radius_city: Path, secret_box: SecretBox
) -> None:
    url = new_db_url()
    engine = open_inventory(url, create=True)
    try:
        import_file(engine, radius_city, secret_box)
        assert_nothing_in_clear(url, engine, (*CLEAR, RADIUS_SECRET))
        assert radius_secrets(engine, secret_box) == {
            "snmp-d01": None, "v2-keyed": None, "v3-core": RADIUS_SECRET,
        }  # fmt: skip
    finally:
        engine.dispose()
    if sqlite_path(url) is not None:
        assert RADIUS_SECRET.encode() not in file_bytes(url)


def test_the_radius_secret_exports_and_is_kept_when_left_out(
    engine: Engine, radius_city: Path, city_file: Path, tmp_path: Path, secret_box: SecretBox
) -> None:
    import_file(engine, radius_city, secret_box)
    full = yaml.safe_load(export_yaml(engine, secret_box, include_secrets=True))
    assert full["credentials"][2]["radius"] == {"secret": RADIUS_SECRET}
    assert "radius" not in full["credentials"][0]
    review = export_yaml(engine)
    assert RADIUS_SECRET not in review
    assert yaml.safe_load(review)["credentials"][2]["radius"] == {}
    path = tmp_path / "review.yaml"
    path.write_text(review)
    report = import_file(engine, path, secret_box)
    assert report.counts["credentials"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert radius_secrets(engine, secret_box)["v3-core"] == RADIUS_SECRET
    # A changed secret is an update; a profile without `radius` has none any more.
    path.write_text(radius_city.read_text().replace(RADIUS_SECRET, "n3w-radius"))
    assert import_file(engine, path, secret_box).counts["credentials"]["updated"] == 1
    assert radius_secrets(engine, secret_box)["v3-core"] == "n3w-radius"
    path.write_text(city_file.read_text())
    import_file(engine, path, secret_box)
    assert radius_secrets(engine, secret_box)["v3-core"] is None


def test_a_radius_secret_may_be_left_out_only_where_one_is_stored(
    engine: Engine,
    city_file: Path,
    tmp_path: Path,
    secret_box: SecretBox,
    failed_import: Callable[[Engine, Path], list[str]],
) -> None:
    import_file(engine, city_file, secret_box)
    path = tmp_path / "missing.yaml"
    path.write_text(
        "credentials:\n"
        "  - {id: snmp-d01, snmp: {version: 2c}, radius: {}}\n"
        "  - {id: v2-keyed, snmp: {version: 2c}, radius: {secret: ''}}\n"
    )
    assert failed_import(engine, path) == [
        f"{path}:2: credentials[0] id=snmp-d01: radius: Value error, radius needs a secret "
        "(only a profile already in the database with a stored one may leave it out)",
        f"{path}:3: credentials[1] id=v2-keyed: radius.secret: Value should have at least "
        "1 item after validation, not 0",
    ]


def test_rotation_reseals_the_radius_secret(settings: Settings, radius_city: Path) -> None:
    engine = open_inventory(settings.db_url, create=True)
    try:
        import_file(engine, radius_city, load_box(settings))
        with transaction(engine) as session:
            old = session.get_one(CredentialProfile, "v3-core").radius_secret
        new_box = SecretBox([generate_key(), *load_box(settings).keys], "test")
        with transaction(engine) as session:
            assert reseal_rows(session, new_box) == 6  # community x2, v3 keys x2, ssh, radius
        with transaction(engine) as session:
            resealed = session.get_one(CredentialProfile, "v3-core").radius_secret
        assert resealed != old and new_box.open(resealed) == RADIUS_SECRET
    finally:
        engine.dispose()


def test_rotate_key_reseals_hash_keys_citizens_data_and_queued_numbers(
    city: Engine, settings: Settings
) -> None:
    """Every sealed value, not only the device secrets: the monthly keys that hash MACs and
    user names, a citizen's report text and phone number, and a number in the outbox on
    its way to the citizen. Left under the dropped key, none could be opened again."""
    box = load_box(settings)
    with transaction(city) as session:
        key = MonthKeys(box).key(session, "2026-11", now=NOW)
        report = citizen_reports.insert(
            session,
            box,
            received_at=NOW,
            channel=Channel.WEB,
            problem=Problem.SLOW,
            match=Match.UNMATCHED,
            text="the login page loops",
            phone="+6281200001999",
        )
        session.add(
            Notification(
                route="citizens",
                group_key="citizen-report-1",
                kind="citizen",
                subject="fixed",
                payload=json.dumps({"text": "fixed", "to": box.seal("+6281200001999")}),
                created_at=NOW,
                due_at=NOW,
                status="pending",
                attempts=0,
            )
        )
    done = secrets_cli.rotate_key(settings, city, actor="cli:test", now=NOW)
    assert done.resealed == 5 + 4  # device secrets; hash key, text, phone, queued number
    new_box = load_box(settings)
    with Session(city) as session:
        assert MonthKeys(new_box).key(session, "2026-11", now=NOW) == key
        view = citizen_reports.get(session, new_box, report)
        assert view is not None
        assert (view.text, view.phone) == ("the login page loops", "+6281200001999")
        payload = json.loads(session.scalars(select(Notification.payload)).one())
        assert new_box.open(payload["to"]) == "+6281200001999"
        assert open_rows(session, new_box) == 9
