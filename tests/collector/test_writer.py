"""The batch writer: flushes by size and by time, records statuses and transitions
together (one transaction), and keeps them for the next flush when the database fails.

Timing runs on a virtual clock (the ``virtual_run`` fixture): exact, no real sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from collector.writer import BatchWriter, inventory_recorder
from core.errors import StoreError
from core.states import ApState, PollCause, Transition
from inventory import import_file
from inventory.db import open_inventory, transaction
from inventory.models import ApEvent, ApStatus
from inventory.queries import ApStatusUpdate
from inventory.secretbox import SecretBox
from timeseries import Sample

VirtualRun = Callable[[Coroutine[Any, Any, Any]], Any]


def sample(n: int) -> Sample:
    return Sample("ap", {"ap": f"ap{n}"}, {"reachable": 1.0}, float(n))


def update(n: int, answered: int = 1) -> ApStatusUpdate:
    return ApStatusUpdate(
        f"ap{n}", ApState.UP, 0.0, 0.0, 0.0, 0, None, None, attempted=1, answered=answered
    )


def went_up(n: int, at: float = 0.0) -> Transition:
    return Transition(f"ap{n}", ApState.UNKNOWN, ApState.UP, at, PollCause.ANSWERED)


class Sink:
    """Records what reached the store and the database, and when (loop time)."""

    def __init__(self, loop_time: Callable[[], float] = lambda: 0.0) -> None:
        self.batches: list[list[Sample]] = []
        self.times: list[float] = []
        self.recorded: list[tuple[list[ApStatusUpdate], list[Transition]]] = []
        self.store_down = False
        self.db_down = False
        self._loop_time = loop_time

    def write(self, samples: Sequence[Sample]) -> None:
        if self.store_down:
            raise StoreError("store down")
        self.batches.append(list(samples))
        self.times.append(self._loop_time())

    def record(self, updates: Sequence[ApStatusUpdate], transitions: Sequence[Transition]) -> None:
        if self.db_down:
            raise OSError("database is locked")
        self.recorded.append((list(updates), list(transitions)))


def test_writer_flushes_when_the_batch_is_full(virtual_run: VirtualRun) -> None:
    async def main() -> Sink:
        sink = Sink(asyncio.get_running_loop().time)
        writer = BatchWriter(sink, sink.record, max_samples=3, flush_s=30.0)
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        await asyncio.sleep(1.0)
        for n in range(3):
            writer.add(sample(n), update(n))
        await asyncio.sleep(1.0)
        stop.set()
        await task
        return sink

    sink = virtual_run(main())
    assert sink.times == [1.0]  # at once, not after 30 s
    assert [len(b) for b in sink.batches] == [3]
    assert [len(u) for u, _t in sink.recorded] == [3]  # statuses in the same flush


def test_writer_flushes_on_time_and_on_stop(virtual_run: VirtualRun) -> None:
    async def main() -> Sink:
        sink = Sink(asyncio.get_running_loop().time)
        writer = BatchWriter(sink, sink.record, max_samples=1000, flush_s=0.25)
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        writer.add(sample(1), update(1))
        await asyncio.sleep(0.6)
        writer.add(sample(2))
        stop.set()
        await task
        return sink

    sink = virtual_run(main())
    assert [len(b) for b in sink.batches] == [1, 1]
    assert sink.times == [0.25, 0.6]


def test_writer_counts_store_errors_and_still_records_states(virtual_run: VirtualRun) -> None:
    sink = Sink()
    sink.store_down = True
    errors: list[int] = []
    writer = BatchWriter(sink, sink.record, on_store_error=lambda: errors.append(1))
    writer.add(sample(1), update(1), went_up(1))
    assert virtual_run(writer.flush()) is False
    assert writer.samples_lost == 1 and errors == [1]
    assert sink.recorded == [([update(1)], [went_up(1)])]


def test_states_a_failed_recording_held_go_with_the_next_flush(virtual_run: VirtualRun) -> None:
    """Updates carry counts as deltas: dropping them would lose polls from availability."""
    sink = Sink()
    writer = BatchWriter(sink, sink.record)
    sink.db_down = True
    writer.add(sample(1), update(1), went_up(1))
    virtual_run(writer.flush())
    assert sink.recorded == [] and len(sink.batches) == 1  # samples do not wait
    sink.db_down = False
    writer.add(sample(2), update(2))
    virtual_run(writer.flush())
    assert sink.recorded == [([update(1), update(2)], [went_up(1)])]  # in order, once


def test_kept_states_are_bounded_oldest_dropped_first(virtual_run: VirtualRun) -> None:
    sink = Sink()
    writer = BatchWriter(sink, sink.record, max_kept_states=3)
    sink.db_down = True
    for n in range(5):
        writer.add(update=update(n))
        virtual_run(writer.flush())
    assert writer.states_lost == 2
    sink.db_down = False
    virtual_run(writer.flush())
    assert sink.recorded == [([update(2), update(3), update(4)], [])]


# --- the recorder: statuses and transitions in one transaction ---------------------------


@pytest.fixture
def db(tmp_path: Path, secret_box: SecretBox, database_url: str) -> Engine:
    engine = open_inventory(database_url, create=True)
    doc = {
        "credentials": [{"id": "c", "snmp": {"version": "2c", "community": "public"}}],
        "sites": [{"id": "s1", "name": "One", "lat": -6.24, "lon": 106.99}],
        "aps": [
            {
                "id": f"ap{n}",
                "name": f"ap-{n}",
                "site": "s1",
                "host": f"127.1.9.{n}",
                "credentials": "c",
            }
            for n in (1, 2)
        ],
    }
    path = tmp_path / "inv.yaml"
    path.write_text(yaml.safe_dump(doc))
    import_file(engine, path, secret_box)
    return engine


def test_recorder_adds_counts_and_appends_transitions(db: Engine) -> None:
    record = inventory_recorder(db)
    record([update(1), update(2, answered=0)], [went_up(1, at=5.0)])
    record([update(1, answered=0)], [])
    with transaction(db) as session:
        counts = {
            s.ap_id: (s.polls_attempted, s.polls_ok) for s in session.scalars(select(ApStatus))
        }
        events = [(e.ap_id, e.at, e.to_state) for e in session.scalars(select(ApEvent))]
    assert counts == {"ap1": (2, 1), "ap2": (1, 0)}
    assert events == [("ap1", 5.0, "up")]


def test_recorder_stores_a_status_and_its_transition_or_neither(db: Engine) -> None:
    record = inventory_recorder(db)
    bad = Transition("ap1", ApState.UNKNOWN, ApState.UP, None, PollCause.ANSWERED)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):  # ap_events.at is NOT NULL
        record([update(1)], [bad])
    with transaction(db) as session:
        assert list(session.scalars(select(ApStatus))) == []
        assert list(session.scalars(select(ApEvent))) == []
