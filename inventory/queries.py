"""Read and write helpers for the collector and the API, shaped for one query per call.

The collector polls hundreds to thousands of APs per cycle; both helpers here therefore
touch the database a fixed number of times per call, whatever the number of APs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, false, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.states import ApState, PollCause, Transition
from inventory.models import AccessPoint, ApEvent, ApStatus, CredentialProfile, Site
from inventory.secretbox import SecretBox

CHUNK = 500


@dataclass(frozen=True)
class PollTarget:
    """Everything needed to poll one AP, so a poll never goes back to the database.

    The secrets here are opened (clear), ready for the device; they are kept out of
    ``repr`` so that logging a target does not leak them. SNMP v3
    fields are None for v2c profiles and ``community`` is None for v3; the ``ssh_*``
    fields are None when the profile has no SSH credentials.
    """

    ap_id: str
    site_id: str
    district_id: str | None
    partner_id: str | None
    host: str
    snmp_port: int
    ssh_port: int
    profile: str
    snmp_version: str
    community: str | None = field(default=None, repr=False)
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_key: str | None = field(default=None, repr=False)
    ssh_username: str | None = None
    ssh_password: str | None = field(default=None, repr=False)
    ssh_key_file: str | None = None


def polled() -> tuple[ColumnElement[bool], ...]:
    """The conditions (on ``AccessPoint`` joined with ``Site``) of an AP collectors poll:
    enabled, at a site that is not retired (see :func:`enabled_aps` for why)."""
    return (AccessPoint.enabled.is_(True), Site.status != "retired")


def enabled_aps(session: Session, box: SecretBox) -> list[PollTarget]:
    """The APs to poll, ordered by id: enabled, at a site that is not retired; their
    secrets opened with ``box`` (ConfigError naming the key source when it cannot).

    Planned sites are included on purpose: their APs are being commissioned and the
    installers want to see them come up before the site goes live. A retired site's APs
    are not polled even when still marked enabled, since they are expected to be gone.
    Thousands of APs share a few profiles, so each stored value is opened once per call.
    """
    query = (
        select(
            AccessPoint.id,
            AccessPoint.site_id,
            Site.district_id,
            Site.partner_id,
            AccessPoint.host,
            AccessPoint.snmp_port,
            AccessPoint.ssh_port,
            AccessPoint.profile,
            CredentialProfile.snmp_version,
            CredentialProfile.snmp_community,
            CredentialProfile.snmp_user,
            CredentialProfile.snmp_auth_protocol,
            CredentialProfile.snmp_auth_key,
            CredentialProfile.snmp_priv_protocol,
            CredentialProfile.snmp_priv_key,
            CredentialProfile.ssh_username,
            CredentialProfile.ssh_password,
            CredentialProfile.ssh_key_file,
        )
        .join(Site, AccessPoint.site_id == Site.id)
        .join(CredentialProfile, AccessPoint.credential_id == CredentialProfile.id)
        .where(*polled())
        .order_by(AccessPoint.id)
    )
    opened: dict[str | None, str | None] = {None: None}

    def clear(stored: str | None) -> str | None:
        if stored not in opened:
            opened[stored] = box.open(stored)
        return opened[stored]

    return [
        PollTarget(
            *row[:9],
            community=clear(row.snmp_community),
            user=row.snmp_user,
            auth_protocol=row.snmp_auth_protocol,
            auth_key=clear(row.snmp_auth_key),
            priv_protocol=row.snmp_priv_protocol,
            priv_key=clear(row.snmp_priv_key),
            ssh_username=row.ssh_username,
            ssh_password=clear(row.ssh_password),
            ssh_key_file=row.ssh_key_file,
        )
        for row in session.execute(query)
    ]


@dataclass(frozen=True)
class ApStatusUpdate:
    """The collector's latest conclusion about one AP; times are UTC epoch seconds.

    ``attempted`` and ``answered`` are the polls since the previous update (deltas),
    added to the row's counters in SQL: two collectors, or a collector restarted from an
    old snapshot, can never overwrite each other's counts.
    """

    ap_id: str
    state: ApState
    since: float | None
    last_seen: float | None
    last_poll: float | None
    consecutive_failures: int
    detected_profile: str | None
    last_error: str | None
    last_cause: PollCause | None = None
    attempted: int = 0
    answered: int = 0


def record_status(session: Session, updates: Iterable[ApStatusUpdate]) -> None:
    """Upsert status rows with ``INSERT … ON CONFLICT``: counters added in SQL, the rest
    of the row replaced by the newest update.

    The caller owns the transaction. Updates for APs no longer in the inventory (deleted
    while a poll was in flight) are dropped rather than failing the whole cycle. Several
    updates for one AP are merged first: their deltas summed, the last one's state kept.
    """
    merged: dict[str, ApStatusUpdate] = {}
    for update in updates:
        before = merged.get(update.ap_id)
        if before is not None:
            update = replace(
                update,
                attempted=before.attempted + update.attempted,
                answered=before.answered + update.answered,
            )
        merged[update.ap_id] = update
    if not merged:
        return
    known = _existing_aps(session, sorted(merged))
    rows = [
        {
            "ap_id": u.ap_id,
            "state": str(u.state),
            "since": u.since,
            "last_seen": u.last_seen,
            "last_poll": u.last_poll,
            "consecutive_failures": u.consecutive_failures,
            "detected_profile": u.detected_profile,
            "last_error": u.last_error,
            "last_cause": None if u.last_cause is None else str(u.last_cause),
            "polls_attempted": u.attempted,
            "polls_ok": u.answered,
        }
        for ap_id, u in sorted(merged.items())
        if ap_id in known
    ]
    if not rows:
        return
    insert = dialect_insert(session)
    for start in range(0, len(rows), CHUNK):
        statement = insert(ApStatus).values(rows[start : start + CHUNK])
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[ApStatus.ap_id],
            set_={
                "state": excluded.state,
                "since": excluded.since,
                "last_seen": excluded.last_seen,
                "last_poll": excluded.last_poll,
                "consecutive_failures": excluded.consecutive_failures,
                "detected_profile": excluded.detected_profile,
                "last_error": excluded.last_error,
                "last_cause": excluded.last_cause,
                "polls_attempted": ApStatus.polls_attempted + excluded.polls_attempted,
                "polls_ok": ApStatus.polls_ok + excluded.polls_ok,
            },
        )
        session.execute(statement)


def record_transitions(session: Session, transitions: Iterable[Transition]) -> None:
    """Append AP state transitions to ``ap_events`` (the caller owns the transaction).
    Transitions of APs no longer in the inventory are dropped, like their status."""
    items = list(transitions)
    if not items:
        return
    known = _existing_aps(session, sorted({t.ap_id for t in items}))
    rows = [
        {
            "ap_id": t.ap_id,
            "at": t.at,
            "from_state": str(t.from_state),
            "to_state": str(t.to_state),
            "cause": str(t.cause),
            "detail": None if t.detail is None else t.detail[:500],
        }
        for t in items
        if t.ap_id in known
    ]
    if rows:
        session.execute(insert(ApEvent), rows)


def _existing_aps(session: Session, ids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        known.update(session.scalars(select(AccessPoint.id).where(AccessPoint.id.in_(chunk))))
    return known


def dialect_insert(session: Session) -> Any:
    """The INSERT construct with ``on_conflict_do_update``/``_nothing`` for this database
    (status upserts, lease and leader tables): the one place that knows which are."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"upserts need SQLite or PostgreSQL, not {name}")


def serialise(session: Session, name: str) -> None:
    """Hold the lock called ``name`` until this transaction ends: a check and the write it
    allows ("fewer than N so far, so store one more") then cannot interleave with another
    transaction's.

    PostgreSQL: a transaction-level advisory lock keyed by ``name``. SQLite has one writer
    at a time, so its write lock is taken at once by a write that changes nothing; call
    this first in the transaction (a SQLite transaction that has already read cannot take
    the write lock after another has committed).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))
    else:
        session.execute(sql_update(Site).where(false()).values(id=Site.id))
