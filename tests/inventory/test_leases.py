"""AP leases on SQLite and a real PostgreSQL (the rules of inventory/leases.py): claim,
renew, fair share, release of only the excess at the next boundary, expiry and takeover
within two intervals, no AP held by two, the reaper, new, disabled and deleted APs, and a
graceful release. Times are given (epoch seconds on aligned intervals): no sleeps."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, delete, insert, select, update

from inventory import leases
from inventory.db import transaction
from inventory.models import AccessPoint, ApLease, CollectorMember, CredentialProfile, Site

I = 8.0  # poll interval  # noqa: E741
GRACE = 4.0
T0 = 1_767_225_600.0  # a boundary: T0 % I == 0


def b(k: int) -> float:
    """The k-th boundary after T0."""
    return T0 + k * I


def rank(ap_id: str) -> int:
    """A stand-in for the stable hash: the AP's number (the highest is released first)."""
    return int(ap_id[2:])


def member(name: str) -> leases.Member:
    return leases.Member(id=name, host="test", pid=1, started_at=T0)


def add_aps(engine: Engine, numbers: Iterable[int], *, site: str = "s1") -> None:
    with transaction(engine) as session:
        if session.get(CredentialProfile, "c") is None:
            session.add(CredentialProfile(id="c", snmp_version="2c"))
        if session.get(Site, site) is None:
            session.add(
                Site(id=site, name=site, lat=0.0, lon=0.0, kind="park", coverage_radius_m=50.0,
                     status="active")
            )  # fmt: skip
        session.flush()
        session.execute(
            insert(AccessPoint),
            [
                {"id": f"ap{n:03d}", "site_id": site, "name": f"ap-{n}", "host": "127.0.0.1",
                 "snmp_port": 161, "ssh_port": 22, "profile": "auto", "credential_id": "c",
                 "enabled": True}
                for n in numbers
            ],
        )  # fmt: skip


def run(engine: Engine, name: str, now: float, *, start: float | None = None) -> leases.CycleResult:
    """``name``'s lease cycle at ``now``, for the interval holding ``start`` (default:
    ``now``, a cycle at its boundary or a start mid-interval)."""
    first = now if start is None else start
    _, next_boundary = leases.boundaries(first, I)
    with transaction(engine) as session:
        return leases.cycle(
            session,
            member(name),
            now=now,
            start=first,
            next_boundary=next_boundary,
            interval_s=I,
            grace_s=GRACE,
            rank=rank,
        )


def held(result: leases.CycleResult) -> set[str]:
    return set(result.kept) | set(result.claimed)


def table(engine: Engine) -> dict[str, tuple[str | None, float]]:
    with transaction(engine) as session:
        return {r.ap_id: (r.owner, r.lease_until) for r in session.scalars(select(ApLease))}


def counts(engine: Engine, now: float) -> dict[str, int]:
    with transaction(engine) as session:
        return leases.held_counts(session, now)


def ids(*numbers: int) -> set[str]:
    return {f"ap{n:03d}" for n in numbers}


ALL = ids(*range(1, 11))


def test_boundaries_are_aligned_to_the_epoch() -> None:
    assert leases.boundaries(T0, I) == (T0, T0 + I)
    assert leases.boundaries(T0 + 7.9, I) == (T0, T0 + I)
    assert leases.boundaries(T0 + 8.0, I) == (T0 + I, T0 + 2 * I)


def test_a_lone_collector_claims_every_ap_then_renews_them(any_engine: Engine) -> None:
    add_aps(any_engine, range(1, 11))
    start = T0 + 3.0  # started mid-interval
    first = run(any_engine, "a", start)
    assert (first.inserted, first.live, first.enabled, first.share) == (10, 1, 10, 10)
    assert set(first.claimed) == ALL and not first.kept and not first.released
    # Free rows (lease_until 0): polled from the start of this collector, not before.
    assert set(first.claimed.values()) == {start}
    assert table(any_engine) == {ap: ("a", b(1) + GRACE) for ap in ALL}

    second = run(any_engine, "a", b(1))
    assert set(second.kept) == ALL and not second.claimed and second.inserted == 0
    assert second.renewed_until == b(2) + GRACE
    assert table(any_engine) == {ap: ("a", b(2) + GRACE) for ap in ALL}
    assert counts(any_engine, b(1)) == {"a": 10}


