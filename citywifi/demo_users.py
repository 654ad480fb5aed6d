"""The demo's users: one per role, so a newcomer can see each view of the same city.

Each gets a random password (for the page) and a token (for the API), printed once when
the demo starts and stored only hashed, like any user's; the demo's database is new at
every start, so they are new too. The partner user is bound to the simulated city's
partner with the most sites, so its view has something in it, and only that; the field
user (a technician) is the one member of the city's own field team, :data:`DEMO_TEAM`,
so the work orders an engineer gives that team show on its phone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from citywifi.command import CLI_ADDRESS, cli_actor
from core.access import AuditAction, Role
from core.errors import SimulatorError
from core.incidents import Responsible
from inventory import accounts, audit, work_orders
from inventory.db import transaction
from inventory.models import Partner, Site

NAME_PREFIX = "demo-"
_PASSWORD_BYTES = 12  # 16 characters, above accounts.MIN_PASSWORD_LENGTH
#: The demo's field team (id, name): the city's own (responsible noc), the whole city.
DEMO_TEAM = ("city-team", "City field team")


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: Role
    partner_id: str | None
    partner_name: str | None
    password: str = field(repr=False)
    token: str = field(repr=False)


def busiest_partner(engine: Engine) -> tuple[str, str]:
    """(id, name) of the partner with the most sites (ties: the lowest id)."""
    sites = func.count(Site.id)
    query = (
        select(Partner.id, Partner.name)
        .outerjoin(Site, Site.partner_id == Partner.id)
        .group_by(Partner.id, Partner.name)
        .order_by(sites.desc(), Partner.id)
        .limit(1)
    )
    with engine.connect() as connection:
        found = connection.execute(query).one_or_none()
    if found is None:
        raise SimulatorError("the simulated inventory has no partner for the demo's partner user")
    return found[0], found[1]


def create_demo_users(engine: Engine, *, now: float) -> list[DemoUser]:
    """Make ``demo-<role>`` for every role (in Role's order), audited like `users add`."""
    partner_id, partner_name = busiest_partner(engine)
    made: list[DemoUser] = []
    actor = cli_actor()
    with transaction(engine) as session:
        for role in Role:
            name = NAME_PREFIX + role.value
            partner = partner_id if role is Role.PARTNER else None
            password = secrets.token_urlsafe(_PASSWORD_BYTES)
            accounts.create_user(
                session, name, role, partner_id=partner, password=password, now=now
            )
            new = accounts.issue_token(session, name, label="demo", now=now)
            for action, detail in (
                (AuditAction.USER_CREATED, f"role {role.value}"),
                (AuditAction.TOKEN_CREATED, f"token {new.info.id}"),
            ):
                audit.record(
                    session, action, actor=actor, target=name, address=CLI_ADDRESS,
                    detail=detail, now=now,
                )  # fmt: skip
            made.append(
                DemoUser(
                    name=name,
                    role=role,
                    partner_id=partner,
                    partner_name=partner_name if partner else None,
                    password=password,
                    token=new.token,
                )
            )
        _demo_team(session, [u.name for u in made if u.role is Role.FIELD], now=now)
    return made


def _demo_team(session: Session, members: list[str], *, now: float) -> None:
    """:data:`DEMO_TEAM` with ``members``, audited like `field teams create/members`."""
    team_id, name = DEMO_TEAM
    view = work_orders.create_team(session, team_id=team_id, name=name, responsible=Responsible.NOC)
    view = work_orders.set_members(session, team_id, members)
    for detail in (f"created {name!r}: responsible noc", f"members: {', '.join(view.members)}"):
        audit.record(
            session, AuditAction.FIELD_TEAM_CHANGED, actor=cli_actor(),
            target=f"field team {team_id}", address=CLI_ADDRESS, detail=detail, now=now,
        )  # fmt: skip


def users_table(users: list[DemoUser]) -> list[str]:
    """The lines the demo prints: a header, then one user per line (columns aligned)."""
    rows = [("USER", "ROLE", "PARTNER", "PASSWORD", "TOKEN")]
    rows += [(u.name, u.role.value, u.partner_id or "-", u.password, u.token) for u in users]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    partners = {u.partner_id: u.partner_name for u in users if u.partner_id}
    lines += [f"({pid}: {name})" for pid, name in partners.items()]
    return lines
