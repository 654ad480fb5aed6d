"""What a judge of the metric and behaviour classes says in one cycle.

The outage classes come from one snapshot of AP states (:mod:`faults.correlate`); the
other classes need the metric store (clients, load, uptime, traffic), which changes only
once per poll, so their judges run on some cycles and not others. An
:class:`Assessment` says which classes it speaks for: the lifecycle opens, keeps and
resolves incidents of those classes from it, and leaves incidents of any other class
alone (a class no judge spoke for this cycle is neither opened nor resolved).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.incidents import IncidentClass
from faults.correlate import Key, Problem


@dataclass(frozen=True)
class Assessment:
    """``problems``: present now (only settled ones: what they are is known);
    ``recovered``: keys of active incidents (of ``judged`` classes) whose condition has
    been gone for the hold, so they may resolve; ``judged``: the classes spoken for."""

    judged: frozenset[IncidentClass]
    problems: list[Problem] = field(default_factory=list)
    recovered: frozenset[Key] = frozenset()
    #: Per recovered key, the words of its resolution ("clients back for 60 s").
    notes: dict[Key, str] = field(default_factory=dict)