def test_a_newcomer_gets_a_fair_share_by_release_of_only_the_excess(any_engine: Engine) -> None:
    add_aps(any_engine, range(1, 11))
    run(any_engine, "a", T0)
    # b joins mid-interval: two live, share 5, but nothing is free: it claims nothing.
    joined = run(any_engine, "b", T0 + 2.0)
    assert (joined.live, joined.share, joined.claimed) == (2, 5, {})

    # At the next boundary a keeps its share and releases the excess, the highest ranked,
    # until the NEXT boundary (no grace): it still polls them in this interval.
    a1 = run(any_engine, "a", b(1))
    assert set(a1.kept) == ids(1, 2, 3, 4, 5) and set(a1.released) == ids(6, 7, 8, 9, 10)
    rows = table(any_engine)
    assert all(rows[ap] == ("a", b(2) + GRACE) for ap in a1.kept)
    assert all(rows[ap] == ("a", b(2)) for ap in a1.released)
    # b's cycle in the same interval finds nothing free yet: nobody polls them twice.
    assert run(any_engine, "b", b(1) + 0.01, start=b(1)).claimed == {}

    # At the boundary after, b claims them, from that boundary's first slot on.
    b2 = run(any_engine, "b", b(2) + 0.01, start=b(2))
    assert b2.claimed == {ap: b(2) for ap in ids(6, 7, 8, 9, 10)}
    a2 = run(any_engine, "a", b(2) + 0.02, start=b(2))
    assert set(a2.kept) == ids(1, 2, 3, 4, 5) and not a2.claimed and not a2.released
    assert counts(any_engine, b(2) + 0.1) == {"a": 5, "b": 5}


def test_the_share_is_ceil_and_every_ap_is_held_once_balanced(any_engine: Engine) -> None:
    add_aps(any_engine, range(1, 11))
    for name in "abc":
        run(any_engine, name, T0 + 1.0)
    for k in (1, 2, 3):
        results = [run(any_engine, name, b(k)) for name in "abc"]
        assert {r.share for r in results} == {4}  # ceil(10 / 3)
    final = [held(r) for r in results]
    assert sorted(len(h) for h in final) == [2, 4, 4]
    assert set().union(*final) == ALL and sum(len(h) for h in final) == 10


def test_a_dead_collectors_aps_are_taken_over_within_two_intervals(any_engine: Engine) -> None:
    add_aps(any_engine, range(1, 11))
    run(any_engine, "a", T0)
    run(any_engine, "b", T0 + 1.0)
    for k in (1, 2):
        run(any_engine, "a", b(k))
        run(any_engine, "b", b(k))
    assert counts(any_engine, b(2)) == {"a": 5, "b": 5}
    # a dies right after its cycle at b(2): its leases last until b(3) + grace.
    at3 = run(any_engine, "b", b(3))
    assert (at3.live, at3.share, at3.claimed) == (2, 5, {})  # a still counts, still holds
    at4 = run(any_engine, "b", b(4))
    assert (at4.live, at4.share) == (1, 10)  # a's heartbeat is older than I + grace
    assert at4.claimed == {ap: b(4) for ap in ids(1, 2, 3, 4, 5)}
    assert counts(any_engine, b(4)) == {"b": 10}


def test_a_late_claim_starts_after_the_old_lease_ran_out(any_engine: Engine) -> None:
    """A cycle that runs late (past the old holder's deadline) may poll only the slots
    after that deadline: the old holder may have polled the ones before it."""
    add_aps(any_engine, [1])
    run(any_engine, "a", T0)
    run(any_engine, "b", T0 + 1.0)
    # a's lease ends at b(1) + grace; b's cycle for interval 1 runs 1 s after that.
    late = run(any_engine, "b", b(1) + GRACE + 1.0, start=b(1))
    assert late.claimed == {"ap001": b(1) + GRACE}


