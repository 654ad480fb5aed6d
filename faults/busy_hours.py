"""How many clients an AP usually has at this hour: its own history, for silent_failure.

An AP with no clients is only a fault in an hour when it should have some: a park's AP
at 03:00 is empty and fine, the same AP at 17:00 is not. Its own past says which hours
those are: the mean of its ``clients`` samples over the same clock hour on each of the
last few days (each day's hour is one ``aggregate(by="ap")`` over the whole city, so the
figures for every AP come from a handful of queries).

The figures change only when the hour does, so they are cached per clock hour and per
day: a fault engine that runs a metric pass every poll interval asks the store a few
times an hour, not once per cycle, and never once per AP. The cache is filled only when
an AP needs it (a candidate for silent_failure), so a quiet city costs nothing. It is
recomputable from the store alone: an engine restart just reads it again.

Hours are UTC clock hours (whole hours are what the stores roll up): for a city whose
offset from UTC is a whole number of hours, that is the local clock hour too.
"""

from __future__ import annotations

from timeseries.port import MetricStore

HOUR_S = 3600.0
DAY_S = 86_400.0


class BusyHours:
    """Per AP, the mean ``clients`` at the current clock hour over the previous days.

    Not thread-safe: one per fault engine, used from its cycle. A :class:`StoreError`
    from the store propagates (what is cached so far stays valid)."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store
        self._hour: float | None = None
        #: Index 0 is yesterday's same hour, 1 the day before, ...: AP id -> mean clients.
        self._days: list[dict[str, float]] = []
        self.queries = 0  # aggregate calls made so far (the tests check the cost)

    def usual_clients(self, ap_id: str, *, days: int, now: float) -> float | None:
        """The mean, over the last ``days`` days that have samples of the AP at this clock
        hour, of its mean ``clients`` in that hour; None when no day has any."""
        means = [day[ap_id] for day in self._fill(days, now) if ap_id in day]
        return sum(means) / len(means) if means else None

    def _fill(self, days: int, now: float) -> list[dict[str, float]]:
        """The per-day figures for the hour of ``now``, reading the days not cached yet."""
        hour = now // HOUR_S * HOUR_S
        if hour != self._hour:
            self._hour, self._days = hour, []
        while len(self._days) < days:
            start = hour - (len(self._days) + 1) * DAY_S
            found = self.store.aggregate(start, start + HOUR_S, by="ap")
            self.queries += 1
            self._days.append({a.key: a.clients_mean for a in found if a.clients_mean is not None})
        return self._days[:days]
