"""Users, tokens, web sessions and the login check (inventory.accounts) on a real database.

Clock values are passed in (``now``), never slept for. The rules that depend on the
database enforcing them (a name taken by a concurrent creation, clipped audit values)
also run on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from core.access import AuditAction, Principal, Role
from core.errors import AccessError, LoginLimited
from core.settings import Settings
from inventory import accounts, audit
from inventory.accounts import (
    TOKEN_PREFIX,
    check_login,
    close_session,
    create_user,
    csrf_matches,
    get_user,
    hash_secret,
    issue_token,
    list_tokens,
    list_users,
    open_session,
    principal_for_session,
    principal_for_token,
    revoke_token,
    set_disabled,
    set_password,
)
from inventory.db import transaction
from inventory.models import ApiToken, Partner, User, WebSession

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "another long passphrase"
T0 = 1_700_000_000.0


def _add_partners(session: Session) -> None:
    session.add_all([Partner(id="p-bank", name="Bank"), Partner(id="p-telco", name="Telco")])
    session.flush()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a new SQLite inventory holding partners p-bank and p-telco."""
    with Session(engine, expire_on_commit=False) as session:
        _add_partners(session)
        session.commit()
        yield session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "state",
        login_window_s=100.0,
        login_max_failures_per_user=3,
        login_max_failures_per_address=5,
    )


def _dump(session: Session) -> str:
    """Every row of the access tables as text, to look for a secret in clear."""
    rows: list[Any] = []
    for table in ("users", "api_tokens", "web_sessions", "audit_log"):
        rows += session.execute(text(f"SELECT * FROM {table}")).all()
    return repr(rows)


# --- users -------------------------------------------------------------------------------


def test_create_and_read_users(session: Session) -> None:
    ana = create_user(session, "ana", Role.ADMIN, password=PASSWORD, now=T0)
    bank = create_user(session, "bank.ops", Role.PARTNER, partner_id="p-bank", now=T0 + 1)
    session.commit()
    assert (ana.name, ana.role, ana.partner_id, ana.has_password) == ("ana", "admin", None, True)
    assert (bank.partner_id, bank.has_password, bank.disabled) == ("p-bank", False, False)
    assert get_user(session, "bank.ops") == bank
    assert get_user(session, "nobody") is None
    assert PASSWORD not in _dump(session)
    stored = session.scalars(select(User.password_hash).where(User.name == "ana")).one()
    assert stored is not None and stored.startswith("$argon2")
    assert PASSWORD not in repr(ana)


@pytest.mark.parametrize(
    ("name", "role", "partner", "password", "message"),
    [
        ("Ana", Role.ADMIN, None, None, "bad user name"),
        ("1ana", Role.ADMIN, None, None, "bad user name"),
        ("a" * 65, Role.ADMIN, None, None, "bad user name"),
        ("ana smith", Role.ADMIN, None, None, "bad user name"),
        ("bank", Role.PARTNER, None, None, "needs a partner"),
        ("eng", Role.ENGINEER, "p-bank", None, "only partner users have a partner"),
        ("bank", Role.PARTNER, "p-nowhere", None, "no partner 'p-nowhere'"),
        ("ana", Role.ADMIN, None, "short-pass", "at least 12 characters"),
    ],
)
def test_create_user_refusals(
    session: Session, name: str, role: Role, partner: str | None, password: str | None,
    message: str,
) -> None:  # fmt: skip
    with pytest.raises(AccessError, match=message) as refused:
        create_user(session, name, role, partner_id=partner, password=password, now=T0)
    if password is not None:
        assert password not in str(refused.value)


def test_a_taken_name_is_refused(session: Session) -> None:
    create_user(session, "ana", Role.ADMIN, now=T0)
    with pytest.raises(AccessError, match="user name 'ana' is taken"):
        create_user(session, "ana", Role.PLANNER, now=T0)


def test_list_users_pages_and_partner_filter(session: Session) -> None:
    for name in ("zoe", "bob", "ana"):
        create_user(session, name, Role.ENGINEER, now=T0)
    create_user(session, "bank1", Role.PARTNER, partner_id="p-bank", now=T0)
    create_user(session, "telco1", Role.PARTNER, partner_id="p-telco", now=T0)
    page, total = list_users(session, limit=2)
    assert ([u.name for u in page], total) == (["ana", "bank1"], 5)
    page, total = list_users(session, limit=2, offset=4)
    assert ([u.name for u in page], total) == (["zoe"], 5)
    page, total = list_users(session, partner_id="p-telco")
    assert ([u.name for u in page], total) == (["telco1"], 1)


