"""Fault injection for the simulated city: what is broken, where, and from when to when.

A :class:`FaultBook` holds faults (active and scheduled) and answers, per request, what a
fault does to one AP right now (:meth:`FaultBook.effect`). The agent asks it before
answering each datagram, so the common case — no fault on that AP — is one dict lookup.

Faults split by who carries them out:

* reachability (``ap_down``, ``ap_reboot``, ``site_power``, ``district_power``,
  ``backhaul_cut``, ``uplink_cut``, ``flapping``) and latency (``slow``) are the agent's
  business: it drops the datagram or answers later;
* conditions the device itself shows (``silent``, ``overload``, ``malformed``) become
  windows on :class:`~simulators.device.Device`, so counters integrate them exactly and
  the MIB serves them without asking the book.

Power cuts (``ap_down``, ``site_power``, ``district_power``) end with the AP booting: a
:meth:`Device.reboot` at the end, so sysUpTime restarts near 0 and counters from 0. A
``backhaul_cut`` (one site's link) or an ``uplink_cut`` (a shared uplink: every site behind
it, across districts) leaves the APs running: uptime carries on when it ends. An
``ap_reboot`` boots at its start and does not answer while booting (its duration).

Faults also arise at random (:class:`FaultRates`), seeded, generated an hour ahead at a
time, so that they show up as scheduled in the control API and are reproducible.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from core.errors import SimulatorError
from simulators.city import City

AP_KINDS = ("ap_down", "ap_reboot", "silent", "overload", "flapping", "slow", "malformed")
"""Faults of single APs; a site or district target applies them to each of its APs."""
SITE_KINDS = ("site_power", "backhaul_cut")
DISTRICT_KINDS = ("district_power",)
UPLINK_KINDS = ("uplink_cut",)
KINDS = AP_KINDS + SITE_KINDS + DISTRICT_KINDS + UPLINK_KINDS

POWER_KINDS = frozenset({"ap_down", "site_power", "district_power"})
"""Faults after which the APs boot (uptime and counters restart at the fault's end)."""
UNREACHABLE_KINDS = POWER_KINDS | {"ap_reboot", "backhaul_cut", "uplink_cut"}
DEVICE_CONDITIONS = frozenset({"silent", "overload", "malformed"})

DEFAULT_FLAP_PERIOD_S = 10.0
SLOW_DELAY_S = (2.0, 5.0)
RANDOM_HORIZON_S = 3600.0
"""Random faults are drawn this far ahead, so GET /faults shows what is coming."""
_HISTORY = 200


class FaultError(SimulatorError):
    """A fault or scenario that cannot be applied; the message says what to fix."""


class UnknownFault(FaultError):
    pass


@dataclass(frozen=True)
class Effect:
    """What faults do to one AP at one instant."""

    drop: bool = False
    delay_s: float = 0.0
    malformed: bool = False
    silent: bool = False
    overload: bool = False


@dataclass(eq=False)
class Fault:
    id: str
    kind: str
    target: str
    start: float
    end: float
    ap_ids: tuple[str, ...]
    period_s: float = DEFAULT_FLAP_PERIOD_S
    source: str = "api"
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def active(self, now: float) -> bool:
        return self.start <= now < self.end

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "start": self.start,
            "end": self.end,
            "state": "active" if self.active(now) else "scheduled",
            "affected_aps": len(self.ap_ids),
            "source": self.source,
            **({"period_s": self.period_s} if self.kind == "flapping" else {}),
        }


@dataclass(frozen=True)
class FaultRates:
    """Expected random faults: per AP per day, per site per day, per district or uplink
    per month.

    All zero by default (tests want a city that only breaks when told to)."""

    ap_down: float = 0.0
    ap_reboot: float = 0.0
    silent: float = 0.0
    overload: float = 0.0
    flapping: float = 0.0
    slow: float = 0.0
    malformed: float = 0.0
    site_power: float = 0.0
    backhaul_cut: float = 0.0
    district_power: float = 0.0  # per district per 30-day month
    uplink_cut: float = 0.0  # per uplink per 30-day month

    def any(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in fields(self))


