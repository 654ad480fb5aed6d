"""Times out and back in: a time the API shows selects its row when sent as ``start``."""

from __future__ import annotations

import random

from api.times import parse_time, utc


def test_a_shown_time_is_never_after_the_stored_one() -> None:
    rng = random.Random(9)
    for base in (0.0, 1_764_512_000.0, 4_000_000_000.0):
        for _ in range(20_000):
            stored = base + rng.random() * 1000
            shown = utc(stored).isoformat()
            assert parse_time(shown) <= stored, (stored, shown)
            assert stored - parse_time(shown) < 1e-6 + 1e-9


def test_whole_and_exact_times_are_shown_as_they_are() -> None:
    assert utc(1_767_225_600.0).isoformat() == "2026-01-01T00:00:00+00:00"
    assert utc(1_767_225_600.5).isoformat() == "2026-01-01T00:00:00.500000+00:00"
    assert utc(None) is None
