"""A few hotspots for the citizens' reports tests: where they are, what reaches how far.

Plain data and seed functions (imported by tests/citizens/conftest.py,
tests/inventory/test_citizen_reports.py and tests/faults/test_notifier_citizens.py;
``seed_square``, one hotspot, by the import tests of the core and the CLI). Around
Jakarta (-6.2, 106.8); one degree of latitude is ~111.2 km, so 0.0005° is ~55.6 m.

=========  ===================  ======  =======  =====================================
site       where                radius  status   APs
=========  ===================  ======  =======  =====================================
taman      -6.2000, 106.8000    80 m    active   taman-a, taman-b (+ taman-x disabled)
halte      -6.2005, 106.8000    100 m   active   halte-a (55.6 m south of taman)
pasar      -6.2100, 106.8100    300 m   active   pasar-a (the largest radius)
planned    -6.2000, 106.8003    80 m    planned  planned-a (33 m east of taman)
dark       -6.1990, 106.8000    80 m    active   dark-a disabled (111 m north of taman)
tie-a/-b   -6.2200, 106.8200    50 m    active   tie-a-a / tie-b-a (the same spot)
=========  ===================  ======  =======  =====================================
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from inventory.models import AccessPoint, CredentialProfile, District, Site

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z

# site -> (name, lat, lon, radius, status, {ap: enabled})
SITES: dict[str, tuple[str, float, float, float, str, dict[str, bool]]] = {
    "taman": ("Taman Kota", -6.2, 106.8, 80.0, "active",
              {"taman-a": True, "taman-b": True, "taman-x": False}),
    "halte": ("Halte Sudirman", -6.2005, 106.8, 100.0, "active", {"halte-a": True}),
    "pasar": ("Pasar Baru", -6.21, 106.81, 300.0, "active", {"pasar-a": True}),
    "planned": ("Planned", -6.2, 106.8003, 80.0, "planned", {"planned-a": True}),
    "dark": ("Dark", -6.199, 106.8, 80.0, "active", {"dark-a": False}),
    "tie-b": ("Tie B", -6.22, 106.82, 50.0, "active", {"tie-b-a": True}),
    "tie-a": ("Tie A", -6.22, 106.82, 50.0, "active", {"tie-a-a": True}),
}  # fmt: skip

#: The enabled APs of taman: the members of an incident citizens open there.
TAMAN_APS = {"taman-a": "taman", "taman-b": "taman"}


def seed(session: Session) -> None:
    """The hotspots above in a new inventory (flushed, not committed)."""
    session.add(CredentialProfile(id="cred", snmp_version="2c"))
    session.add(District(id="d1", name="Menteng"))
    session.flush()
    for site_id, (name, lat, lon, radius, status, _) in SITES.items():
        session.add(
            Site(
                id=site_id, name=name, lat=lat, lon=lon, district_id="d1", kind="park",
                coverage_radius_m=radius, status=status,
            )
        )  # fmt: skip
    session.flush()
    for number, (site_id, (*_, aps)) in enumerate(SITES.items()):
        for index, (ap_id, enabled) in enumerate(aps.items()):
            session.add(
                AccessPoint(
                    id=ap_id, site_id=site_id, name=ap_id, host=f"127.4.{number}.{index + 1}",
                    snmp_port=161, ssh_port=22, profile="generic", credential_id="cred",
                    enabled=enabled,
                )
            )  # fmt: skip
    session.flush()


def seed_square(session: Session, lat: float, lon: float) -> None:
    """One hotspot for the import tests: district d-1, site s-1 ("Square", radius 80 m) at
    ``lat``/``lon``, its one enabled AP ap-1 (flushed, not committed)."""
    session.add(District(id="d-1", name="One"))
    session.add(CredentialProfile(id="cred-1", snmp_version="2c"))
    session.flush()
    session.add(
        Site(
            id="s-1", name="Square", lat=lat, lon=lon, district_id="d-1", kind="park",
            coverage_radius_m=80.0, status="active",
        )
    )  # fmt: skip
    session.flush()
    session.add(
        AccessPoint(
            id="ap-1", site_id="s-1", name="ap 1", host="127.9.0.1", snmp_port=161,
            ssh_port=22, profile="auto", credential_id="cred-1", enabled=True,
        )
    )  # fmt: skip
    session.flush()
