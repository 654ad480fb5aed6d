"""The collector's side of the AP leases, on SQLite and a real PostgreSQL: a poll starts
only while the local lease covers its slot; collectors sharing a database poll every AP
once per interval and hand APs over at boundaries; a newly claimed AP starts from its
stored status; a graceful stop gives the leases up.

Collectors run on a virtual clock (the loop's clock is their wall clock: interval k is
[k·I, (k+1)·I) from 0.0), so every slot and deadline is exact and nothing sleeps."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from collector.engine import Collector
from collector.leases import LeaseKeeper, keeper_for
from collector.snmp import FakeScraper, SnmpTarget, Value, VarBinds
from core.settings import Settings
from inventory import import_file
from inventory import leases as lease_rules
from inventory.db import open_inventory, transaction
from inventory.models import ApEvent, ApLease, ApStatus, CollectorMember
from inventory.secretbox import SecretBox
from tests.fixtures.postgres import PostgresServer
from timeseries import Sample

VirtualRun = Callable[[Coroutine[Any, Any, Any]], Any]
PORT = 1161
INTERVAL = 2.0
GRACE = 1.0
APS = 8

_numbers = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def lease_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new inventory at the newest schema, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leases.sqlite'}"
        drop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = f"collector_leases_{next(_numbers)}"
        url = server.create_database(name)
        drop = lambda: server.drop_database(name)  # noqa: E731
    engine = open_inventory(url, create=True)
    yield engine
    engine.dispose()
    drop()


class Sink:
    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def write(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)


class RecordingScraper(FakeScraper):
    """A FakeScraper recording, per host, the loop times at which polls began (one entry
    per poll)."""

    def __init__(
        self, devices: dict[tuple[str, int], dict[str, Value]], delay_s: float = 0.0
    ) -> None:
        super().__init__(devices)
        self.polls: dict[str, list[float]] = {}
        self.delay_s = delay_s  # each poll's first answer comes this late

    def _seen(self, target: SnmpTarget) -> bool:
        """Record the request; True if it begins a poll (one AP's polls are an interval
        apart, one poll's requests less than half of one)."""
        now = asyncio.get_running_loop().time()
        times = self.polls.setdefault(target.host, [])
        if not times or now - times[-1] >= INTERVAL / 2:
            times.append(now)
            return True
        return False

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> VarBinds:
        if self._seen(target) and self.delay_s:
            await asyncio.sleep(self.delay_s)  # the poll's first answer comes late
        return await super().get(target, oids)

    async def bulk(
        self, target: SnmpTarget, non_repeaters: Sequence[str], repeaters: Sequence[str],
        max_repetitions: int,
    ) -> VarBinds:  # fmt: skip
        self._seen(target)
        return await super().bulk(target, non_repeaters, repeaters, max_repetitions)


def hosts() -> list[str]:
    return [f"127.1.9.{n}" for n in range(1, APS + 1)]


def host_of(ap_id: str) -> str:
    return f"127.1.9.{int(ap_id[2:])}"


@pytest.fixture
def city(tmp_path: Path, lease_db: Engine, secret_box: SecretBox) -> list[str]:
    """APS MikroTik APs (v2c, no SSH) in the inventory; their ids."""
    doc: dict[str, list[dict[str, Any]]] = {
        "credentials": [{"id": "c", "snmp": {"version": "2c", "community": "public"}}],
        "sites": [{"id": "s1", "name": "One", "lat": -6.24, "lon": 106.99}],
        "aps": [
            {"id": f"ap{n:03d}", "site": "s1", "name": f"ap-{n}", "host": host, "snmp_port": PORT,
             "profile": "mikrotik", "credentials": "c"}
            for n, host in enumerate(hosts(), start=1)
        ],
    }  # fmt: skip
    path = tmp_path / "inv.yaml"
    path.write_text(yaml.safe_dump(doc))
    import_file(lease_db, path, secret_box)
    return [ap["id"] for ap in doc["aps"]]


def settings(tmp_path: Path, name: str) -> Settings:
    return Settings(
        data_dir=tmp_path / name,
        poll_interval_s=INTERVAL,
        collector_lease_grace_s=GRACE,
        write_flush_s=0.2,
        down_after_failures=1,
        ssh_poll_interval_s=3600,
    )


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def make_collector(
    tmp_path: Path, name: str, db: Engine, scraper: FakeScraper, box: SecretBox
) -> Collector:
    s = settings(tmp_path, name)
    keeper = LeaseKeeper(s, db, clock=loop_time, member_id=name)
    return Collector(s, db, Sink(), scraper, box=box, leases=keeper)


async def run_until(collector: Collector, stop_at: float) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_at(stop_at, stop.set)
    await collector.run(stop=stop)


async def a_then_b(a: Collector, a_stop: float, b: Collector, b_stop: float) -> None:
    """a from the start, b from mid-interval 0 (after a claimed everything)."""

    async def b_later() -> None:
        await asyncio.sleep(0.5)
        await run_until(b, b_stop)

    await asyncio.gather(run_until(a, a_stop), b_later())


def per_interval(times: dict[str, list[float]]) -> Counter[tuple[str, int]]:
    return Counter((host, math.floor(t / INTERVAL)) for host, ts in times.items() for t in ts)


def test_a_poll_starts_only_inside_the_local_lease(
    tmp_path: Path, lease_db: Engine, city: list[str]
) -> None:
    now = [10.5]  # a collector starting mid-interval 5 ([10, 12))
    keeper = LeaseKeeper(settings(tmp_path, "a"), lease_db, clock=lambda: now[0], member_id="a")
    outcome = keeper.cycle(10.5, 12.0, now[0])
    assert outcome.ok and outcome.held == APS and outcome.claimed == frozenset(city)
    ap = city[0]
    assert not keeper.covers(ap, 10.4)  # before the claim: maybe polled by someone else
    assert keeper.covers(ap, 10.5) and keeper.covers(ap, 11.9)
    assert keeper.covers(ap, 12.9)  # next interval, within the grace (renewal a bit late)
    assert not keeper.covers(ap, 13.0)  # lease_until = 12 + grace
    now[0] = 13.0
    # The lease ran out at 13 (renewals failing): whoever holds the AP next polls it at
    # 14.5 at the earliest (its slot in the interval from 14), so slot 12.5 is still ours
    # until 13.5, its next slot less the grace; no later.
    assert keeper.covers(ap, 12.5)
    now[0] = 13.5
    assert not keeper.covers(ap, 12.5)
    assert not keeper.covers("ap-unknown", 12.5)
    assert keeper.held(now[0]) == set() and keeper.held(12.9) == set(city)
    assert keeper.holds(ap, 12.9) and not keeper.holds(ap, 13.0) and not keeper.holds(ap, 10.4)


def test_a_lease_given_back_keeps_the_last_slot_of_its_interval(
    tmp_path: Path, lease_db: Engine, city: list[str]
) -> None:
    now = [10.0]
    a = LeaseKeeper(settings(tmp_path, "a"), lease_db, clock=lambda: now[0], member_id="a")
    b = LeaseKeeper(settings(tmp_path, "b"), lease_db, clock=lambda: now[0], member_id="b")
    assert a.cycle(10.0, 12.0, 10.0).held == APS
    assert b.cycle(10.0, 12.0, 10.1).held == 0  # nothing free yet
    given = a.cycle(12.0, 14.0, 12.0)  # two live now: a gives half back, until 14
    assert given.held == given.released == APS // 2
    ap = max(set(city) - a.held(14.0), key=collector_phase)  # a given-back AP, latest phase
    slot = 12.0 + collector_phase(ap)
    assert slot > 13.0
    now[0] = 14.0
    assert ap in b.cycle(14.0, 16.0, 14.0).claimed
    assert ap not in a.cycle(14.0, 16.0, 14.0).claimed and ap not in a.held(14.0)
    now[0] = 14.2  # a poll of that slot begun or answered after the boundary: still a's
    assert a.covers(ap, slot) and not a.covers(ap, slot + INTERVAL)
    assert not b.covers(ap, slot) and b.covers(ap, slot + INTERVAL)
    now[0] = slot + INTERVAL - GRACE  # until the AP's next slot less the grace
    assert not a.covers(ap, slot)


def test_polls_stop_at_the_local_deadline_when_renewals_fail(
    tmp_path: Path,
    lease_db: Engine,
    city: list[str],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
    mikrotik_device: dict[str, Value],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scraper = RecordingScraper({(h, PORT): mikrotik_device for h in hosts()})
    collector = make_collector(tmp_path, "a", lease_db, scraper, secret_box)
    real_cycle = lease_rules.cycle
    calls = itertools.count()

    def cycle(*args: Any, **kwargs: Any) -> lease_rules.CycleResult:
        if next(calls) >= 3:  # at 0, 2 and 4; from 6 on the database is gone
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real_cycle(*args, **kwargs)

    monkeypatch.setattr(lease_rules, "cycle", cycle)
    virtual_run(run_until(collector, 11.0))
    collector.close()
    polled = per_interval(scraper.polls)
    for ap in city:
        host, phase = host_of(ap), collector_phase(ap)
        for k in (0, 1, 2):  # renewed: polled once
            assert polled[(host, k)] == 1, (ap, k)
        # Interval 3 ([6, 8)): the lease renewed at 4 runs until 7 = 6 + grace.
        assert polled[(host, 3)] == (1 if 6.0 + phase < 7.0 else 0), (ap, phase)
        assert polled[(host, 4)] == polled[(host, 5)] == 0
    exposition = collector.metrics.exposition()
    assert "citywifi_lease_errors_total 3.0" in exposition  # at 6, 8 and 10
    assert "citywifi_leases_claimed_total 8.0" in exposition


def collector_phase(ap_id: str) -> float:
    from collector.scheduler import phase_of

    return phase_of(ap_id, INTERVAL)


def test_two_collectors_poll_every_ap_once_per_interval_and_hand_over_on_stop(
    tmp_path: Path,
    lease_db: Engine,
    city: list[str],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
    mikrotik_device: dict[str, Value],
) -> None:
    devices = {(h, PORT): mikrotik_device for h in hosts()}
    scrapers = {name: RecordingScraper(devices) for name in "ab"}
    down = city[-1]  # a dead AP: its "down since" must survive the handover
    for scraper in scrapers.values():
        scraper.unreachable.add((host_of(down), PORT))
    a = make_collector(tmp_path, "a", lease_db, scrapers["a"], secret_box)
    b = make_collector(tmp_path, "b", lease_db, scrapers["b"], secret_box)

    virtual_run(a_then_b(a, 9.3, b, 15.0))
    a.close()
    b.close()
    by_a, by_b = per_interval(scrapers["a"].polls), per_interval(scrapers["b"].polls)
    for ap in city:
        host = host_of(ap)
        for k in range(7):  # [0, 14): a until it stops at 9.3 (interval 4), b after
            polls = by_a[(host, k)] + by_b[(host, k)]
            if k == 4 and by_b[(host, k)] == 0 and 8.0 + collector_phase(ap) >= 9.3:
                assert polls == 0  # a stopped before its slot; b may take it only at 10
            else:
                assert polls == 1, (ap, k, by_a, by_b)
    # Interval 0: a holds all; from interval 2 on they are shared 4 / 4 (the excess
    # released at 2, claimed at 4); after a's stop at 9.3 b holds all from 10 on.
    assert sum(by_a[(host_of(ap), 0)] for ap in city) == APS
    assert sum(by_b[(host_of(ap), 3)] for ap in city) == APS // 2
    assert sum(by_b[(host_of(ap), 5)] for ap in city) == APS
    with transaction(lease_db) as session:
        assert set(session.scalars(select(CollectorMember.id))) == set()  # both left
        rows = {r.ap_id: (r.owner, r.lease_until) for r in session.scalars(select(ApLease))}
        status = session.get(ApStatus, down)
        events = list(session.scalars(select(ApEvent).where(ApEvent.ap_id == down)))
    assert rows == {ap: (None, 15.0) for ap in city}  # b released everything at its stop
    # One transition (unknown -> down) whoever polled it: the claimer loaded the status.
    assert status is not None and status.state == "down" and len(events) == 1
    assert status.since == events[0].at
    made = len(scrapers["a"].polls[host_of(down)]) + len(scrapers["b"].polls[host_of(down)])
    assert status.polls_attempted == status.consecutive_failures == made


def test_keeper_for_uses_leases_only_for_the_whole_city(tmp_path: Path, lease_db: Engine) -> None:
    assert isinstance(keeper_for(Settings(data_dir=tmp_path), lease_db), LeaseKeeper)
    assert keeper_for(Settings(data_dir=tmp_path, shard="1/3"), lease_db) is None


def test_a_slow_answer_across_a_handover_is_written_once_not_lost(
    tmp_path: Path,
    lease_db: Engine,
    city: list[str],
    virtual_run: VirtualRun,
    secret_box: SecretBox,
    mikrotik_device: dict[str, Value],
) -> None:
    """a holds everything, b joins: at 2 a gives half back (until 4), b claims it at 4.
    a's answers come ``delay`` late, so its polls of the last slots before 4 are answered
    after 4: still a's (b polls those APs only from their slots after 4), written once."""
    devices = {(h, PORT): mikrotik_device for h in hosts()}
    delay = 0.8
    scrapers = {"a": RecordingScraper(devices, delay_s=delay), "b": RecordingScraper(devices)}
    a = make_collector(tmp_path, "a", lease_db, scrapers["a"], secret_box)
    b = make_collector(tmp_path, "b", lease_db, scrapers["b"], secret_box)

    virtual_run(a_then_b(a, 8.0, b, 8.0))
    a.close()
    b.close()
    by_a, by_b = per_interval(scrapers["a"].polls), per_interval(scrapers["b"].polls)
    moved = [ap for ap in city if by_b[(host_of(ap), 2)]]
    assert len(moved) == APS // 2
    # Each moved AP's last poll by a (interval 1) and its first by b (interval 2).
    late = [ap for ap in moved if 2.0 + collector_phase(ap) + delay > 4.0]
    assert late, "no answer crossed the boundary: the test shows nothing"
    for ap in city:
        for k in range(4):
            assert by_a[(host_of(ap), k)] + by_b[(host_of(ap), k)] == 1, (ap, k, by_a, by_b)
    assert "citywifi_polls_past_lease_total 0.0" in a.metrics.exposition()
    with transaction(lease_db) as session:
        attempted = {s.ap_id: s.polls_attempted for s in session.scalars(select(ApStatus))}
    for ap in city:  # every poll made was written: none dropped at the handover
        host = host_of(ap)
        made = len(scrapers["a"].polls[host]) + len(scrapers["b"].polls.get(host, []))
        assert attempted[ap] == made, ap
