"""Read and write helpers for the collector and the API, shaped for one query per call.

The collector polls hundreds to thousands of APs per cycle; both helpers here therefore
touch the database a fixed number of times per call, whatever the number of APs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from inventory.models import AccessPoint, ApStatus, CredentialProfile, Site

CHUNK = 500


@dataclass(frozen=True)
class PollTarget:
    """Everything needed to poll one AP, so a poll never goes back to the database.

    Secrets are kept out of ``repr`` so that logging a target does not leak them. SNMP v3
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


def enabled_aps(session: Session) -> list[PollTarget]:
    """The APs to poll, ordered by id: enabled, at a site that is not retired.

    Planned sites are included on purpose: their APs are being commissioned and the
    installers want to see them come up before the site goes live. A retired site's APs
    are not polled even when still marked enabled, since they are expected to be gone.
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
        .where(AccessPoint.enabled.is_(True), Site.status != "retired")
        .order_by(AccessPoint.id)
    )
    return [PollTarget(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class ApStatusUpdate:
    """The collector's latest conclusion about one AP; times are UTC epoch seconds."""

    ap_id: str
    state: str
    since: float | None
    last_seen: float | None
    last_poll: float | None
    consecutive_failures: int
    detected_profile: str | None
    last_error: str | None
    polls_attempted: int = 0
    polls_ok: int = 0


def record_status(session: Session, updates: Iterable[ApStatusUpdate]) -> None:
    """Upsert status rows in bulk: one SELECT per 500 APs, one INSERT and one UPDATE batch.

    The caller owns the transaction. Updates for APs no longer in the inventory (deleted
    while a poll was in flight) are dropped rather than failing the whole cycle. If the
    same AP appears twice, the last update wins.
    """
    latest = {u.ap_id: asdict(u) for u in updates}
    if not latest:
        return
    known: set[str] = set()
    has_status: set[str] = set()
    ids = sorted(latest)
    for start in range(0, len(ids), CHUNK):
        query = (
            select(AccessPoint.id, ApStatus.ap_id)
            .outerjoin(ApStatus, ApStatus.ap_id == AccessPoint.id)
            .where(AccessPoint.id.in_(ids[start : start + CHUNK]))
        )
        for ap_id, status_id in session.execute(query):
            known.add(ap_id)
            if status_id is not None:
                has_status.add(ap_id)
    new = [latest[ap_id] for ap_id in ids if ap_id in known and ap_id not in has_status]
    changed = [latest[ap_id] for ap_id in ids if ap_id in has_status]
    if new:
        # render_nulls keeps rows with and without None in one executemany batch.
        session.execute(insert(ApStatus).execution_options(render_nulls=True), new)
    if changed:
        session.execute(update(ApStatus), changed)
