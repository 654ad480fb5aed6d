"""Monthly keys for hashing personal data (a client's MAC, a hotspot user name).

HMAC-SHA256 with a random key per month of the city's calendar: enough to count unique
users per site, partner and month, never enough to follow one person from one month to
the next, and once a month's key is deleted (``accounting_key_months``) nothing ties that
month's hashes to anyone. Keys are sealed at rest like device secrets (SecretBox).

A key is random, not derived from anything kept (the SecretBox key, say): a derived key
could be derived again after its row was deleted, and deleting it would then prove nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.errors import DatabaseError
from inventory.models import UserHashKey
from inventory.secretbox import SecretBox

KEY_BYTES = 32
HASH_CHARS = 32  # 128 bits: no collision among a city's users in a month
_CACHED_MONTHS = 4  # the current month and a late packet's previous one, with room to spare
_MAC_SEPARATORS = re.compile(r"[\s:.\-]")
_MAC = re.compile(r"[0-9a-f]{12}")


def month_of(ts: float, tz: ZoneInfo) -> str:
    """The month ("2026-11") that epoch second ``ts`` falls in, in the city's time zone."""
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m")


def normalise_mac(value: str) -> str | None:
    """A MAC in any usual spelling ("AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff") as 12 lower
    hex digits; None when it is not a MAC (then hashed as given, stripped)."""
    digits = _MAC_SEPARATORS.sub("", value).lower()
    return digits if _MAC.fullmatch(digits) else None


def hash_value(key: bytes, value: str) -> str:
    """HMAC-SHA256(key, value), hex, the first 32 characters (128 bits)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:HASH_CHARS]


class MonthKeys:
    """Opened month keys, cached (the receiver hashes thousands of records a second).

    Only a key read back as already stored is cached: one this call inserted is still
    uncommitted in the caller's transaction, and if that rolls back, a cached copy would
    hash the next batches with a key nobody stored (and the next process would make
    another one for the same month). So the first batch of a month reads the key twice,
    every later one not at all. The cache holds a few months only: a pruned month's key
    should not outlive its row for long, even in memory.
    """

    __slots__ = ("_box", "_cache")

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._cache: OrderedDict[str, bytes] = OrderedDict()

    def __repr__(self) -> str:
        return f"MonthKeys(cached={list(self._cache)})"

    def key(self, session: Session, month: str, *, now: float) -> bytes:
        """The month's key, made (race-safe on both engines) on first need."""
        cached = self._cache.get(month)
        if cached is not None:
            self._cache.move_to_end(month)
            return cached
        stored = self._stored(session, month)
        if stored is not None:
            self._remember(month, stored)
            return stored
        # Insert-or-ignore, then read whichever key won: of two processes making the same
        # month's key at once, both end up with the first one's.
        fresh = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
        values = {"month": month, "key": self._box.seal(fresh), "created_at": now}
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(pg_insert(UserHashKey).values(values).on_conflict_do_nothing())
        elif dialect == "sqlite":
            session.execute(sqlite_insert(UserHashKey).values(values).on_conflict_do_nothing())
        else:  # pragma: no cover - the inventory runs on these two only
            raise DatabaseError(f"user hash keys: unsupported database {dialect}")
        made = self._stored(session, month)
        if made is None:  # pragma: no cover - inserted or already there
            raise DatabaseError(f"the user hash key of {month} could not be stored")
        return made

    def _stored(self, session: Session, month: str) -> bytes | None:
        sealed = session.scalar(select(UserHashKey.key).where(UserHashKey.month == month))
        if sealed is None:
            return None
        clear = self._box.open(sealed)
        assert clear is not None  # sealed is a str
        return base64.b64decode(clear)

    def _remember(self, month: str, key: bytes) -> None:
        self._cache[month] = key
        while len(self._cache) > _CACHED_MONTHS:
            self._cache.popitem(last=False)


def months_before(month: str, count: int) -> str:
    """The month ``count`` months before ``month`` ("2026-02", 3 -> "2025-11")."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + (number - 1) - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def prune(session: Session, *, now: float, tz: ZoneInfo, keep_months: int) -> int:
    """Delete the keys of months more than ``keep_months`` before ``now``'s month."""
    oldest_kept = months_before(month_of(now, tz), keep_months)
    result = session.execute(delete(UserHashKey).where(UserHashKey.month < oldest_kept))
    return int(result.rowcount)  # type: ignore[attr-defined]


__all__ = ["MonthKeys", "hash_value", "month_of", "months_before", "normalise_mac", "prune"]
