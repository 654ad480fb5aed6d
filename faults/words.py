"""How the fault engine names things in explanations and evidence: one place, so an
incident of any class says "AP X (ap01) at Site Y (s01)" and "14:03:12Z" the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from faults.snapshot import Snapshot


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def clock(epoch: float) -> str:
    """A time of day in UTC, to the second ("14:03:12Z")."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%SZ")


def ap_label(snapshot: Snapshot, ap_id: str) -> str:
    """The AP's name with its id, or the id alone when it has no other name."""
    name = snapshot.aps[ap_id].name
    return f"{name} ({ap_id})" if name and name != ap_id else ap_id


def site_label(snapshot: Snapshot, site_id: str) -> str:
    name = snapshot.sites[site_id].name
    return f"{name} ({site_id})" if name and name != site_id else site_id


def district_label(snapshot: Snapshot, district_id: str) -> str:
    return snapshot.district_names.get(district_id) or district_id
