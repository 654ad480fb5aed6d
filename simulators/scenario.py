"""Scripted outages: a YAML timeline of faults, relative to the simulator's start.

A scenario file is a list of steps (or a mapping with a ``faults:`` list)::

    - {at: 30, kind: district_power, target: d03, duration_s: 120}
    - {at: 60, kind: flapping, target: ap00012, duration_s: 300, period_s: 20}

Every step is checked before any is scheduled, and every problem is reported at once with
the file and step number, so a typo never leaves half a scenario running. Scheduling is
just adding future faults to the :class:`~simulators.faults.FaultBook`: no task or timer is
needed, and GET /faults shows what is coming.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simulators.faults import Fault, FaultBook, FaultError

_KEYS = {"at", "kind", "target", "duration_s", "period_s"}


class ScenarioError(FaultError):
    """A scenario file that cannot be scheduled; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Step:
    at: float
    kind: str
    target: str
    duration_s: float
    period_s: float | None = None


def _number(entry: dict[str, Any], key: str, where: str, problems: list[str]) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{where}: {key} must be a number of seconds, not {value!r}")
        return None
    return float(value)


def parse_scenario(data: Any, name: str = "scenario") -> list[Step]:
    """Steps from a parsed YAML document; ScenarioError lists every shape problem."""
    if isinstance(data, dict) and set(data) == {"faults"}:
        data = data["faults"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise ScenarioError([f"{name}: expected a list of faults (or a 'faults:' list)"])
    problems: list[str] = []
    steps: list[Step] = []
    for number, entry in enumerate(data, start=1):
        where = f"{name}: step {number}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping with at, kind, target, duration_s")
            continue
        unknown = sorted(set(map(str, entry)) - _KEYS)
        if unknown:
            problems.append(f"{where}: unknown keys {', '.join(unknown)}")
        missing = [key for key in ("at", "kind", "target", "duration_s") if key not in entry]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        at = _number(entry, "at", where, problems)
        duration = _number(entry, "duration_s", where, problems)
        period = _number(entry, "period_s", where, problems)
        if at is not None and at < 0:
            problems.append(f"{where}: at must be >= 0 seconds after start, not {at:g}")
        if duration is not None and duration <= 0:
            problems.append(f"{where}: duration_s must be positive, not {duration:g}")
        if period is not None and period <= 0:
            problems.append(f"{where}: period_s must be positive, not {period:g}")
        if at is None or duration is None or at < 0 or duration <= 0:
            continue
        steps.append(Step(at, str(entry["kind"]), str(entry["target"]), duration, period))
    if problems:
        raise ScenarioError(problems)
    return steps


def load_scenario(path: Path | str) -> list[Step]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read scenario: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{path}: not valid YAML: {exc}"]) from exc
    return parse_scenario(data, str(path))


def schedule_scenario(
    book: FaultBook, steps: list[Step], *, start: float | None = None, name: str = "scenario"
) -> list[Fault]:
    """Add every step as a fault starting ``at`` seconds after ``start`` (now by default).

    Targets and kinds are checked against the city first, all at once."""
    problems = []
    for number, step in enumerate(steps, start=1):
        try:
            book.resolve(step.kind, step.target)
        except FaultError as exc:
            problems.append(f"{name}: step {number}: {exc}")
    if problems:
        raise ScenarioError(problems)
    origin = book.clock() if start is None else start
    return [
        book.add(
            step.kind,
            step.target,
            step.duration_s,
            start=origin + step.at,
            period_s=step.period_s,
            source="scenario",
        )
        for step in steps
    ]


def load_and_schedule(
    book: FaultBook, path: Path | str, *, start: float | None = None
) -> list[Fault]:
    """Load a scenario file and schedule it; ScenarioError (a SimulatorError) lists every
    problem with the file and step number."""
    return schedule_scenario(book, load_scenario(path), start=start, name=str(path))
