"""Monthly user-hash keys: months in the city's time zone, MAC spellings, keys made once
and sealed, race-safe, never cached uncommitted, pruned by age; SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inventory.db import transaction
from inventory.models import UserHashKey
from inventory.secretbox import SecretBox
from inventory.userkeys import (
    MonthKeys,
    hash_value,
    month_of,
    months_before,
    normalise_mac,
    prune,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = 1_796_000_000.0


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=JAKARTA).timestamp()


def test_month_turns_at_local_midnight() -> None:
    assert month_of(local("2026-11-30T23:59:59"), JAKARTA) == "2026-11"
    assert month_of(local("2026-12-01T00:00:00"), JAKARTA) == "2026-12"
    # 17:00 UTC on the 30th is already the 1st in Jakarta (UTC+7).
    utc_evening = datetime.fromisoformat("2026-11-30T17:00:00+00:00").timestamp()
    assert month_of(utc_evening, JAKARTA) == "2026-12"
    assert month_of(utc_evening, ZoneInfo("UTC")) == "2026-11"


@pytest.mark.parametrize(
    ("month", "count", "expected"),
    [("2026-02", 3, "2025-11"), ("2026-12", 0, "2026-12"), ("2026-01", 1, "2025-12"),
     ("2026-12", 24, "2024-12")],
)  # fmt: skip
def test_months_before(month: str, count: int, expected: str) -> None:
    assert months_before(month, count) == expected


@pytest.mark.parametrize(
    "spelling",
    ["AA:BB:CC:0D:EE:FF", "aa-bb-cc-0d-ee-ff", "aabb.cc0d.eeff", " AABBCC0DEEFF ", "aabbcc0deeff"],
)
def test_mac_spellings_are_one(spelling: str) -> None:
    assert normalise_mac(spelling) == "aabbcc0deeff"


@pytest.mark.parametrize("value", ["alice", "aa:bb:cc:dd:ee", "gg:bb:cc:dd:ee:ff", ""])
def test_not_a_mac(value: str) -> None:
    assert normalise_mac(value) is None


def test_hash_is_keyed_hmac_truncated() -> None:
    one, two = b"k" * 32, b"j" * 32
    digest = hash_value(one, "aabbcc0deeff")
    assert len(digest) == 32 and int(digest, 16) >= 0
    assert digest == hash_value(one, "aabbcc0deeff")
    assert digest != hash_value(two, "aabbcc0deeff")
    assert digest != hash_value(one, "aabbcc0deefe")
    # RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?")
    assert hash_value(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c7"
    )


def test_key_is_made_once_sealed_and_kept(any_engine: Engine, secret_box: SecretBox) -> None:
    keys = MonthKeys(secret_box)
    with transaction(any_engine) as session:
        first = keys.key(session, "2026-11", now=NOW)
        assert keys.key(session, "2026-11", now=NOW + 1) == first
    assert len(first) == 32
    with Session(any_engine) as session:
        (row,) = session.scalars(select(UserHashKey)).all()
    assert (row.month, row.created_at) == ("2026-11", NOW)
    assert SecretBox.is_sealed(row.key) and first.hex() not in row.key
    # Another process (another cache) gets the same key; another month another key.
    other = MonthKeys(secret_box)
    with transaction(any_engine) as session:
        assert other.key(session, "2026-11", now=NOW) == first
        assert other.key(session, "2026-12", now=NOW) != first


def test_a_rolled_back_key_is_not_kept_in_memory(any_engine: Engine, secret_box: SecretBox) -> None:
    keys = MonthKeys(secret_box)
    with Session(any_engine) as session, session.begin():
        lost = keys.key(session, "2026-11", now=NOW)
        session.rollback()
    with transaction(any_engine) as session:
        kept = keys.key(session, "2026-11", now=NOW)
    assert kept != lost
    with transaction(any_engine) as session:
        assert MonthKeys(secret_box).key(session, "2026-11", now=NOW) == kept
        assert keys.key(session, "2026-11", now=NOW) == kept


def test_two_writers_at_once_share_one_key(any_engine: Engine, secret_box: SecretBox) -> None:
    """Both make the month's key in their own transaction at the same moment: the second
    insert is ignored and both read the first one's key."""
    found: list[bytes] = []
    barrier = threading.Barrier(2)

    def make() -> None:
        barrier.wait()
        with transaction(any_engine) as session:
            found.append(MonthKeys(secret_box).key(session, "2026-11", now=NOW))

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(found) == 2 and found[0] == found[1]


def test_prune_deletes_months_older_than_kept(any_engine: Engine, secret_box: SecretBox) -> None:
    keys = MonthKeys(secret_box)
    months = ["2025-12", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    with transaction(any_engine) as session:
        for month in months:
            keys.key(session, month, now=NOW)
    # On the 1st of November local time (still October 31st in UTC), keep 3 months.
    with transaction(any_engine) as session:
        assert prune(session, now=local("2026-11-01T00:30:00"), tz=JAKARTA, keep_months=3) == 2
    with Session(any_engine) as session:
        left = session.scalars(select(UserHashKey.month).order_by(UserHashKey.month)).all()
    assert left == ["2026-08", "2026-09", "2026-10", "2026-11"]
    with transaction(any_engine) as session:
        assert prune(session, now=local("2026-11-01T00:30:00"), tz=JAKARTA, keep_months=3) == 0
