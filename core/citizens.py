"""Citizens' problem reports' words (issue 16), shared by the filing logic, the database,
the API, the import and the pages. ``StrEnum`` values are the strings stored in SQL and
sent as JSON, as in :mod:`core.incidents`.
"""

from __future__ import annotations

import enum


class Problem(enum.StrEnum):
    """What a citizen says is wrong, in the words of the report page."""

    NO_SIGNAL = "no_signal"  # the network is not there at all
    NO_INTERNET = "no_internet"  # connects, but nothing loads
    SLOW = "slow"
    LOGIN_BROKEN = "login_broken"  # the login (captive) page fails
    DAMAGED = "damaged"  # the equipment is visibly damaged


#: How each problem reads in an incident's explanation and timeline.
PROBLEM_WORDS: dict[Problem, str] = {
    Problem.NO_SIGNAL: "no WiFi signal",
    Problem.NO_INTERNET: "connects but no internet",
    Problem.SLOW: "very slow",
    Problem.LOGIN_BROKEN: "the login page does not work",
    Problem.DAMAGED: "the equipment is damaged",
}


class Channel(enum.StrEnum):
    """How a report reached the operation centre."""

    WEB = "web"  # the public report page (no account)
    CALL_CENTRE = "call_centre"  # an operator typed it in (POST /api/v1/citizen-reports)
    IMPORT = "import"  # the operation centre's other channels, by CSV/JSON import


class Match(enum.StrEnum):
    """What filing a report did: the incident it joined, opened or reopened, or none."""

    JOINED = "joined"  # the hotspot's active incident (the engine's or citizens')
    OPENED = "opened"  # a new citizen_reported incident
    REOPENED = "reopened"  # its citizen_reported incident, resolved within the window
    UNMATCHED = "unmatched"  # no hotspot within reach: stored, said so
