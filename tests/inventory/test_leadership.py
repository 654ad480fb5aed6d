"""Leader leases on SQLite and a real PostgreSQL: one holder at a time, takeover after
expiry with a new term, fencing of a stale holder, release, and contenders racing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from inventory import leadership
from inventory.db import transaction

ROLE = "fault-engine"
LEASE = 3.0
T0 = 1_767_225_600.0


def hold(engine: Engine, owner: str, now: float, lease_s: float = LEASE) -> int | None:
    with transaction(engine) as session:
        return leadership.hold(session, ROLE, owner, now, lease_s)


def check(engine: Engine, owner: str, term: int) -> bool:
    with transaction(engine) as session:
        return leadership.check(session, ROLE, owner, term)


def release(engine: Engine, owner: str) -> bool:
    with transaction(engine) as session:
        return leadership.release(session, ROLE, owner)


def holder(engine: Engine) -> leadership.Holder | None:
    with transaction(engine) as session:
        return leadership.holder(session, ROLE)


def test_the_first_contender_holds_and_the_second_does_not(any_engine: Engine) -> None:
    assert holder(any_engine) is None
    assert hold(any_engine, "a", T0) == 1
    assert hold(any_engine, "b", T0 + 0.1) is None
    assert holder(any_engine) == leadership.Holder("a", T0 + LEASE, 1)
    assert check(any_engine, "a", 1) and not check(any_engine, "b", 1)


def test_a_renewal_keeps_the_term_and_moves_the_lease(any_engine: Engine) -> None:
    for step in range(5):
        assert hold(any_engine, "a", T0 + step) == 1
        assert hold(any_engine, "b", T0 + step + 0.5) is None
    assert holder(any_engine) == leadership.Holder("a", T0 + 4 + LEASE, 1)
    # Our own lease ran out and nobody took it: still ours, same term.
    assert hold(any_engine, "a", T0 + 100) == 1


def test_an_expired_lease_is_taken_over_with_a_new_term_and_the_old_holder_is_fenced(
    any_engine: Engine,
) -> None:
    assert hold(any_engine, "a", T0) == 1
    assert hold(any_engine, "b", T0 + LEASE - 0.001) is None  # not yet expired
    assert hold(any_engine, "b", T0 + LEASE) == 2  # lease_until <= now: expired
    assert not check(any_engine, "a", 1)  # the stale holder's writes are refused
    assert check(any_engine, "b", 2)
    assert hold(any_engine, "a", T0 + LEASE + 1) is None  # it wakes up: b holds
    assert hold(any_engine, "a", T0 + 2 * LEASE + 1) == 3  # b stopped renewing
    assert not check(any_engine, "b", 2) and check(any_engine, "a", 3)
    assert not check(any_engine, "a", 1)  # an old term of the same owner is stale too


def test_release_frees_the_lease_at_once(any_engine: Engine) -> None:
    assert hold(any_engine, "a", T0) == 1
    assert not release(any_engine, "b")  # not b's to give
    assert holder(any_engine) == leadership.Holder("a", T0 + LEASE, 1)
    assert release(any_engine, "a")
    assert holder(any_engine) == leadership.Holder(None, 0.0, 1)
    assert not check(any_engine, "a", 1)
    assert hold(any_engine, "b", T0 + 0.1) == 2  # long before a's lease would end
    assert not release(any_engine, "a")
    assert release(any_engine, "b")
    assert hold(any_engine, "b", T0 + 0.2) == 3  # a release ends a term, also our own


def test_a_passed_check_holds_off_a_takeover_until_its_transaction_ends(
    any_engine: Engine,
) -> None:
    """The fencing check locks the lease: a contender whose clock says it expired waits
    for the writing transaction, and takes over only after it committed."""
    assert hold(any_engine, "a", T0) == 1
    taken: list[int | None] = []
    with transaction(any_engine) as session:
        assert leadership.check(session, ROLE, "a", 1)
        contender = threading.Thread(target=lambda: taken.append(hold(any_engine, "b", T0 + 9)))
        contender.start()
        contender.join(0.5)
        assert contender.is_alive() and not taken  # waiting on the lock
    contender.join(10)
    assert taken == [2]


@pytest.mark.parametrize("expired_holder", [False, True], ids=["no-row", "expired"])
def test_contenders_racing_from_threads_give_one_holder(
    new_db_url: Callable[[], str], expired_holder: bool
) -> None:
    """Eight threads, each in its own transaction, ask for the same lease at the same
    moment, twenty times over: exactly one gets it each round, with the next term."""
    from inventory.db import open_inventory

    engine = open_inventory(new_db_url(), create=True)
    contenders = 8
    try:
        term = 0
        if expired_holder:
            term = hold(engine, "old", T0) or 0
        start = threading.Barrier(contenders)

        def contend(owner: str, now: float) -> int | None:
            start.wait(10)
            return hold(engine, owner, now)

        with ThreadPoolExecutor(contenders) as pool:
            for round_ in range(1, 21):
                now = T0 + round_ * 10 * LEASE  # the previous round's lease has expired
                owners = [f"r{round_}-c{i}" for i in range(contenders)]  # all new contenders
                got = list(pool.map(contend, owners, [now] * contenders))
                winners = [t for t in got if t is not None]
                assert winners == [term + 1], got
                term += 1
                found = holder(engine)
                assert found is not None and found.term == term and found.owner is not None
                assert check(engine, found.owner, term)
    finally:
        engine.dispose()
