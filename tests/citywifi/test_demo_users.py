"""The demo's users: one per role, each able to log in and call the API, the partner one
bound to the simulated city's busiest partner (the demo itself runs in tests/integration)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from citywifi.demo_users import DEMO_TEAM, busiest_partner, create_demo_users, users_table
from core.access import AuditAction, Role
from core.errors import SimulatorError
from core.incidents import Responsible
from core.settings import Settings
from inventory import accounts, audit, work_orders
from inventory.db import open_inventory, transaction
from inventory.models import District, Partner, Site
from simulators.city import build_city

NOW = 1_700_000_000.0


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_inventory(database_url, create=True)
    yield engine
    engine.dispose()


def add_city(engine: Engine, aps: int = 60) -> str:
    """The simulated city's partners, districts and sites; returns the busiest partner."""
    city = build_city(aps, seed=3)
    with transaction(engine) as session:
        session.add_all(Partner(id=p.id, name=p.name) for p in city.partners)
        session.add_all(District(id=d.id, name=d.name) for d in city.districts)
        session.flush()
        session.add_all(
            Site(
                id=s.id,
                name=s.name,
                lat=s.lat,
                lon=s.lon,
                district_id=s.district,
                partner_id=s.partner,
                kind=s.kind,
                coverage_radius_m=s.coverage_radius_m,
                status="active",
            )
            for s in city.sites
        )
    counts = Counter(s.partner for s in city.sites if s.partner)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def test_one_user_per_role_each_can_log_in_and_call(engine: Engine, tmp_path: Path) -> None:
    busiest = add_city(engine)
    users = create_demo_users(engine, now=NOW)
    assert [(u.name, u.role) for u in users] == [(f"demo-{r.value}", r) for r in Role]
    bound = {u.role: u.partner_id for u in users}
    assert bound == {Role.ADMIN: None, Role.ENGINEER: None, Role.PLANNER: None,
                     Role.PARTNER: busiest, Role.FIELD: None}  # fmt: skip
    settings = Settings(data_dir=tmp_path / "state")
    with Session(engine) as session:
        for user in users:
            assert user.password not in repr(user) and user.token not in repr(user)
            assert len(user.password) >= accounts.MIN_PASSWORD_LENGTH
            login = accounts.check_login(
                session, user.name, user.password, address=None, now=NOW, settings=settings
            )
            by_token = accounts.principal_for_token(session, user.token, now=NOW)
            assert by_token is not None
            assert (login.role, login.partner_id) == (by_token.role, by_token.partner_id)
            assert by_token.scope.partner_id == (busiest if user.role is Role.PARTNER else None)
        created = audit.entries(session, action=AuditAction.USER_CREATED)[0]
        assert sorted(r.target or "" for r in created) == sorted(u.name for u in users)


def test_the_table_shows_each_secret_once(engine: Engine) -> None:
    busiest = add_city(engine)
    users = create_demo_users(engine, now=NOW)
    lines = users_table(users)
    assert lines[0].split() == ["USER", "ROLE", "PARTNER", "PASSWORD", "TOKEN"]
    assert [line.split() for line in lines[1 : len(users) + 1]] == [
        [u.name, u.role.value, u.partner_id or "-", u.password, u.token] for u in users
    ]
    (partner_name,) = {u.partner_name for u in users if u.partner_name}
    assert lines[len(users) + 1 :] == [f"({busiest}: {partner_name})"]
    text = "\n".join(lines)
    assert all(text.count(u.password) == 1 and text.count(u.token) == 1 for u in users)


def test_a_city_without_partners_is_a_clear_error(engine: Engine) -> None:
    with pytest.raises(SimulatorError, match="no partner"):
        busiest_partner(engine)


def test_a_partner_without_sites_still_serves(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(Partner(id="p01", name="Only"))
    assert busiest_partner(engine) == ("p01", "Only")
    made = create_demo_users(engine, now=time.time())
    assert {u.partner_id for u in made if u.role is Role.PARTNER} == {"p01"}


def test_the_field_user_is_in_the_demos_field_team(engine: Engine) -> None:
    add_city(engine)
    users = create_demo_users(engine, now=NOW)
    (field,) = [u.name for u in users if u.role is Role.FIELD]
    with Session(engine) as session:
        team = work_orders.get_team(session, DEMO_TEAM[0])
        assert team is not None
        assert (team.name, team.responsible, team.district_id) == (
            DEMO_TEAM[1],
            Responsible.NOC,
            None,
        )
        assert team.members == (field,)
        changed = audit.entries(session, action=AuditAction.FIELD_TEAM_CHANGED)[0]
        assert {r.target for r in changed} == {f"field team {DEMO_TEAM[0]}"}
        assert len(changed) == 2  # made, then its members set
