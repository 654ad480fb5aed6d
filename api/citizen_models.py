"""Shapes of the engineers' citizen-report routes (``/api/v1/citizen-reports``).

A report as an engineer reads it carries what the citizen sent, opened: the free text and
the phone number (until the report is closed, when the number is wiped). Only the
routes that need ``citizen-reports:read`` answer it; what filing answers names the
hotspot and the incident, never the text or the number an operator has just typed: an
answer is one more place a number could be copied from (a proxy's log, a browser's
console), and the operator has it already.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from api.filters import MAX_ID_LENGTH
from api.text import NoNul
from citizens.importing import MAX_TEXT
from citizens.phone import MAX_PHONE_TEXT, PHONE_PATTERN, normalise_phone
from core.citizens import Channel, Match, Problem
from core.incidents import IncidentClass, IncidentState

__all__ = [
    "CitizenReportCreate",
    "CitizenReportFiled",
    "CitizenReportPublic",
    "CitizenReportsPublic",
    "ImportResult",
    "ImportedRow",
    "ReportIncident",
]

Phone = Annotated[
    str,
    StringConstraints(max_length=MAX_PHONE_TEXT),
    AfterValidator(normalise_phone),
    # The same rule as normalise_phone, stated for clients (and fuzzers); the validator,
    # not a pydantic pattern, refuses: its message says what a number is.
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": MAX_PHONE_TEXT,
            "pattern": PHONE_PATTERN,
        }
    ),
    Field(
        description="A phone number for follow-up: digits with spaces, dashes, dots or "
        "brackets, an optional leading +; 6..16 digits. Stored sealed, wiped once the "
        "report is closed.",
        examples=["+62 812-3456-7890"],
    ),
]
ReportText = Annotated[
    str,
    StringConstraints(max_length=MAX_TEXT),  # before NoNul: pydantic then says "characters"
    NoNul,
    Field(description="What the citizen said, in their words (empty: nothing). Stored sealed."),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CitizenReportCreate(_Model):
    """A report taken by phone: where (lat/lon, or a site the caller named), what."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    site_id: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)] | None = (
        Field(default=None, description="The hotspot the caller named; wins over lat/lon.")
    )
    problem: Problem
    text: ReportText | None = None
    phone: Phone | None = None


class ReportIncident(_Model):
    """The incident a report is part of, enough to show and link it."""

    id: int
    class_: IncidentClass = Field(alias="class")
    state: IncidentState
    priority: int  # how many citizen reports raised it (and what merges added)


class CitizenReportFiled(_Model):
    """What filing did: the hotspot matched and the incident joined, opened or reopened."""

    id: int
    match: Match
    site_id: str | None
    site_name: str | None
    distance_m: float | None  # None: the site was named, not found by the location
    incident: ReportIncident | None  # None: unmatched
    known: bool  # the hotspot had an active incident before this report


class CitizenReportPublic(_Model):
    """One report as an engineer reads it (``text`` and ``phone`` opened)."""

    id: int
    received_at: datetime
    channel: Channel
    problem: Problem
    lat: float | None
    lon: float | None
    site_id: str | None
    site_name: str | None
    distance_m: float | None
    match: Match
    incident_id: int | None
    incident: ReportIncident | None
    text: str | None
    phone: str | None  # None: none given, or wiped when the report was closed
    has_photo: bool  # GET /api/v1/citizen-reports/{id}/photo
    filed_by: str | None  # the operator or import; None: the public report page
    external_ref: str | None  # the id in the system it was imported from
    closed_at: datetime | None


class CitizenReportsPublic(_Model):
    data: list[CitizenReportPublic]
    count: int  # all reports matching the filters, not the page size


class ImportedRow(_Model):
    line: int  # the CSV line, or the JSON item (from 1)
    ref: str
    status: Literal["filed", "skipped"]  # skipped: the ref was imported before
    report: CitizenReportFiled | None  # None when skipped


class ImportResult(_Model):
    filed: int
    skipped: int
    unmatched: int  # of those filed
    reports: list[ImportedRow]  # in file order
