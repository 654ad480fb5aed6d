"""A small city for the fault engine's tests: its topology, as a snapshot or in a database.

Plain data and functions (imported by tests/faults/conftest.py and the test modules of
this directory; no test module imports another). Three districts, two shared uplinks,
eleven sites:

==========  =============  ======================  ================
district    sites          uplink                  APs per site
==========  =============  ======================  ================
d1 (Bekasi  s1 s2          u1 (both in d1)         2
Timur)      s3 s4 s5       none                    2
            s6             none                    3
d2          s7             u2 (with s8 in d3)      2
            s9             none                    1
            s10            none                    3
d3          s8             u2                      2
            s11            u2                      1
==========  =============  ======================  ================

AP ids are ``<site>-a``, ``<site>-b``, ... The correlation thresholds of the tests:
uplink_min_sites 2, area_min_sites 3, area_window_s 60.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, delete

from core.incidents import RESPONSIBLE, SCOPE_OF, IncidentClass, IncidentState
from core.states import ApState
from faults.correlate import Thresholds
from faults.snapshot import ApView, SiteView, Snapshot, UplinkView
from inventory.db import transaction
from inventory.incidents import IncidentView
from inventory.models import (
    AccessPoint,
    ApStatus,
    CredentialProfile,
    District,
    Site,
    Uplink,
)

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
THRESHOLDS = Thresholds(uplink_min_sites=2, area_min_sites=3, area_window_s=60.0)

DISTRICTS = {"d1": "Bekasi Timur", "d2": "Bekasi Barat", "d3": "Cikarang"}
UPLINKS = {"u1": ("Metro-1", "Telkom"), "u2": ("Ring-2", "Biznet")}
# site -> (district, uplink, number of APs)
SITES: dict[str, tuple[str, str | None, int]] = {
    "s1": ("d1", "u1", 2),
    "s2": ("d1", "u1", 2),
    "s3": ("d1", None, 2),
    "s4": ("d1", None, 2),
    "s5": ("d1", None, 2),
    "s6": ("d1", None, 3),
    "s7": ("d2", "u2", 2),
    "s9": ("d2", None, 1),
    "s10": ("d2", None, 3),
    "s8": ("d3", "u2", 2),
    "s11": ("d3", "u2", 1),
}


def aps_of(*sites: str) -> dict[str, str]:
    """Every AP of ``sites``: ap id -> site id."""
    return {f"{site}-{chr(ord('a') + i)}": site for site in sites for i in range(SITES[site][2])}


ALL_APS = aps_of(*SITES)

#: An AP's state as a test gives it: (state, since).
State = tuple[ApState, float]


def states(
    down: Mapping[str, float] | Iterable[str] = (),
    *,
    up_since: float = T0 - 86_400.0,
    unknown: Iterable[str] = (),
) -> dict[str, State]:
    """Every AP up since ``up_since`` except those ``down`` (ap id -> since, or ids
    down since T0) and ``unknown``."""
    down_at = dict(down) if isinstance(down, Mapping) else dict.fromkeys(down, T0)
    result: dict[str, State] = {ap: (ApState.UP, up_since) for ap in ALL_APS}
    for ap in unknown:
        result[ap] = (ApState.UNKNOWN, up_since)
    for ap, since in down_at.items():
        result[ap] = (ApState.DOWN, since)
    return result


def sites_down(at: Mapping[str, float]) -> dict[str, float]:
    """Every AP of each site down since the time given for its site."""
    return {ap: at[site] for ap, site in aps_of(*at).items()}


def snapshot(
    given: Mapping[str, State],
    *,
    now: float,
    hidden: Iterable[str] = (),
    polled: Mapping[str, float] | None = None,
) -> Snapshot:
    """The city as the engine would read it; ``hidden`` APs are not watched (disabled);
    ``polled``: when APs were last polled (default: not said)."""
    skip = set(hidden)
    last = polled or {}
    aps = {
        ap: ApView(ap, f"AP {ap}", site, given[ap][0], given[ap][1], last.get(ap))
        for ap, site in ALL_APS.items()
        if ap not in skip
    }
    sites = {
        s: SiteView(s, f"Site {s}", d, u)
        for s, (d, u, _) in SITES.items()
        if any(v.site_id == s for v in aps.values())
    }
    uplinks = {u: UplinkView(u, n, o) for u, (n, o) in UPLINKS.items()}
    return Snapshot(
        taken_at=now, aps=aps, sites=sites, district_names=dict(DISTRICTS), uplinks=uplinks
    )


def seed(engine: Engine) -> None:
    """The city's inventory in a new database (no AP status yet)."""
    with transaction(engine) as session:
        session.add(CredentialProfile(id="cred", snmp_version="2c"))
        session.add_all(District(id=d, name=n) for d, n in DISTRICTS.items())
        session.add_all(Uplink(id=u, name=n, operator=o) for u, (n, o) in UPLINKS.items())
        session.flush()
        for site, (district, uplink, _) in SITES.items():
            session.add(
                Site(
                    id=site,
                    name=f"Site {site}",
                    lat=-6.2,
                    lon=107.0,
                    district_id=district,
                    kind="park",
                    coverage_radius_m=80.0,
                    status="active",
                    uplink_id=uplink,
                )
            )
        session.flush()
        for i, (ap, site) in enumerate(sorted(ALL_APS.items())):
            session.add(
                AccessPoint(
                    id=ap,
                    site_id=site,
                    name=f"AP {ap}",
                    host=f"127.3.0.{i + 1}",
                    snmp_port=161,
                    ssh_port=22,
                    profile="generic",
                    credential_id="cred",
                    enabled=True,
                )
            )


def write_states(engine: Engine, given: Mapping[str, State]) -> None:
    """The AP status rows as the collector would leave them."""
    with transaction(engine) as session:
        session.execute(delete(ApStatus))
        session.add_all(
            ApStatus(ap_id=ap, state=state.value, since=since)
            for ap, (state, since) in given.items()
        )


def stored(
    id: int,
    kind: IncidentClass,
    scope: str,
    aps: Mapping[str, str],
    *,
    opened_at: float = T0 + 10,
    resolved_at: float | None = None,
    resolved_by: str | None = None,
) -> IncidentView:
    """A stored incident as the engine reads it (resolved when ``resolved_at`` is set)."""
    state = IncidentState.OPEN if resolved_at is None else IncidentState.RESOLVED
    return IncidentView(
        id=id, kind=kind, scope_kind=SCOPE_OF[kind], scope_id=scope, district_id=None,
        state=state, opened_at=opened_at, updated_at=opened_at, acknowledged_at=None,
        acknowledged_by=None, resolved_at=resolved_at, resolved_by=resolved_by,
        responsible=RESPONSIBLE[kind], explanation="", verdict=None, merged_into=None,
        reopened=0, aps=dict(aps),
    )  # fmt: skip
