"""Results kept until the inventory or the live state changes.

Every request loads fresh :class:`CoverageInputs` (cheap: a few selects) and asks the
cache, which answers from what it holds when the inputs' keys are unchanged:

- the projected city (:func:`planning.geometry.city_geometry`) by ``design_key``: an AP
  going down does not change a single disc, so it is projected again only when the
  inventory (sites, districts, demand, candidates, settings) changes;
- coverage reports and gaps by ``live_key`` (which holds the design key): they change
  with the live state;
- suggestions by ``design_key`` with their arguments: they add to the *designed*
  coverage, which the live state does not touch;
- what-ifs are not kept (each asks its own question) but use the cached geometry.

FastAPI runs the sync handlers in a thread pool, so the cache is shared between threads:
one lock guards the tables, and a key being computed is held by a slot that later callers
wait on, so two requests for the same missing result compute it once (a suggestion may
take seconds; a second planner pressing refresh must not start a second solver). The
computation itself runs outside the lock, so different keys compute in parallel.

Each kind of result has its own bounded LRU table: a burst of gaps queries with different
filters must not evict the geometry every one of them needs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar, cast

from planning import analysis, gaps, geometry, suggestions, whatif
from planning.geometry import CityGeometry
from planning.inputs import CoverageInputs
from planning.results import CoverageReport, GapKind, Gaps, Method, NewSite, Suggestions, WhatIf

# The analysis functions are looked up on their modules at each call (not imported by
# name), so a test can replace one and see which calls reach it.

T = TypeVar("T")


class _Slot(Generic[T]):
    """One result, or the promise of it while its first caller computes it."""

    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class _Table(Generic[T]):
    """A bounded LRU of slots; the caller holds the cache's lock around every method."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.slots: OrderedDict[Hashable, _Slot[T]] = OrderedDict()

    def claim(self, key: Hashable) -> tuple[_Slot[T], bool]:
        """The key's slot, and whether the caller must fill it (it was missing)."""
        slot = self.slots.get(key)
        if slot is not None:
            self.slots.move_to_end(key)
            return slot, False
        slot = _Slot()
        self.slots[key] = slot
        while len(self.slots) > self.max_entries:
            # An evicted slot still being filled is finished by its owner and handed to
            # whoever already waits on it; it is only no longer found by new callers.
            self.slots.popitem(last=False)
        return slot, True

    def forget(self, key: Hashable, slot: _Slot[T]) -> None:
        if self.slots.get(key) is slot:
            del self.slots[key]


class CoverageCache:
    """Coverage results by the keys of the inputs they were computed from.

    ``max_entries``: how many results of each kind are kept (geometries, reports, gaps,
    suggestions), the least recently used going first. A failed computation is not kept:
    its error goes to the callers waiting on it, and the next call tries again.
    """

    def __init__(self, max_entries: int = 8) -> None:
        if max_entries < 1:
            raise ValueError("a cache needs room for at least one entry")
        self._lock = threading.Lock()
        self._geometry: _Table[CityGeometry] = _Table(max_entries)
        self._reports: _Table[CoverageReport] = _Table(max_entries)
        self._gaps: _Table[Gaps] = _Table(max_entries)
        self._suggestions: _Table[Suggestions] = _Table(max_entries)

    def geometry(self, inputs: CoverageInputs) -> CityGeometry:
        """The projected city, computed once per design."""
        return self._get(self._geometry, inputs.design_key, lambda: geometry.city_geometry(inputs))

    def report(self, inputs: CoverageInputs) -> CoverageReport:
        return self._get(
            self._reports,
            inputs.live_key,
            lambda: analysis.coverage_report(inputs, self.geometry(inputs)),
        )

    def gaps(
        self,
        inputs: CoverageInputs,
        *,
        kind: GapKind | None = None,
        district: str | None = None,
        limit: int | None = None,
    ) -> Gaps:
        return self._get(
            self._gaps,
            (inputs.live_key, kind, district, limit),
            lambda: gaps.find_gaps(
                inputs, self.geometry(inputs), kind=kind, district=district, limit=limit
            ),
        )

    def suggestions(
        self, inputs: CoverageInputs, *, k: int, method: Method, time_limit_s: float
    ) -> Suggestions:
        return self._get(
            self._suggestions,
            (inputs.design_key, k, method, time_limit_s),
            lambda: suggestions.suggest(
                inputs, self.geometry(inputs), k=k, method=method, time_limit_s=time_limit_s
            ),
        )

    def what_if(
        self,
        inputs: CoverageInputs,
        *,
        remove: Sequence[str] = (),
        add: Sequence[NewSite] = (),
        fail: Sequence[str] = (),
        max_points: int = 500,
    ) -> WhatIf:
        """Not kept (every what-if is its own question); the geometry it starts from is."""
        return whatif.what_if(
            inputs,
            self.geometry(inputs),
            remove=remove,
            add=add,
            fail=fail,
            max_points=max_points,
        )

    def clear(self) -> None:
        """Forget everything (results being computed still reach their waiting callers)."""
        with self._lock:
            for table in (self._geometry, self._reports, self._gaps, self._suggestions):
                table.slots.clear()

    def _get(self, table: _Table[T], key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            slot, owner = table.claim(key)
        if owner:
            try:
                slot.value = compute()
            except BaseException as exc:
                slot.error = exc
                with self._lock:
                    table.forget(key, slot)
                raise
            finally:
                slot.done.set()
        else:
            slot.done.wait()
            if slot.error is not None:
                raise slot.error
        return cast("T", slot.value)  # set by its owner before ``done``
