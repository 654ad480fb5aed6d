"""SQLAlchemy 2 tables for the inventory and for each AP's polled state.

Portable SQL only (SQLite now, PostgreSQL by URL): string ids chosen by the city, no
database-specific types. Times are stored as UTC epoch seconds (float) so that both
engines and every process agree without time-zone conversion.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.states import ApState


class Base(DeclarativeBase):
    pass


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The availability its sites must reach (migration 0011); None: the setting.
    sla_target_pct: Mapped[float | None] = mapped_column(Float, default=None)
    # Where its monthly report is e-mailed (comma-separated addresses); None: nowhere.
    report_to: Mapped[str | None] = mapped_column(String(1000), default=None)


class District(Base):
    __tablename__ = "districts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # GeoJSON geometry, filled by the districts import of a later issue.
    boundary_geojson: Mapped[str | None] = mapped_column(Text, default=None)


class CredentialProfile(Base):
    """SNMP (v2c or v3) and optional SSH secrets, shared by many APs.

    The four secret columns hold values sealed by ``inventory.secretbox`` (never clear
    text: migration 0004 sealed what older versions stored); user names, protocols and
    the key file's path are not secrets and stay readable.
    """

    __tablename__ = "credential_profiles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    snmp_version: Mapped[str] = mapped_column(String(4))  # "2c" or "3"
    snmp_community: Mapped[str | None] = mapped_column(Text, default=None)  # sealed
    snmp_user: Mapped[str | None] = mapped_column(String(200), default=None)
    snmp_auth_protocol: Mapped[str | None] = mapped_column(String(16), default=None)
    snmp_auth_key: Mapped[str | None] = mapped_column(Text, default=None)  # sealed
    snmp_priv_protocol: Mapped[str | None] = mapped_column(String(16), default=None)
    snmp_priv_key: Mapped[str | None] = mapped_column(Text, default=None)  # sealed
    ssh_username: Mapped[str | None] = mapped_column(String(200), default=None)
    ssh_password: Mapped[str | None] = mapped_column(Text, default=None)  # sealed
    ssh_key_file: Mapped[str | None] = mapped_column(String(1000), default=None)
    # The RADIUS shared secret of the APs' accounting (migration 0010); None: they send none.
    radius_secret: Mapped[str | None] = mapped_column(Text, default=None)  # sealed

    #: The columns sealed at rest.
    SECRET_COLUMNS: ClassVar[tuple[str, ...]] = (
        "snmp_community",
        "snmp_auth_key",
        "snmp_priv_key",
        "ssh_password",
        "radius_secret",
    )


class Uplink(Base):
    """A shared backhaul link or aggregation node, run by an operator: when it fails,
    every site behind it stops answering together (the fault engine's topology)."""

    __tablename__ = "uplinks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(200))
    # What the link carries, both directions together (migration 0007); None: not known,
    # so it is never judged backhaul_saturated.
    capacity_mbps: Mapped[float | None] = mapped_column(Float, default=None)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    district_id: Mapped[str | None] = mapped_column(
        ForeignKey("districts.id"), default=None, index=True
    )
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    coverage_radius_m: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    uplink_id: Mapped[str | None] = mapped_column(
        ForeignKey("uplinks.id"), default=None, index=True
    )

    aps: Mapped[list[AccessPoint]] = relationship(back_populates="site")


class AccessPoint(Base):
    __tablename__ = "access_points"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(253))
    snmp_port: Mapped[int] = mapped_column(Integer)
    ssh_port: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(32))
    credential_id: Mapped[str] = mapped_column(ForeignKey("credential_profiles.id"))
    enabled: Mapped[bool] = mapped_column(Boolean)

    site: Mapped[Site] = relationship(back_populates="aps")
    credential: Mapped[CredentialProfile] = relationship()


class DemandPoint(Base):
    """Where people are: a population weight at a point, for coverage analysis."""

    __tablename__ = "demand_points"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    district_id: Mapped[str | None] = mapped_column(
        ForeignKey("districts.id"), default=None, index=True
    )


class CandidateSite(Base):
    """A place the city could build a new site (a public building, a pole, a school): what
    the coverage suggestions choose among. Planning input, not inventory: the list is
    replaced as a whole by ``citywifi coverage candidates import`` (migration 0009)."""

    __tablename__ = "candidate_sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String(32), default=None)
    # None: the setting coverage_candidate_radius_m.
    coverage_radius_m: Mapped[float | None] = mapped_column(Float, default=None)


