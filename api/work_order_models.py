"""Shapes of the field-work routes: teams, work orders, and what a technician's phone
shows of one (the site on a map, its APs' last known state, the buttons it may press).

An order always comes with its site (name, place) and the state of the site's enabled
APs, so a list is enough to draw "my work orders" on a map without a call per order;
``actions`` lists what the caller may do to it now (the phone's buttons), from
:mod:`fieldwork.orders`' rules: never ``verified``, which only telemetry sets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.filters import MAX_ID_LENGTH
from api.text import FreeText
from core.incidents import IncidentClass, IncidentState, Responsible
from inventory.work_orders import MAX_NOTE, EntryKind, OrderState

#: Base64 of the largest photo the settings allow (50 MiB as sent), with room for line
#: breaks; the route caps the body at the configured size's base64 as it arrives, and
#: checks the decoded bytes again (413).
MAX_PHOTO_BASE64 = 70 * 1024 * 1024
MAX_MEMBERS = 200

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"\S")]
Note = Annotated[FreeText, StringConstraints(min_length=1, max_length=MAX_NOTE, pattern=r"\S")]
Name = Annotated[FreeText, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
#: What a technician does: the states of the state change (the others have their own
#: act, or none: verified). Any state is accepted so that the refusal can say why.
Action = Literal["assign", "on_site", "fixed", "cancel", "note", "photo"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- teams ------------------------------------------------------------------------------


class FieldTeamIn(_Model):
    id: Id
    name: Name
    responsible: Responsible = Field(
        description="Whose team: noc (the city's own), operator (the backhaul operator's), "
        "sponsor (a sponsor's vendor)."
    )
    district_id: Id | None = Field(default=None, description="None: the whole city.")
    partner_id: Id | None = Field(default=None, description="A sponsor team's partner.")


class FieldTeamMembersIn(_Model):
    members: list[Id] = Field(max_length=MAX_MEMBERS, description="User names: the whole list.")


class FieldTeamPublic(_Model):
    id: str
    name: str
    district_id: str | None
    responsible: Responsible
    partner_id: str | None
    members: list[str]  # user names


class FieldTeamsPublic(_Model):
    data: list[FieldTeamPublic]
    count: int


# --- work orders: in --------------------------------------------------------------------


class WorkOrderIn(_Model):
    incident_id: int = Field(ge=1, le=2**31 - 1)
    site_id: Id | None = Field(
        default=None, description="One of the incident's sites; may be left out when it has one."
    )
    team_id: Id | None = Field(default=None, description="Assign at once (else: new).")
    note: Note | None = None


class WorkOrderAssign(_Model):
    team_id: Id


class WorkOrderStateIn(_Model):
    """A technician's change: ``on_site`` or ``fixed``. ``verified`` is refused (422):
    only telemetry sets it."""

    state: OrderState
    note: Note | None = None


class WorkOrderNoteIn(_Model):
    note: Note


class WorkOrderCancel(_Model):
    reason: Note | None = None


class WorkOrderPhotoIn(_Model):
    """The photo of the fix as base64 (JPEG, PNG or WebP; re-encoded without EXIF)."""

    data: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PHOTO_BASE64)]


# --- work orders: out -------------------------------------------------------------------


class WorkOrderSitePublic(_Model):
    id: str
    name: str | None  # None: the site is no longer in the inventory
    lat: float | None
    lon: float | None
    district_id: str | None


class WorkOrderApPublic(_Model):
    """An enabled AP of the site, as the collector last saw it."""

    id: str
    name: str
    state: str  # core.states.ApState; "unknown" when never polled
    since: datetime | None
    last_seen: datetime | None


class WorkOrderIncidentPublic(_Model):
    id: int
    class_: IncidentClass = Field(alias="class")
    state: IncidentState
    explanation: str
    priority: int


class WorkOrderPublic(_Model):
    id: int
    state: OrderState
    incident: WorkOrderIncidentPublic
    site: WorkOrderSitePublic
    aps: list[WorkOrderApPublic]
    team_id: str | None
    team_name: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    fixed_at: datetime | None
    verified_at: datetime | None
    note: str | None
    has_photo: bool
    actions: list[Action]  # what the caller may do now


class WorkOrdersPublic(_Model):
    data: list[WorkOrderPublic]
    count: int  # all orders matching the filters, not the page size


class WorkOrderEntryPublic(_Model):
    at: datetime
    actor: str | None  # None: telemetry
    kind: EntryKind
    detail: str | None


class WorkOrderDetailPublic(WorkOrderPublic):
    timeline: list[WorkOrderEntryPublic]