def test_unknown_user_is_refused_everywhere(session: Session) -> None:
    for attempt in (
        lambda: set_disabled(session, "ghost", True, now=T0),
        lambda: set_password(session, "ghost", PASSWORD, now=T0),
        lambda: issue_token(session, "ghost", now=T0),
        lambda: list_tokens(session, "ghost"),
        lambda: revoke_token(session, "ghost", 1, now=T0),
    ):
        with pytest.raises(AccessError, match="no user named 'ghost'"):
            attempt()


# --- tokens ------------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_as_its_hash(session: Session) -> None:
    user = create_user(session, "bank1", Role.PARTNER, partner_id="p-bank", now=T0)
    new = issue_token(session, "bank1", label="grafana", now=T0)
    session.commit()
    assert new.token.startswith(TOKEN_PREFIX) and len(new.token) == len(TOKEN_PREFIX) + 43
    assert new.token not in repr(new)
    assert (new.info.user, new.info.label, new.info.created_at) == ("bank1", "grafana", T0)
    assert new.token not in _dump(session)
    assert session.scalars(select(ApiToken.token_hash)).one() == hash_secret(new.token)
    principal = principal_for_token(session, new.token, now=T0 + 1)
    assert principal == Principal(
        user_id=user.id,
        name="bank1",
        role=Role.PARTNER,
        partner_id="p-bank",
        via="token",
    )
    assert principal is not None and principal.scope.partner_id == "p-bank"
    assert list_tokens(session, "bank1")[0].last_used_at == T0 + 1


def test_unknown_and_malformed_tokens_are_none(session: Session) -> None:
    create_user(session, "ana", Role.ADMIN, now=T0)
    good = issue_token(session, "ana", now=T0).token
    for token in ("", "cw_", good[:-1], good[len(TOKEN_PREFIX) :], TOKEN_PREFIX + "x" * 5000):
        assert principal_for_token(session, token, now=T0) is None


def test_last_use_is_written_at_most_once_a_minute(session: Session) -> None:
    create_user(session, "ana", Role.ADMIN, now=T0)
    token = issue_token(session, "ana", now=T0).token
    for at in (T0 + 10, T0 + 30, T0 + 69.9):
        assert principal_for_token(session, token, now=at) is not None
    assert list_tokens(session, "ana")[0].last_used_at == T0 + 10
    principal_for_token(session, token, now=T0 + 70)
    assert list_tokens(session, "ana")[0].last_used_at == T0 + 70


def test_expired_token_is_refused(session: Session) -> None:
    create_user(session, "ana", Role.ADMIN, now=T0)
    token = issue_token(session, "ana", expires_at=T0 + 60, now=T0).token
    assert principal_for_token(session, token, now=T0 + 59.9) is not None
    assert principal_for_token(session, token, now=T0 + 60) is None
    with pytest.raises(AccessError, match="expiry must be in the future"):
        issue_token(session, "ana", expires_at=T0, now=T0)


def test_revoked_token_is_refused_and_only_its_owner_revokes_it(session: Session) -> None:
    create_user(session, "ana", Role.ADMIN, now=T0)
    create_user(session, "bob", Role.ENGINEER, now=T0)
    ana_token = issue_token(session, "ana", now=T0)
    bob_token = issue_token(session, "bob", now=T0)
    with pytest.raises(AccessError, match=f"user 'bob' has no token {ana_token.info.id}"):
        revoke_token(session, "bob", ana_token.info.id, now=T0 + 1)
    with pytest.raises(AccessError, match="has no token 999"):
        revoke_token(session, "bob", 999, now=T0 + 1)
    revoked = revoke_token(session, "ana", ana_token.info.id, now=T0 + 5)
    assert revoked.revoked_at == T0 + 5
    assert revoke_token(session, "ana", ana_token.info.id, now=T0 + 9).revoked_at == T0 + 5
    assert principal_for_token(session, ana_token.token, now=T0 + 6) is None
    assert principal_for_token(session, bob_token.token, now=T0 + 6) is not None
    assert [t.revoked_at for t in list_tokens(session, "ana")] == [T0 + 5]