class AccountingSession(Base):
    """One hotspot session, from a NAS's RADIUS accounting (RFC 2866): written only by
    ``inventory.sessions`` (the receiver's writer), read by the API and the reports.

    Identity: (``ap_id``, ``nas_session_id``, ``generation``); a NAS's session ids restart
    after a reboot, so a closed id may come back as a new session, the next generation
    (see inventory.sessions). ``site_id``/``partner_id`` are the AP's when the session began:
    a sponsor's report counts what its site did then, whatever moves later. Octets are
    the NAS's cumulative counters, gigawords included: ``input`` from the user (upload),
    ``output`` to the user (download). ``user_hash``/``station_hash``: keyed hashes of
    User-Name and Calling-Station-Id with the key of ``key_month`` (inventory.userkeys);
    no MAC, IP address or user name is ever stored.
    """

    __tablename__ = "accounting_sessions"
    __table_args__ = (UniqueConstraint("ap_id", "nas_session_id", "generation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ap_id: Mapped[str] = mapped_column(String(64), index=True)  # no FK: history outlives APs
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    partner_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    nas_session_id: Mapped[str] = mapped_column(String(253))  # Acct-Session-Id
    # 0, then 1, 2, ... when a NAS reuses a closed session's id (its counter restarted).
    generation: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(8), index=True)  # open, closed, lost
    started_at: Mapped[float] = mapped_column(Float, index=True)
    updated_at: Mapped[float] = mapped_column(Float)  # the last packet's event time
    stopped_at: Mapped[float | None] = mapped_column(Float, default=None, index=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)  # Acct-Session-Time
    input_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    output_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    input_packets: Mapped[int] = mapped_column(BigInteger, default=0)
    output_packets: Mapped[int] = mapped_column(BigInteger, default=0)
    terminate_cause: Mapped[str | None] = mapped_column(String(32), default=None)
    key_month: Mapped[str] = mapped_column(String(7))  # "2026-11": the hash key's month
    user_hash: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    station_hash: Mapped[str | None] = mapped_column(String(32), default=None, index=True)


class UserHashKey(Base):
    """The secret of one month's user hashes, sealed like a device secret. Made on first
    need; deleted after ``accounting_key_months``, so an old hash can no longer be tied
    to anyone (and a user cannot be followed from one month to the next)."""

    __tablename__ = "user_hash_keys"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11", city time
    key: Mapped[str] = mapped_column(Text)  # sealed (inventory.secretbox)
    created_at: Mapped[float] = mapped_column(Float)


class ReportDelivery(Base):
    """A partner's monthly report, e-mailed (migration 0011): the row is written in the
    transaction that claims the (partner, month), so the schedule never sends one twice,
    whatever crashes or runs again."""

    __tablename__ = "report_deliveries"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    state: Mapped[str] = mapped_column(String(8))  # claimed, sent, failed
    claimed_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float, default=None)
    recipients: Mapped[str] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(String(500), default=None)


