"""A small city for the API and dashboard tests: its inventory, its metrics, its secrets.

Plain data and functions, imported only by conftest.py files (tests/api, tests/dashboards)
that turn them into fixtures; test modules take the fixtures.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.access import Role
from core.incidents import IncidentClass, Verdict
from core.settings import Settings
from inventory import incidents
from inventory.accounts import create_user, issue_token
from inventory.db import transaction
from inventory.models import AccessPoint, ApStatus, CredentialProfile, District, Partner, Site
from tests.fixtures.coverage_city import LAT, LON, NORTH, SOUTH, STEP, square
from tests.fixtures.secret_keys import fixed_box
from timeseries import MetricStore
from timeseries.port import Sample

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z: fixed so that times in assertions are exact

# Every credential value of the fixture, ids and user names included: none may ever be
# found in an API response body.
SECRETS: tuple[str, ...] = (
    "credprofile-alpha",
    "credprofile-beta",
    "c0mmunity-S3CRET-v2",
    "snmpuser-theta",
    "AUTHKEY-S3CRET-123",
    "PRIVKEY-S3CRET-456",
    "sshuser-zeta",
    "SSHPASS-S3CRET-789",
    "SSHKEYFILE-S3CRET",
)


# One user per role, named like its key in the tokens of :func:`seed_users`; "partner" is
# bound to p-bank (ap-01, ap-02; sites s-park, s-planned), "partner-telco" to p-telco
# (ap-03, ap-06; site s-market). s-school (ap-04, ap-05) has no partner: the city's own.
USERS: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.ADMIN, None),
    "engineer": (Role.ENGINEER, None),
    "planner": (Role.PLANNER, None),
    "partner": (Role.PARTNER, "p-bank"),
    "partner-telco": (Role.PARTNER, "p-telco"),
    "field": (Role.FIELD, None),  # a technician: the work orders of their team(s)
}
# Their passwords, for the web login tests (user name -> password).
PASSWORDS: dict[str, str] = {name: f"pw-{name}-Correct-Horse-9" for name in USERS}


# Where each site stands (lat, lon): inside its district's boundary (North and South,
# the squares of tests.fixtures.coverage_city), apart from each other so a map draws four
# markers. s-park keeps the middle of North, where coverage's demand point dp-n1 is;
# s-planned (not built: coverage ignores it) stands where no demand point is.
SITE_POSITIONS: dict[str, tuple[float, float]] = {
    "s-market": (LAT + 0.002, LON + 0.002),
    "s-park": (LAT, LON),
    "s-planned": (LAT - 2 * STEP + 0.002, LON - 0.003),
    "s-school": (LAT - 2 * STEP + 0.001, LON - 0.002),
}


def sample(ap: str, ts: float, **fields: float) -> Sample:
    return Sample(measurement="ap", tags={"ap": ap}, fields=fields, ts=ts)


def settings_in(directory: Path) -> Settings:
    """Settings on a SQLite inventory and the real embedded store, both in ``directory``."""
    settings = Settings(data_dir=directory)
    assert settings.store_url.startswith("embedded://")
    return settings


def seed_inventory(engine: Engine, now: float = NOW) -> None:
    """Two districts with boundaries, four sites inside them (:data:`SITE_POSITIONS`),
    five enabled APs (three up, one down, one never polled), one disabled AP, and the
    incidents of :func:`seed_incidents`."""
    box = fixed_box()
    with transaction(engine) as s:
        s.add_all(
            [
                Partner(id="p-bank", name="Bank of Example"),
                Partner(id="p-telco", name="Telco Ltd"),
                District(id="d-north", name="North", boundary_geojson=square(*NORTH)),
                District(id="d-south", name="South", boundary_geojson=square(*SOUTH)),
                # Sealed, as the importer stores them, with the tests' fixed key
                # (fixed_box(), from tests.fixtures.secret_keys).
                CredentialProfile(
                    id="credprofile-alpha",
                    snmp_version="2c",
                    snmp_community=box.seal("c0mmunity-S3CRET-v2"),
                ),
                CredentialProfile(
                    id="credprofile-beta",
                    snmp_version="3",
                    snmp_user="snmpuser-theta",
                    snmp_auth_protocol="SHA",
                    snmp_auth_key=box.seal("AUTHKEY-S3CRET-123"),
                    snmp_priv_protocol="AES",
                    snmp_priv_key=box.seal("PRIVKEY-S3CRET-456"),
                    ssh_username="sshuser-zeta",
                    ssh_password=box.seal("SSHPASS-S3CRET-789"),
                    ssh_key_file="/etc/citywifi/SSHKEYFILE-S3CRET",
                ),
            ]
        )
        s.flush()
        for sid, name, district, partner, kind, status in (
            ("s-market", "Central Market", "d-north", "p-telco", "market", "active"),
            ("s-park", "Riverside Park", "d-north", "p-bank", "park", "active"),
            ("s-planned", "New Library", "d-south", "p-bank", "other", "planned"),
            ("s-school", "Hill School", "d-south", None, "school", "active"),
        ):
            lat, lon = SITE_POSITIONS[sid]
            s.add(
                Site(
                    id=sid, name=name, lat=lat, lon=lon, district_id=district,
                    partner_id=partner, kind=kind, coverage_radius_m=60.0, status=status,
                )
            )  # fmt: skip
        s.flush()
        for ap_id, site, cred, enabled in (
            ("ap-01", "s-park", "credprofile-alpha", True),
            ("ap-02", "s-park", "credprofile-beta", True),
            ("ap-03", "s-market", "credprofile-alpha", True),
            ("ap-04", "s-school", "credprofile-beta", True),
            ("ap-05", "s-school", "credprofile-alpha", False),
            ("ap-06", "s-market", "credprofile-beta", True),
        ):
            s.add(
                AccessPoint(
                    id=ap_id, site_id=site, name=f"{site} {ap_id}", host=f"127.1.0.{ap_id[-1]}",
                    snmp_port=161, ssh_port=22, profile="auto", credential_id=cred,
                    enabled=enabled,
                )
            )  # fmt: skip
        s.flush()
        s.add_all(
            [
                ApStatus(
                    ap_id="ap-01",
                    state="up",
                    since=now - 7200,
                    last_seen=now - 12,
                    polls_attempted=400,
                    polls_ok=398,
                ),
                ApStatus(ap_id="ap-02", state="up", since=now - 600, last_seen=now - 3),
                ApStatus(
                    ap_id="ap-03",
                    state="down",
                    since=now - 900,
                    last_seen=now - 905,
                    consecutive_failures=9,
                    last_error="timeout",
                ),
                ApStatus(ap_id="ap-05", state="up", since=now - 60, last_seen=now - 60),
                ApStatus(ap_id="ap-06", state="up", since=now - 50, last_seen=now - 5),
            ]
        )
        s.flush()
        seed_incidents(s, now)


# The seeded incidents, in the order of their ids (1..6): four open (so that the access
# matrix can acknowledge and resolve a fresh one as each allowed caller), one resolved,
# one merged. Explanations speak of the whole city, as the engine's do: a partner must be
# served its own share instead.
AREA_EXPLANATION = "2 sites in North (s-park, s-market) stopped answering within 60 s"


def seed_incidents(s: Session, now: float) -> None:
    """1: ap_down ap-02 (p-bank); 2: ap_down ap-06 (p-telco); 3: area_outage d-north over
    ap-01 (p-bank) and ap-03 (p-telco), with ap_down ap-03 (5) merged into it; 4: site_down
    s-school (the city's own: no partner sees it); 6: site_down s-park, resolved (power),
    reopened once, acknowledged and noted."""
    incidents.open_incident(
        s, kind=IncidentClass.AP_DOWN, scope_id="ap-02", district_id="d-north",
        aps={"ap-02": "s-park"}, explanation="ap-02 at Riverside Park stopped answering",
        now=now - 600,
    )  # fmt: skip
    incidents.open_incident(
        s, kind=IncidentClass.AP_DOWN, scope_id="ap-06", district_id="d-north",
        aps={"ap-06": "s-market"}, explanation="ap-06 at Central Market stopped answering",
        now=now - 500,
    )  # fmt: skip
    area = incidents.open_incident(
        s, kind=IncidentClass.AREA_OUTAGE, scope_id="d-north", district_id="d-north",
        aps={"ap-01": "s-park"}, explanation=AREA_EXPLANATION, now=now - 400,
        evidence="ap-01 (Bank of Example) down at -400 s, ap-03 (Telco Ltd) at -380 s",
    )  # fmt: skip
    incidents.open_incident(
        s, kind=IncidentClass.SITE_DOWN, scope_id="s-school", district_id="d-south",
        aps={"ap-04": "s-school"}, explanation="Hill School stopped answering", now=now - 300,
    )  # fmt: skip
    child = incidents.open_incident(
        s, kind=IncidentClass.AP_DOWN, scope_id="ap-03", district_id="d-north",
        aps={"ap-03": "s-market"}, explanation="ap-03 at Central Market stopped answering",
        now=now - 390,
    )  # fmt: skip
    incidents.merge(s, child, area, now=now - 380)
    old = incidents.open_incident(
        s, kind=IncidentClass.SITE_DOWN, scope_id="s-park", district_id="d-north",
        aps={"ap-01": "s-park", "ap-02": "s-park"}, explanation="Riverside Park stopped answering",
        now=now - 7200,
    )  # fmt: skip
    incidents.acknowledge(s, old, actor="engineer", note="on it", now=now - 7100)
    incidents.resolve(s, old, now=now - 7000, verdict=Verdict.POWER)
    incidents.reopen(s, old, now=now - 6900, aps={"ap-01": "s-park"})
    incidents.add_note(
        s, old, actor="engineer", note="Telco Ltd says s-market is fine", now=now - 6850
    )
    incidents.resolve(s, old, now=now - 6800, actor="engineer", note="power back")


def seed_metrics(store: MetricStore, now: float = NOW) -> None:
    store.write(
        [
            sample("ap-01", now - 72, clients=10, uptime_s=7100, rx_bps=1e6, tx_bps=5e5),
            sample("ap-01", now - 12, clients=12, uptime_s=7188, rx_bps=2.5e6, tx_bps=1.25e6),
            sample("ap-02", now - 3, clients=3, reachable=1),
            sample("ap-03", now - 905, clients=7, uptime_s=50_000, rx_bps=4e6, tx_bps=3e6),
            sample("ap-06", now - 5, clients=0, uptime_s=42, rx_bps=0, tx_bps=0),
        ]
    )


def seed_users(engine: Engine, now: float = NOW) -> dict[str, str]:
    """The users of :data:`USERS` with the passwords of :data:`PASSWORDS`; returns a new
    token of each (user name, which is also its role or partner role, -> token)."""
    tokens: dict[str, str] = {}
    with transaction(engine) as s:
        for name, (role, partner) in USERS.items():
            create_user(s, name, role, partner_id=partner, password=PASSWORDS[name], now=now)
            tokens[name] = issue_token(s, name, label="tests", now=now).token
    return tokens
