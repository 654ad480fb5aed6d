"""The transports' tests run against real receivers on loopback
(:mod:`tests.fixtures.receivers`), and a message as the notifier hands it over."""

from __future__ import annotations

import json

import pytest

from faults.delivery import Message

__all__ = ["message"]

PAYLOAD = {
    "id": "noc-hook:noc:3",
    "route": "noc-hook",
    "group": "noc",
    "kind": "firing",
    "created_at": "2026-01-01T00:00:00Z",
    "incidents": [
        {
            "id": 12,
            "class": "area_outage",
            "scope_kind": "district",
            "scope_id": "d-north",
            "state": "open",
            "opened_at": "2025-12-31T23:58:00Z",
            "resolved_at": None,
            "acknowledged_by": None,
            "responsible": "utility",
            "explanation": "14 sites in North stopped answering within 90 s: likely power cut",
            "verdict": None,
            "merged_into": None,
            "sites": ["s-park", "s-market"],
            "aps": 30,
        },
        {
            "id": 9,
            "class": "ap_down",
            "scope_kind": "ap",
            "scope_id": "ap-park-1",
            "state": "resolved",
            "opened_at": "2025-12-31T23:50:00Z",
            "resolved_at": "2025-12-31T23:58:30Z",
            "acknowledged_by": None,
            "responsible": "noc",
            "explanation": "AP ap-park-1 stopped answering",
            "verdict": None,
            "merged_into": 12,
            "sites": ["s-park"],
            "aps": 1,
        },
    ],
    "open": 1,
    "resolved": 1,
}


@pytest.fixture
def message() -> Message:
    """A firing message with an area outage and an AP merged into it."""
    return Message(
        row_id=7,
        message_id=str(PAYLOAD["id"]),
        route="noc-hook",
        kind="firing",
        subject="[citywifi] utility: 1 open — area_outage in North (2 sites)",
        body=json.dumps(PAYLOAD, separators=(",", ":")),
    )