class ApStatus(Base):
    """What the collector last concluded about an AP; written by the collector only.

    Kept in the inventory database rather than the metric store because it is state, not
    a series: the API joins it with the inventory, and it survives collector restarts.
    """

    __tablename__ = "ap_status"

    ap_id: Mapped[str] = mapped_column(
        ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16), default=ApState.UNKNOWN.value)
    since: Mapped[float | None] = mapped_column(Float, default=None)  # state entered at
    last_seen: Mapped[float | None] = mapped_column(Float, default=None)  # last answer
    last_poll: Mapped[float | None] = mapped_column(Float, default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    detected_profile: Mapped[str | None] = mapped_column(String(32), default=None)
    # Availability = polls_ok / polls_attempted, counted since the AP was first polled.
    polls_attempted: Mapped[int] = mapped_column(Integer, default=0)
    polls_ok: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    last_cause: Mapped[str | None] = mapped_column(String(16), default=None)  # PollCause


class ApEvent(Base):
    """One change of an AP's state (core.states.Transition), appended by the collector.

    The fault engine correlates these and the AP page lists them; rows are never updated.
    """

    __tablename__ = "ap_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ap_id: Mapped[str] = mapped_column(
        ForeignKey("access_points.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[float] = mapped_column(Float, index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(16))  # PollCause
    detail: Mapped[str | None] = mapped_column(String(500), default=None)


# --- access control (migration 0003_access) ---------------------------------------------


class User(Base):
    """A person or program that uses the API. ``role`` is a core.access.Role value;
    ``partner_id`` is set for (and only for) the partner role. The password (optional:
    token-only users have none) is kept as an argon2 hash, never in clear."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id"), default=None, index=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored (tokens are 256 random bits, so a fast
    hash is enough); the token itself is shown once, when made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, default=None)
    revoked_at: Mapped[float | None] = mapped_column(Float, default=None)
    last_used_at: Mapped[float | None] = mapped_column(Float, default=None)


class WebSession(Base):
    """A browser login: the cookie's SHA-256 and the CSRF token's, never either in clear."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    address: Mapped[str | None] = mapped_column(String(64), default=None)


class AuditEntry(Base):
    """Who did what, when, from where (core.access.AuditAction). Rows are never updated.

    ``actor`` is the user name as it was typed or known (a failed login names what was
    tried); ``address`` the client address, or "cli" for a command run on the server."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    address: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    detail: Mapped[str | None] = mapped_column(String(500), default=None)


# --- incidents (migration 0006_incidents) -----------------------------------------------


class Incident(Base):
    """One real problem (core.incidents): one row however many APs it covers.

    ``scope_kind``/``scope_id`` say what it is about (an AP, site, uplink or district);
    the affected APs are :class:`IncidentAp` rows, the story :class:`IncidentEntry` rows.
    ``merged_into`` points at the larger incident this one turned out to be part of (it
    is then resolved, and notifications follow the larger one).
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # IncidentClass
    scope_kind: Mapped[str] = mapped_column(String(16))  # IncidentScope
    scope_id: Mapped[str] = mapped_column(String(64), index=True)
    district_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # IncidentState
    opened_at: Mapped[float] = mapped_column(Float, index=True)
    updated_at: Mapped[float] = mapped_column(Float)
    acknowledged_at: Mapped[float | None] = mapped_column(Float, default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved_at: Mapped[float | None] = mapped_column(Float, default=None, index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), default=None)  # None: auto
    responsible: Mapped[str] = mapped_column(String(32))  # Responsible
    explanation: Mapped[str] = mapped_column(String(1000))
    verdict: Mapped[str | None] = mapped_column(String(16), default=None)  # Verdict
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), default=None, index=True
    )
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    # Raised by one for each citizen report that joins it (migration 0013): what people
    # in the street say weighs on what the operation centre does first.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class IncidentAp(Base):
    """An AP an incident covers (and its site, kept so the incident still reads right
    after the AP moves or goes). Partner scoping goes through the AP's site."""

    __tablename__ = "incident_aps"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    ap_id: Mapped[str] = mapped_column(
        ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    since: Mapped[float] = mapped_column(Float)  # when the AP joined the incident


class IncidentEntry(Base):
    """The incident's timeline: opened, member added or recovered, acknowledged, note,
    merged, reopened, resolved, with who (None: the engine) and the evidence."""

    __tablename__ = "incident_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str | None] = mapped_column(String(1000), default=None)


# --- maintenance windows (migration 0007_maintenance) ----------------------------------


class MaintenanceWindow(Base):
    """Planned work on a site or a whole district, from ``starts_at`` to ``ends_at``.

    While it runs, the fault engine opens no incident for what it covers (and a reboot
    inside it is expected); the API shows it, so an operator sees why a dead site has no
    incident. ``scope_kind`` is ``site`` or ``district`` (core.incidents.IncidentScope
    values). Rows are kept after they end: the history says why nothing was raised."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str] = mapped_column(String(64), index=True)
    starts_at: Mapped[float] = mapped_column(Float, index=True)
    ends_at: Mapped[float] = mapped_column(Float, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


# --- notifications (migration 0008_notifications) -------------------------------------


class NotificationGroup(Base):
    """One route's aggregation group (Alertmanager's word): the incidents it tells that
    route about together, and when it last did. Persisted so a restarted engine neither
    repeats a message nor forgets one that was due."""

    __tablename__ = "notification_groups"

    route: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    pending_since: Mapped[float | None] = mapped_column(Float, default=None)  # untold change
    last_sent_at: Mapped[float | None] = mapped_column(Float, default=None)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # messages queued so far


class NotifiedIncident(Base):
    """What a route was last told about an incident (``state``: open, acknowledged or
    resolved): the proof that a resolved message is owed, merged incidents included."""

    __tablename__ = "notified_incidents"

    route: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    group_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    told_at: Mapped[float] = mapped_column(Float)


class Notification(Base):
    """The outbox: one message for one route, queued in the same transaction as the group
    state that made it (so it is neither lost nor queued twice) and delivered, with
    retries, by a worker that never holds up the engine. ``payload`` is the JSON body,
    already scoped to the route (a sponsor's names only its own sites and APs); it holds
    no secret (the signature is made at delivery)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    route: Mapped[str] = mapped_column(String(64), index=True)
    group_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # firing, update, repeat, resolved
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    due_at: Mapped[float] = mapped_column(Float, index=True)  # next attempt
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[float | None] = mapped_column(Float, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)


class CollectorMember(Base):
    """A collector process sharing the APs through leases (migration 0012): its
    heartbeat tells the others how many share the city, so each takes a fair share.
    Written only by :mod:`inventory.leases`."""

    __tablename__ = "collectors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # collector_id
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float, index=True)