def test_disabled_users_tokens_are_refused_until_enabled(session: Session) -> None:
    create_user(session, "ana", Role.ADMIN, now=T0)
    token = issue_token(session, "ana", now=T0).token
    assert set_disabled(session, "ana", True, now=T0 + 1).disabled
    assert principal_for_token(session, token, now=T0 + 2) is None
    with pytest.raises(AccessError, match="disabled"):
        issue_token(session, "ana", now=T0 + 2)
    assert not set_disabled(session, "ana", False, now=T0 + 3).disabled
    assert principal_for_token(session, token, now=T0 + 4) is not None


def test_label_too_long_is_refused(session: Session) -> None:
    create_user(session, "ana", Role.ADMIN, now=T0)
    with pytest.raises(AccessError, match="label too long"):
        issue_token(session, "ana", label="l" * 101, now=T0)


# --- logins ------------------------------------------------------------------------------


def _actions(session: Session) -> list[tuple[str, str, str | None]]:
    rows, _ = audit.entries(session, limit=1000)
    return [(r.action.value, r.actor, r.address) for r in reversed(rows)]


def test_login_success_and_failures_are_audited(session: Session, settings: Settings) -> None:
    create_user(session, "ana", Role.ENGINEER, password=PASSWORD, now=T0)
    principal = check_login(
        session, "ana", PASSWORD, address="127.0.0.1", now=T0 + 1, settings=settings
    )
    assert (principal.name, principal.role, principal.via) == ("ana", Role.ENGINEER, "session")
    for name, password in [("ana", OTHER_PASSWORD), ("ghost", PASSWORD)]:
        with pytest.raises(AccessError) as refused:
            check_login(session, name, password, address="127.0.0.2", now=T0 + 2, settings=settings)
        assert str(refused.value) == "wrong name or password"
        assert not isinstance(refused.value, LoginLimited)
    assert _actions(session) == [
        ("login", "ana", "127.0.0.1"),
        ("login_failed", "ana", "127.0.0.2"),
        ("login_failed", "ghost", "127.0.0.2"),
    ]
    assert PASSWORD not in _dump(session) and OTHER_PASSWORD not in _dump(session)


def test_disabled_or_passwordless_users_cannot_log_in(session: Session, settings: Settings) -> None:
    create_user(session, "ana", Role.ADMIN, password=PASSWORD, now=T0)
    create_user(session, "bot", Role.ADMIN, now=T0)
    set_disabled(session, "ana", True, now=T0)
    for name in ("ana", "bot"):
        with pytest.raises(AccessError, match=r"^wrong name or password$"):
            check_login(session, name, PASSWORD, address=None, now=T0 + 1, settings=settings)


