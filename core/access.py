"""Who may do what: roles, permissions and the principal a request acts as.

The one table of rights (:data:`ROLE_PERMISSIONS`) lives here, below every package, so
the API's route guards, the CLI's user commands and the later incident, coverage and
report modules all read the same rules. A route names the permission it needs, never a
list of roles: adding a role, or a right to one, is one edit in one place.

A partner principal carries its ``partner_id`` and sees only that partner's sites and
APs; the queries that honour this are built in one module (``inventory.scoping``) from
:class:`Scope`, so no handler writes its own partner filter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "admin"  # everything: users, inventory changes, secrets, audit
    ENGINEER = "engineer"  # status, incidents and their acknowledgement, inventory, reports
    PLANNER = "planner"  # coverage, status, reports
    PARTNER = "partner"  # one partner's sites, APs, status, incidents and reports only
    FIELD = "field"  # a field technician: the work orders of their team(s), the status


class Permission(enum.StrEnum):
    """A right a route requires. Values are stable strings (shown in 403 messages)."""

    STATUS_READ = "status:read"  # live status, sites, an AP's series and state changes
    INVENTORY_READ = "inventory:read"  # AP inventory (hosts, ports, profiles)
    INCIDENTS_READ = "incidents:read"
    INCIDENTS_ACT = "incidents:act"  # acknowledge, resolve, assign
    COVERAGE_READ = "coverage:read"  # coverage per district (a partner: of its own sites)
    COVERAGE_PLAN = "coverage:plan"  # gaps, site suggestions, what-if: the whole city's layout
    REPORTS_READ = "reports:read"
    SESSIONS_READ = "sessions:read"  # RADIUS sessions and their aggregates
    SESSIONS_IDENTIFY = "sessions:identify"  # see the user/device hashes (one user's sessions)
    MAINTENANCE_MANAGE = "maintenance:manage"  # create, change, end maintenance windows
    NOTIFICATIONS_READ = "notifications:read"  # deliveries, their failures, the routes
    USERS_MANAGE = "users:manage"  # users, their tokens
    AUDIT_READ = "audit:read"
    # Citizens' reports (issue 16): the reports with the citizen's text, photo and phone
    # number (engineers act on them), and filing them for a caller or importing them.
    CITIZEN_REPORTS_READ = "citizen-reports:read"
    CITIZEN_REPORTS_FILE = "citizen-reports:file"
    # Field work (issue 16): create, assign and read every work order; and work one's own
    # team's orders (on site, fixed, notes and photos), which is all a technician does.
    WORK_ORDERS_MANAGE = "work-orders:manage"
    WORK_ORDERS_WORK = "work-orders:work"


_EVERYONE = frozenset({Permission.STATUS_READ, Permission.REPORTS_READ, Permission.SESSIONS_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ENGINEER: _EVERYONE
    | {
        Permission.INVENTORY_READ,
        Permission.INCIDENTS_READ,
        Permission.INCIDENTS_ACT,
        Permission.MAINTENANCE_MANAGE,
        Permission.NOTIFICATIONS_READ,
        Permission.COVERAGE_READ,
        Permission.COVERAGE_PLAN,
        Permission.SESSIONS_IDENTIFY,
        Permission.CITIZEN_REPORTS_READ,
        Permission.CITIZEN_REPORTS_FILE,
        Permission.WORK_ORDERS_MANAGE,
    },
    Role.PLANNER: _EVERYONE | {Permission.COVERAGE_READ, Permission.COVERAGE_PLAN},
    Role.PARTNER: _EVERYONE
    | {Permission.INVENTORY_READ, Permission.INCIDENTS_READ, Permission.COVERAGE_READ},
    # Not _EVERYONE: a technician needs the state of the APs they fix, not usage reports
    # or sessions.
    Role.FIELD: frozenset({Permission.STATUS_READ, Permission.WORK_ORDERS_WORK}),
}


class AuditAction(enum.StrEnum):
    """What the audit log records; values are the strings stored."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_LIMITED = "login_limited"  # refused without checking: too many failures
    LOGOUT = "logout"
    USER_CREATED = "user_created"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    PASSWORD_SET = "password_set"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    INVENTORY_IMPORTED = "inventory_imported"
    SECRETS_EXPORTED = "secrets_exported"
    KEY_ROTATED = "key_rotated"
    INCIDENT_ACKNOWLEDGED = "incident_acknowledged"
    INCIDENT_RESOLVED = "incident_resolved"
    INCIDENT_NOTE = "incident_note"
    MAINTENANCE_CREATED = "maintenance_created"
    MAINTENANCE_CHANGED = "maintenance_changed"
    MAINTENANCE_ENDED = "maintenance_ended"  # deleted, or cut short
    CANDIDATES_IMPORTED = "candidates_imported"  # the candidate places for new sites replaced
    CITIZEN_REPORT_FILED = "citizen_report_filed"  # by an operator, for a caller
    CITIZEN_REPORTS_IMPORTED = "citizen_reports_imported"
    CITIZEN_REPORT_CLOSED = "citizen_report_closed"  # by hand (its phone number wiped)
    CITIZEN_PHOTO_VIEWED = "citizen_photo_viewed"  # a citizen's photo was opened
    FIELD_TEAM_CHANGED = "field_team_changed"  # a team made, changed or its members set
    WORK_ORDER_CREATED = "work_order_created"
    WORK_ORDER_CHANGED = "work_order_changed"  # assigned, state changed, note, photo


@dataclass(frozen=True, slots=True)
class Scope:
    """The slice of the city a principal may see: ``partner_id`` None is all of it."""

    partner_id: str | None = None

    @property
    def whole_city(self) -> bool:
        return self.partner_id is None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request (or a CLI command) acts as. ``via``: "token", "session" or "cli"."""

    user_id: int | None
    name: str
    role: Role
    partner_id: str | None = None
    via: str = "token"

    def __post_init__(self) -> None:
        # The one invariant scoping rests on: a partner without a partner would see the
        # whole city (Scope(None)), so such a principal cannot exist at all.
        if (self.role is Role.PARTNER) != (self.partner_id is not None):
            raise ValueError(
                f"principal {self.name!r}: a partner_id is required for, and only for, "
                f"the partner role (role {self.role}, partner_id {self.partner_id!r})"
            )

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def scope(self) -> Scope:
        return Scope(self.partner_id)