def test_no_ap_is_held_by_two_when_collectors_race(any_engine: Engine) -> None:
    """Five collectors run each boundary's cycle at the same moment, in threads (FOR UPDATE
    SKIP LOCKED on PostgreSQL, serialised writers on SQLite): never one AP in two hands,
    and from the third boundary on every AP is held and the shares are fair."""
    add_aps(any_engine, range(1, 101))
    names = [f"c{n}" for n in range(5)]
    for k in range(1, 6):
        barrier = threading.Barrier(len(names))

        def one(name: str, k: int = k, barrier: threading.Barrier = barrier) -> set[str]:
            barrier.wait(timeout=30)
            result = run(any_engine, name, b(k) + 0.001, start=b(k))
            return held(result) | set(result.released)

        with ThreadPoolExecutor(len(names)) as pool:
            hands = list(pool.map(one, names))
        everyone = [ap for hand in hands for ap in hand]
        assert len(everyone) == len(set(everyone)), f"boundary {k}: an AP in two hands"
        if k >= 3:
            assert set(everyone) == ids(*range(1, 101))
            assert max(counts(any_engine, b(k) + 0.01).values()) <= 20  # ceil(100 / 5)


def test_the_reaper_deletes_collectors_silent_for_ten_intervals(any_engine: Engine) -> None:
    add_aps(any_engine, [1])
    run(any_engine, "old", T0)
    run(any_engine, "recent", b(2))
    result = run(any_engine, "a", b(10) + 1.0, start=b(10))
    assert result.reaped == 1
    with transaction(any_engine) as session:
        left = set(session.scalars(select(CollectorMember.id)))
    assert left == {"recent", "a"}


def test_new_disabled_retired_and_deleted_aps(any_engine: Engine) -> None:
    add_aps(any_engine, range(1, 5))
    run(any_engine, "a", T0)
    run(any_engine, "b", T0 + 1.0)
    # A new AP gets its row at the next cycle and is claimed like any free lease.
    add_aps(any_engine, [5])
    b1 = run(any_engine, "b", b(1))
    assert b1.inserted == 1 and "ap005" in b1.claimed
    run(any_engine, "a", b(1))
    # A disabled AP is not renewed (its holder stops at its deadline) and nobody claims
    # it; the share counts only the enabled ones.
    owner = table(any_engine)["ap001"][0]
    assert owner is not None
    with transaction(any_engine) as session:
        session.execute(update(AccessPoint).where(AccessPoint.id == "ap001").values(enabled=False))
    for k in (2, 3, 4):
        round_k = [run(any_engine, name, b(k)) for name in "ab"]
        assert all(r.enabled == 4 for r in round_k)
        assert all("ap001" not in held(r) for r in round_k)
    assert table(any_engine)["ap001"] == (owner, b(2) + GRACE)  # ran out, row kept
    # Enabled again: claimed again.
    with transaction(any_engine) as session:
        session.execute(update(AccessPoint).where(AccessPoint.id == "ap001").values(enabled=True))
    claims = [run(any_engine, name, b(5)).claimed for name in "ab"]
    assert any("ap001" in c for c in claims)
    # The APs of a retired site are not claimed.
    add_aps(any_engine, [6], site="s2")
    with transaction(any_engine) as session:
        session.execute(update(Site).where(Site.id == "s2").values(status="retired"))
    retired = [run(any_engine, name, b(6)) for name in "ab"]
    assert all("ap006" not in held(r) for r in retired)
    # A deleted AP's lease goes with it.
    with transaction(any_engine) as session:
        session.execute(delete(AccessPoint).where(AccessPoint.id == "ap002"))
    assert "ap002" not in table(any_engine)
    results = [run(any_engine, name, b(7)) for name in "ab"]
    assert set().union(*(held(r) for r in results)) == ids(1, 3, 4, 5)


def test_a_graceful_release_frees_everything_from_that_moment(any_engine: Engine) -> None:
    add_aps(any_engine, range(1, 5))
    run(any_engine, "a", T0)
    run(any_engine, "b", T0 + 1.0)
    stop = b(1) + 0.002  # a stops just after the boundary, after polling slots before it
    with transaction(any_engine) as session:
        assert leases.release_all(session, "a", stop) == 4
    assert table(any_engine) == {ap: (None, stop) for ap in ids(1, 2, 3, 4)}
    with transaction(any_engine) as session:
        assert set(session.scalars(select(CollectorMember.id))) == {"b"}
    # b's cycle for that interval runs a moment later: the slots before the release
    # stay a's, the rest are b's.
    later = run(any_engine, "b", b(1) + 0.01, start=b(1))
    assert later.claimed == {ap: stop for ap in ids(1, 2, 3, 4)}
    assert later.live == 1 and later.share == 4