def test_unknown_names_cost_an_argon2_verify(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Constant work: the timing of a login does not tell which names exist."""
    calls: list[str] = []
    hasher = accounts._HASHER
    real_verify, real_update = hasher.verify, hasher.verify_and_update

    def verify(password: str, hashed: str) -> bool:
        calls.append("verify")
        return real_verify(password, hashed)

    def verify_and_update(password: str, hashed: str) -> tuple[bool, str | None]:
        calls.append("verify")
        return real_update(password, hashed)

    monkeypatch.setattr(hasher, "verify", verify)
    monkeypatch.setattr(hasher, "verify_and_update", verify_and_update)
    create_user(session, "bot", Role.ADMIN, now=T0)
    for name in ("ghost", "bot"):
        with pytest.raises(AccessError):
            check_login(session, name, PASSWORD, address=None, now=T0, settings=settings)
    assert calls == ["verify", "verify"]


def test_failures_per_name_limit_logins(session: Session, settings: Settings) -> None:
    """Three failures for "ana" in 100 s: even the right password is refused, with the
    time until the oldest failure leaves the window; LOGIN_LIMITED does not count."""
    create_user(session, "ana", Role.ADMIN, password=PASSWORD, now=T0)
    for at, address in [(T0, "10.0.0.1"), (T0 + 10, "10.0.0.2"), (T0 + 20, "10.0.0.3")]:
        with pytest.raises(AccessError):
            check_login(session, "ana", "wrong password!", address=address, now=at,
                        settings=settings)  # fmt: skip
    for at in (T0 + 30, T0 + 60):
        with pytest.raises(LoginLimited) as limited:
            check_login(session, "ana", PASSWORD, address="10.0.0.9", now=at, settings=settings)
        assert limited.value.retry_after_s == pytest.approx(T0 + 100 - at)
        assert "wrong" not in str(limited.value) and PASSWORD not in str(limited.value)
    assert _actions(session)[-2:] == [("login_limited", "ana", "10.0.0.9")] * 2
    # Other names are not limited by ana's failures.
    create_user(session, "bob", Role.ADMIN, password=PASSWORD, now=T0)
    check_login(session, "bob", PASSWORD, address="10.0.0.9", now=T0 + 60, settings=settings)
    # Once the first failure has left the window, one more attempt may be made.
    principal = check_login(
        session, "ana", PASSWORD, address="10.0.0.9", now=T0 + 100, settings=settings
    )
    assert principal.name == "ana"


def test_failures_from_one_address_limit_every_name(session: Session, settings: Settings) -> None:
    create_user(session, "ana", Role.ADMIN, password=PASSWORD, now=T0)
    for n in range(5):
        with pytest.raises(AccessError):
            check_login(session, f"guess{n}", PASSWORD, address="10.9.9.9", now=T0 + n,
                        settings=settings)  # fmt: skip
    with pytest.raises(LoginLimited) as limited:
        check_login(session, "ana", PASSWORD, address="10.9.9.9", now=T0 + 10, settings=settings)
    assert limited.value.retry_after_s == pytest.approx(90.0)
    # The same name from elsewhere is fine.
    check_login(session, "ana", PASSWORD, address="10.1.1.1", now=T0 + 10, settings=settings)


def test_retry_after_when_more_failures_than_the_limit(
    session: Session, settings: Settings
) -> None:
    """Failures beyond the limit (concurrent attempts): the wait lasts until enough of
    them have left the window for the count to drop below the limit."""
    for at in (T0, T0 + 10, T0 + 20, T0 + 30):
        audit.record(session, AuditAction.LOGIN_FAILED, actor="ana", address="x", now=at)
    with pytest.raises(LoginLimited) as limited:
        check_login(session, "ana", PASSWORD, address=None, now=T0 + 50, settings=settings)
    assert limited.value.retry_after_s == pytest.approx(T0 + 10 + 100 - (T0 + 50))


def test_very_long_inputs_are_refused_cheaply(session: Session, settings: Settings) -> None:
    with pytest.raises(AccessError, match=r"^wrong name or password$"):
        check_login(session, "n" * 5000, "p" * 100_000, address="a" * 500, now=T0,
                    settings=settings)  # fmt: skip
    with pytest.raises(AccessError, match="too long"):
        create_user(session, "ana", Role.ADMIN, password="p" * 5000, now=T0)


# --- web sessions ------------------------------------------------------------------------


def _login(session: Session, settings: Settings, name: str = "ana") -> Principal:
    return check_login(session, name, PASSWORD, address="127.0.0.1", now=T0, settings=settings)


def test_session_round_trip(session: Session, settings: Settings) -> None:
    create_user(session, "bank1", Role.PARTNER, partner_id="p-bank", password=PASSWORD, now=T0)
    principal = _login(session, settings, "bank1")
    cookie, csrf = open_session(session, principal, ttl_s=600, address="127.0.0.1", now=T0)
    session.commit()
    assert cookie != csrf and cookie not in _dump(session) and csrf not in _dump(session)
    found = principal_for_session(session, cookie, now=T0 + 599)
    assert found is not None
    who, csrf_hash = found
    assert (who.name, who.partner_id, who.via) == ("bank1", "p-bank", "session")
    assert csrf_matches(csrf_hash, csrf)
    assert not csrf_matches(csrf_hash, cookie)
    assert not csrf_matches(csrf_hash, None) and not csrf_matches(csrf_hash, "")
    assert principal_for_session(session, cookie, now=T0 + 600) is None  # expired
    assert principal_for_session(session, csrf, now=T0) is None
    assert principal_for_session(session, "", now=T0) is None
    close_session(session, cookie)
    assert principal_for_session(session, cookie, now=T0 + 1) is None


def test_disabling_or_a_new_password_ends_sessions(session: Session, settings: Settings) -> None:
    create_user(session, "ana", Role.ADMIN, password=PASSWORD, now=T0)
    first, _ = open_session(session, _login(session, settings), ttl_s=600, address=None, now=T0)
    set_disabled(session, "ana", True, now=T0 + 1)
    assert principal_for_session(session, first, now=T0 + 2) is None
    assert session.scalars(select(WebSession)).all() == []
    set_disabled(session, "ana", False, now=T0 + 3)
    second, _ = open_session(session, _login(session, settings), ttl_s=600, address=None, now=T0)
    set_password(session, "ana", OTHER_PASSWORD, now=T0 + 4)
    assert principal_for_session(session, second, now=T0 + 5) is None
    with pytest.raises(AccessError):
        _login(session, settings)
    check_login(session, "ana", OTHER_PASSWORD, address=None, now=T0 + 6, settings=settings)
    with pytest.raises(AccessError, match="at least 12"):
        set_password(session, "ana", "short", now=T0)


def test_expired_sessions_are_purged_when_a_session_opens(
    session: Session, settings: Settings
) -> None:
    create_user(session, "ana", Role.ADMIN, password=PASSWORD, now=T0)
    principal = _login(session, settings)
    open_session(session, principal, ttl_s=60, address=None, now=T0)
    open_session(session, principal, ttl_s=600, address=None, now=T0)
    open_session(session, principal, ttl_s=600, address=None, now=T0 + 100)
    assert len(session.scalars(select(WebSession)).all()) == 2


def test_a_principal_without_a_user_gets_no_session(session: Session) -> None:
    cli = Principal(user_id=None, name="cli:root", role=Role.ADMIN, via="cli")
    with pytest.raises(AccessError, match="not a stored user"):
        open_session(session, cli, ttl_s=60, address=None, now=T0)


# --- on both backends --------------------------------------------------------------------


def test_concurrent_creations_of_one_name_leave_one(any_engine: Engine) -> None:
    """Two transactions create "ana" at once: the unique index decides, and the loser
    gets the same AccessError as a name taken earlier (not a database error)."""
    with transaction(any_engine) as setup:
        _add_partners(setup)
    first = Session(any_engine)
    first.begin()
    create_user(first, "ana", Role.ADMIN, now=T0)  # flushed, not committed
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with transaction(any_engine) as session:
                create_user(session, "ana", Role.PLANNER, now=T0)
        except BaseException as exc:  # reported to the test thread
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)  # blocked on the first's uncommitted row (PostgreSQL, SQLite's lock)
    first.commit()
    first.close()
    thread.join(30)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], AccessError), outcome
    assert "is taken" in str(outcome[0])
    with Session(any_engine) as session:
        users, total = list_users(session)
        assert total == 1 and users[0].role is Role.ADMIN


def test_login_rate_limit_on_both_backends(any_engine: Engine, settings: Settings) -> None:
    """Each attempt in its own committed transaction, as the API does; long names are
    clipped in the audit rows (PostgreSQL refuses over-long strings)."""
    with transaction(any_engine) as setup:
        _add_partners(setup)
        create_user(setup, "ana", Role.ADMIN, password=PASSWORD, now=T0)
    long_name = "ana" + "x" * 100
    for n in range(3):
        with Session(any_engine) as session:
            with pytest.raises(AccessError):
                check_login(session, long_name, PASSWORD, address="10.0.0.1", now=T0 + n,
                            settings=settings)  # fmt: skip
            session.commit()
    with Session(any_engine) as session:
        with pytest.raises(LoginLimited):
            check_login(session, long_name, PASSWORD, address="10.0.0.2", now=T0 + 5,
                        settings=settings)  # fmt: skip
        session.commit()
        principal = check_login(
            session, "ana", PASSWORD, address="10.0.0.1", now=T0 + 5, settings=settings
        )
        token = issue_token(session, "ana", now=T0 + 5).token
        session.commit()
    with Session(any_engine) as session:
        assert principal_for_token(session, token, now=T0 + 6) == Principal(
            user_id=principal.user_id, name="ana", role=Role.ADMIN, via="token"
        )
