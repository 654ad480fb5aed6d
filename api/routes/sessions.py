"""Hotspot sessions from RADIUS accounting, and what they add up to per AP, site, partner
or the whole city: sessions, unique users, time online and bytes.

Both routes need ``sessions:read`` and read through :mod:`inventory.sessions`, which
scopes every query (:mod:`inventory.scoping`): a partner sees the sessions of its own
sites, as they were when each session began, and its ``ap=``/``site=``/``partner=``
filters only narrow that (another partner's ids give an empty answer, like ids that do
not exist). The user and device hashes are shown to admin and engineer only
(``sessions:identify``); the rows carry no MAC, address or user name at all.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access_models import error_responses
from api.auth import PrincipalDep, ScopeDep, require
from api.deps import DEFAULT_LIMIT, LimitQuery, NowDep, OffsetQuery, SessionDep, SettingsDep
from api.filters import MAX_ID_LENGTH, PartnerQuery, SiteQuery
from api.session_models import (
    SessionsPublic,
    SessionSummariesPublic,
    month_before,
    session_public,
    summaries_public,
)
from api.times import TimeQuery, check_window
from core.access import Permission
from inventory import sessions
from inventory.sessions import SessionState, SummaryBy

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

#: The longest summary window: a year of reports (and a month more, for a leap year or a
#: window that does not start on the 1st). The summary reads every session of the window.
MAX_SUMMARY_DAYS = 400

ApQuery = Annotated[str | None, Query(max_length=MAX_ID_LENGTH, description="Access point id.")]
StateQuery = Annotated[
    SessionState | None,
    Query(description="open; closed (Stop, or the NAS restarted); lost (no packet for "
          "radius_lost_after_s)."),
]  # fmt: skip
ByQuery = Annotated[
    SummaryBy, Query(description="One row per AP, site, partner, or one for the whole city.")
]

_READ = [require(Permission.SESSIONS_READ)]


@router.get(
    "",
    response_model=SessionsPublic,
    dependencies=_READ,
    responses=error_responses(401, 403),
    summary="Hotspot sessions (RADIUS accounting), newest start first",
)
def list_sessions(
    session: SessionDep,
    scope: ScopeDep,
    principal: PrincipalDep,
    ap: ApQuery = None,
    site: SiteQuery = None,
    partner: PartnerQuery = None,
    state: StateQuery = None,
    start: TimeQuery = None,
    end: TimeQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: OffsetQuery = 0,
) -> Any:
    """Sessions that overlap [``start``, ``end``) (an open one lasts until now). ``site``
    and ``partner`` are the session's own, as they were when it began. ``user_hash`` and
    ``station_hash`` (keyed hashes, a new key each month) are null unless the caller is an
    admin or an engineer."""
    check_window(start, end)
    rows, count = sessions.list_sessions(
        session,
        scope,
        ap=ap,
        site=site,
        partner=partner,
        state=state,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )
    hashes = principal.may(Permission.SESSIONS_IDENTIFY)
    return SessionsPublic(data=[session_public(v, hashes=hashes) for v in rows], count=count)


@router.get(
    "/summary",
    response_model=SessionSummariesPublic,
    dependencies=_READ,
    responses=error_responses(401, 403),
    summary="Sessions, unique users, time online and bytes per AP, site, partner or city",
)
def summarise_sessions(
    session: SessionDep,
    scope: ScopeDep,
    settings: SettingsDep,
    now: NowDep,
    by: ByQuery = "city",
    start: TimeQuery = None,
    end: TimeQuery = None,
    ap: ApQuery = None,
    site: SiteQuery = None,
    partner: PartnerQuery = None,
) -> Any:
    """The sessions that began in [``start``, ``end``): by default from the start of the
    city's month (``city_timezone``) up to now. ``users`` counts distinct User-Name hashes,
    else device hashes; ``devices`` distinct MAC hashes. The hashes' key changes every
    month, so over a window spanning months both are the sum of the monthly counts: an
    upper bound (the same person counts once per month). The median is over the sessions
    that have ended (closed or lost), null when none has. A window of at most 400 days
    (MAX_SUMMARY_DAYS)."""
    until = now if end is None else end
    since = month_before(until, settings.city_tz) if start is None else start
    check_window(since, until, longest_s=MAX_SUMMARY_DAYS * 86_400.0)
    rows = sessions.summarise(
        session, scope, by=by, start=since, end=until, ap=ap, site=site, partner=partner
    )
    return summaries_public(rows, by=by, start=since, end=until)