class ApLease(Base):
    """Which collector polls an AP, until when (migration 0012). A row per AP, claimed
    in short transactions (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); an expired lease
    (``lease_until`` past) is free for any collector. Kept apart from ``ap_status`` so
    lease cycles never wait on the collectors' status writes. Written only by
    :mod:`inventory.leases`."""

    __tablename__ = "ap_leases"

    ap_id: Mapped[str] = mapped_column(
        ForeignKey("access_points.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    lease_until: Mapped[float] = mapped_column(Float, default=0.0, index=True)


class LeaderLease(Base):
    """The one active instance of a role that must run once for the city (the fault
    engine, migration 0012). ``term`` grows at every change of holder: a writer checks
    its term in the transaction it writes in (a fencing token), so a holder that stalled
    past its lease cannot write after a successor took over. Written only by
    :mod:`inventory.leadership`."""

    __tablename__ = "leader_leases"

    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    term: Mapped[int] = mapped_column(Integer, default=0)


# --- citizens' reports (migration 0013_citizen_reports) ---------------------------------


class CitizenReport(Base):
    """A citizen's problem report (core.citizens): where, what, and what filing it did.

    Written only by :mod:`inventory.citizen_reports`. Personal data is never in clear:
    the free text and the phone number are sealed (SecretBox), and the phone number is
    wiped (``phone_sealed`` None) once the report is closed: at once when closed by hand,
    at the notifier's next step when its incident resolved (after the citizen is told
    it is fixed, where a citizens' route is set: faults.notifier.tell_citizens); the
    client's address is kept only as a keyed hash (:mod:`inventory.userkeys`' month key),
    for the per-address limit.
    ``incident_id`` follows merges (it names the incident that holds the report now).
    """

    __tablename__ = "citizen_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[float] = mapped_column(Float, index=True)
    channel: Mapped[str] = mapped_column(String(16))  # core.citizens.Channel
    problem: Mapped[str] = mapped_column(String(16))  # core.citizens.Problem
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    site_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    distance_m: Mapped[float | None] = mapped_column(Float, default=None)
    match: Mapped[str] = mapped_column(String(16))  # core.citizens.Match
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), default=None, index=True
    )
    text_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    phone_sealed: Mapped[str | None] = mapped_column(String(500), default=None)
    address_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    filed_by: Mapped[str | None] = mapped_column(String(64), default=None)  # None: the page
    external_ref: Mapped[str | None] = mapped_column(String(100), default=None, unique=True)
    closed_at: Mapped[float | None] = mapped_column(Float, default=None, index=True)


class ReportPhoto(Base):
    """A report's one photo, re-encoded (no EXIF, no location, no camera data) before it
    is stored; shown only to engineers."""

    __tablename__ = "report_photos"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("citizen_reports.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# --- field work (migration 0013_citizen_reports) ----------------------------------------


class FieldTeam(Base):
    """A team that goes out to fix hotspots: the city's own (``responsible`` noc), the
    backhaul operator's (operator) or a sponsor's vendor (sponsor), for a district or the
    whole city (``district_id`` None). Written only by :mod:`inventory.work_orders`."""

    __tablename__ = "field_teams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[str | None] = mapped_column(
        ForeignKey("districts.id"), default=None, index=True
    )
    responsible: Mapped[str] = mapped_column(String(16))  # core.incidents.Responsible
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id"), default=None, index=True
    )


class FieldTeamMember(Base):
    """A user (a technician) in a team: a technician sees the work orders of their teams."""

    __tablename__ = "field_team_members"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("field_teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class WorkOrder(Base):
    """Work at one site for one incident (fieldwork): new → assigned → on_site → fixed →
    verified, or cancelled. ``verified`` is set only from telemetry (fieldwork.verify),
    never by a person. ``note`` is the technician's latest note (every note is also on
    the timeline). Written only by :mod:`inventory.work_orders`."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("field_teams.id"), default=None, index=True
    )
    state: Mapped[str] = mapped_column(String(16), index=True)  # inventory.work_orders
    created_at: Mapped[float] = mapped_column(Float, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Float)
    fixed_at: Mapped[float | None] = mapped_column(Float, default=None)
    verified_at: Mapped[float | None] = mapped_column(Float, default=None)
    note: Mapped[str | None] = mapped_column(String(1000), default=None)


class WorkOrderEntry(Base):
    """A work order's timeline: created, assigned, each state change, notes, the photo,
    verified (``actor`` None: the telemetry check)."""

    __tablename__ = "work_order_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(1000), default=None)


class WorkOrderPhoto(Base):
    """A work order's one photo of the fix, re-encoded (no EXIF) before it is stored; a
    new one replaces it."""

    __tablename__ = "work_order_photos"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    taken_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[float] = mapped_column(Float)