NO_RANDOM_FAULTS = FaultRates()

DEMO_FAULT_RATES = FaultRates(
    ap_down=0.02,
    ap_reboot=0.05,
    silent=0.01,
    overload=0.02,
    flapping=0.005,
    slow=0.02,
    malformed=0.002,
    site_power=0.01,
    backhaul_cut=0.01,
    district_power=0.5,
    uplink_cut=0.5,
)
"""Modest rates for ``citywifi demo``: a 2,000-AP city sees roughly 200 AP-level faults,
a few site outages, and a district power cut and an uplink cut (of its ~40) every day or
two, enough to keep the dashboards and incident list alive without drowning them."""

RANDOM_DURATION_S: dict[str, tuple[float, float]] = {
    "ap_down": (120, 3600),
    "ap_reboot": (30, 90),
    "silent": (600, 7200),
    "overload": (600, 3600),
    "flapping": (300, 1800),
    "slow": (300, 3600),
    "malformed": (300, 1800),
    "site_power": (300, 7200),
    "backhaul_cut": (120, 3600),
    "district_power": (600, 10800),
    "uplink_cut": (300, 5400),
}
"""Duration range (seconds, uniform) of each kind of random fault."""

_NO_EFFECT: None = None


class FaultBook:
    """Active and scheduled faults of one city, indexed by AP for the per-request check."""

    def __init__(
        self,
        city: City,
        *,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
        rates: FaultRates = NO_RANDOM_FAULTS,
    ) -> None:
        self.city = city
        self.clock = clock
        self.seed = seed
        self.rates = rates
        self.devices = {ap.id: ap.device for ap in city.aps}
        self.site_aps: dict[str, tuple[str, ...]] = {}
        for ap in city.aps:
            self.site_aps[ap.site] = (*self.site_aps.get(ap.site, ()), ap.id)
        self.district_aps: dict[str, tuple[str, ...]] = {d.id: () for d in city.districts}
        self.site_district = {site.id: site.district for site in city.sites}
        for site in city.sites:
            self.district_aps[site.district] += self.site_aps.get(site.id, ())
        self.uplink_aps: dict[str, tuple[str, ...]] = {u.id: () for u in city.uplinks}
        self.site_uplink = {site.id: site.uplink for site in city.sites}
        for site in city.sites:
            if site.uplink is not None:
                self.uplink_aps[site.uplink] += self.site_aps.get(site.id, ())
        self.faults: dict[str, Fault] = {}
        self.by_ap: dict[str, list[Fault]] = {}
        self.ended: list[Fault] = []  # recent history, newest last
        self.dropped = 0
        self.delayed = 0
        self._count = 0
        self._random = _RandomFaults(self, rates, seed, clock()) if rates.any() else None

    # --- building ------------------------------------------------------------------------

    def resolve(self, kind: str, target: str) -> tuple[str, ...]:
        """The AP ids a fault of ``kind`` on ``target`` affects, or a FaultError."""
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; known kinds: {', '.join(KINDS)}")
        if kind in DISTRICT_KINDS:
            if target not in self.district_aps:
                raise FaultError(f"{kind} needs a district id; {target!r} is not a district")
            return self.district_aps[target]
        if kind in SITE_KINDS:
            if target not in self.site_aps:
                raise FaultError(f"{kind} needs a site id; {target!r} is not a site")
            return self.site_aps[target]
        if kind in UPLINK_KINDS:
            if target not in self.uplink_aps:
                raise FaultError(f"{kind} needs an uplink id; {target!r} is not an uplink")
            return self.uplink_aps[target]
        if target in self.devices:
            return (target,)
        if target in self.site_aps:
            return self.site_aps[target]
        if target in self.district_aps:
            return self.district_aps[target]
        raise FaultError(f"{kind} needs an AP, site or district id; {target!r} is none of them")

    def add(
        self,
        kind: str,
        target: str,
        duration_s: float,
        *,
        start: float | None = None,
        period_s: float | None = None,
        source: str = "api",
    ) -> Fault:
        """Inject a fault from ``start`` (now by default) for ``duration_s`` seconds."""
        if (
            isinstance(duration_s, bool)
            or not isinstance(duration_s, int | float)
            or not math.isfinite(duration_s)
            or duration_s <= 0
        ):
            raise FaultError(f"duration_s must be a positive number of seconds, not {duration_s!r}")
        if period_s is not None and (not math.isfinite(period_s) or period_s <= 0):
            raise FaultError(f"period_s must be a positive number of seconds, not {period_s!r}")
        ap_ids = self.resolve(kind, target)
        begin = self.clock() if start is None else float(start)
        self._count += 1
        fault_id = f"f{self._count:04d}"
        fault = Fault(
            id=fault_id,
            kind=kind,
            target=target,
            start=begin,
            end=begin + float(duration_s),
            ap_ids=ap_ids,
            period_s=period_s or DEFAULT_FLAP_PERIOD_S,
            source=source,
            rng=random.Random(f"fault:{self.seed}:{fault_id}"),
        )
        self.faults[fault_id] = fault
        for ap_id in ap_ids:
            self.by_ap.setdefault(ap_id, []).append(fault)
        self._apply(fault)
        return fault

    def _apply(self, fault: Fault) -> None:
        """Carry a fault's lasting consequences into the devices (boots, windows)."""
        for ap_id in fault.ap_ids:
            device = self.devices[ap_id]
            if fault.kind in POWER_KINDS:
                device.reboot(fault.end)
            elif fault.kind == "ap_reboot":
                device.reboot(fault.start)
            elif fault.kind in DEVICE_CONDITIONS:
                device.set_condition(fault.kind, fault.id, fault.start, fault.end)

    def end(self, fault_id: str, at: float | None = None) -> Fault:
        """End a fault now (or at ``at``); a scheduled one is cancelled outright.

        An ended power cut boots its APs at the new end; a cancelled one never happened."""
        fault = self.faults.get(fault_id)
        if fault is None:
            raise UnknownFault(f"no active or scheduled fault {fault_id!r}")
        now = self.clock() if at is None else at
        if fault.end <= now:
            self._retire(fault)
            raise UnknownFault(f"fault {fault_id!r} has already ended")
        cancelled = now <= fault.start
        new_end = fault.start if cancelled else min(fault.end, now)
        for ap_id in fault.ap_ids:
            device = self.devices[ap_id]
            if fault.kind in POWER_KINDS:
                device.cancel_reboot(fault.end)
                if not cancelled:
                    device.reboot(new_end)
            elif fault.kind == "ap_reboot" and cancelled:
                device.cancel_reboot(fault.start)
            elif fault.kind in DEVICE_CONDITIONS:
                if cancelled:
                    device.clear_condition(fault.kind, fault.id)
                else:
                    device.set_condition(fault.kind, fault.id, fault.start, new_end)
            faults = self.by_ap.get(ap_id)
            if faults is not None and fault in faults:
                faults.remove(fault)
                if not faults:
                    del self.by_ap[ap_id]
        fault.end = new_end
        self._retire(fault)
        return fault

    def _retire(self, fault: Fault) -> None:
        self.faults.pop(fault.id, None)
        self.ended.append(fault)
        del self.ended[:-_HISTORY]

    # --- querying ------------------------------------------------------------------------

    def effect(self, ap_id: str, now: float) -> Effect | None:
        """What faults do to ``ap_id`` at ``now``; None when nothing does (the hot path)."""
        random_faults = self._random
        if random_faults is not None and now >= random_faults.horizon:
            random_faults.extend(now + RANDOM_HORIZON_S)
        faults = self.by_ap.get(ap_id)
        if not faults:
            return _NO_EFFECT
        drop = malformed = silent = overload = False
        delay = 0.0
        expired: list[Fault] = []
        for fault in faults:
            if now >= fault.end:
                expired.append(fault)
                continue
            if now < fault.start:
                continue
            kind = fault.kind
            if kind in UNREACHABLE_KINDS:
                drop = True
            elif kind == "flapping":
                drop = drop or int((now - fault.start) // fault.period_s) % 2 == 0
            elif kind == "slow":
                delay = max(delay, fault.rng.uniform(*SLOW_DELAY_S))
            elif kind == "malformed":
                malformed = True
            elif kind == "silent":
                silent = True
            elif kind == "overload":
                overload = True
        for fault in expired:
            faults.remove(fault)
        if not faults:
            del self.by_ap[ap_id]
        if not (drop or delay or malformed or silent or overload):
            return _NO_EFFECT
        return Effect(drop, delay, malformed, silent, overload)

    def listing(self, now: float | None = None) -> list[Fault]:
        """Active and scheduled faults, by start time; ended ones are retired on the way."""
        now = self.clock() if now is None else now
        if self._random is not None and now >= self._random.horizon:
            self._random.extend(now + RANDOM_HORIZON_S)
        for fault in [f for f in self.faults.values() if f.end <= now]:
            self._retire(fault)
        return sorted(self.faults.values(), key=lambda f: (f.start, f.id))

    def get(self, fault_id: str) -> Fault:
        fault = self.faults.get(fault_id)
        if fault is None or fault.end <= self.clock():
            raise UnknownFault(f"no active or scheduled fault {fault_id!r}")
        return fault


_FIRST_KINDS = frozenset(AP_KINDS + SITE_KINDS + DISTRICT_KINDS)
"""The kinds that share one random stream; a kind added later draws from a stream of its
own, so adding it left every seeded city's other random faults (kinds, targets, times)
as they were."""


class _RandomFaults:
    """Seeded Poisson arrivals per kind over the whole population (one draw per fault, not
    per AP per tick), generated up to a horizon and extended when time reaches it."""

    def __init__(self, book: FaultBook, rates: FaultRates, seed: int, start: float) -> None:
        self.book = book
        shared = random.Random(f"random-faults:{seed}")
        self.rngs = {
            kind: shared if kind in _FIRST_KINDS else random.Random(f"random-faults:{seed}:{kind}")
            for kind in KINDS
        }
        self.populations: dict[str, tuple[list[str], float]] = {}
        day, month = 86_400.0, 30 * 86_400.0
        for kind in KINDS:
            rate = getattr(rates, kind)
            if rate <= 0:
                continue
            if kind in UPLINK_KINDS:
                targets, per = list(book.uplink_aps), month
            elif kind in DISTRICT_KINDS:
                targets, per = list(book.district_aps), month
            elif kind in SITE_KINDS:
                targets, per = list(book.site_aps), day
            else:
                targets, per = list(book.devices), day
            if targets:
                self.populations[kind] = (targets, rate * len(targets) / per)
        self.next_at = {
            kind: start + self.rngs[kind].expovariate(per_s)
            for kind, (_, per_s) in self.populations.items()
        }
        self.horizon = start
        self.extend(start + RANDOM_HORIZON_S)

    def extend(self, until: float) -> None:
        self.horizon = until  # first, so that add() below cannot re-enter
        for kind, (targets, per_s) in self.populations.items():
            rng = self.rngs[kind]
            at = self.next_at[kind]
            while at < until:
                low, high = RANDOM_DURATION_S[kind]
                self.book.add(
                    kind, rng.choice(targets), rng.uniform(low, high), start=at, source="random"
                )
                at += rng.expovariate(per_s)
            self.next_at[kind] = at


def build_fault_book(
    city: City,
    *,
    rates: FaultRates = NO_RANDOM_FAULTS,
    seed: int | None = None,
    clock: Callable[[], float] = time.time,
) -> FaultBook:
    """The fault book ``run_simulator`` hands to every agent: random faults at ``rates``
    (none by default), seeded by ``seed`` (the city's seed by default)."""
    return FaultBook(city, clock=clock, seed=city.seed if seed is None else seed, rates=rates)


def faults_json(faults: Iterable[Fault], now: float) -> list[dict[str, Any]]:
    return [fault.as_dict(now) for fault in faults]
