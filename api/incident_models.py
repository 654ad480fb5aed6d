"""Shapes of the incident routes: lists, one incident with its members and timeline, and
the bodies of acknowledge, resolve and note.

What a partner receives has the same shape as what the city receives, only filled with its
share (see :mod:`inventory.scoping`): its own members, counts and explanation, so a
client needs no second model. ``class`` is a Python keyword, hence the alias.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.text import FreeText
from core.incidents import IncidentClass, IncidentScope, IncidentState, Responsible, Verdict
from inventory.incidents import EntryKind

MAX_NOTE_LENGTH = 1000  # incident_entries.detail

Note = Annotated[FreeText, StringConstraints(min_length=1, max_length=MAX_NOTE_LENGTH)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class IncidentPublic(_Model):
    """One incident in a list: its counts, not its members."""

    id: int
    class_: IncidentClass = Field(alias="class")
    scope_kind: IncidentScope
    scope_id: str | None  # None: an AP or site outside the caller's scope
    district: str | None
    state: IncidentState
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None  # None once resolved: resolved automatically on recovery
    responsible: Responsible
    explanation: str
    verdict: Verdict | None
    merged_into: int | None
    reopened: int  # how many times it recurred within the reopen window
    ap_count: int  # the caller's share
    site_count: int
    priority: int  # raised by each citizen report it holds (and by the merges into it)
    citizen_reports: int  # the citizens' reports it holds now


class IncidentsPublic(_Model):
    data: list[IncidentPublic]
    count: int  # all incidents matching the filters, not the page size


class IncidentMemberPublic(_Model):
    ap_id: str
    site_id: str


class IncidentEntryPublic(_Model):
    id: int
    at: datetime
    kind: EntryKind
    actor: str | None  # None: the fault engine
    detail: str | None


class IncidentDetailPublic(IncidentPublic):
    """One incident with its members and its timeline (the evidence is in it)."""

    aps: list[IncidentMemberPublic]
    timeline: list[IncidentEntryPublic]


class IncidentActionIn(_Model):
    note: Note | None = None


class IncidentNoteIn(_Model):
    note: Note
