"""Shapes of the maintenance routes, and of a site with the windows running on it.

Times come in as ISO 8601 (UTC if no offset) or epoch seconds, through the same parser as
every query time (:mod:`api.times`), and leave as UTC datetimes. What a partner receives
has the same shape as what the city receives, with ``reason`` null: the staff's free text
is not a partner's to read (see :mod:`inventory.scoping`).

The rules that need the database or the clock (the scope exists, the window ends in the
future, at most 31 days) are :mod:`inventory.maintenance`'s; a break is a 422 naming the
field, in FastAPI's own format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from api.filters import MAX_ID_LENGTH
from api.text import FreeText
from api.times import MAX_TIME, MAX_TIME_TEXT, MIN_TIME, parse_time, time_in_range
from inventory.maintenance import MAX_REASON, WindowState
from inventory.schemas import SitePublic

BodyTime = Annotated[
    float,
    BeforeValidator(parse_time),
    AfterValidator(time_in_range),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "maxLength": MAX_TIME_TEXT},
                {"type": "number", "minimum": MIN_TIME, "maximum": MAX_TIME},
            ],
            "description": "ISO 8601 datetime (UTC if no offset) or UTC epoch seconds.",
        }
    ),
]
Reason = Annotated[
    FreeText,
    StringConstraints(min_length=1, max_length=MAX_REASON, pattern=r"\S"),
    Field(description="Why: what an operator reads when a dead site has no incident."),
]
ScopeId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaintenanceIn(_Model):
    scope_kind: Literal["site", "district"]
    scope_id: ScopeId
    starts_at: BodyTime
    ends_at: BodyTime
    reason: Reason


class MaintenanceChange(_Model):
    """Only the fields given change; a window that has started keeps its start."""

    starts_at: BodyTime | None = None
    ends_at: BodyTime | None = None
    reason: Reason | None = None


class MaintenancePublic(_Model):
    id: int
    scope_kind: Literal["site", "district"]
    scope_id: str
    state: WindowState  # at the time of the answer
    starts_at: datetime
    ends_at: datetime
    reason: str | None  # None: not shown to a partner
    created_by: str
    created_at: datetime
    updated_at: datetime


class MaintenancesPublic(_Model):
    data: list[MaintenancePublic]
    count: int  # all windows matching the filters, not the page size


class SiteWindowPublic(_Model):
    """A window running on a site now (its own or its district's)."""

    id: int
    ends_at: datetime
    reason: str | None  # None: not shown to a partner


class SiteWithMaintenancePublic(SitePublic):
    maintenance: list[SiteWindowPublic]  # running now; empty when none


class SitesWithMaintenancePublic(_Model):
    data: list[SiteWithMaintenancePublic]
    count: int  # all sites matching the filters, not the page size
