"""A citizen's problem report from the public page: no account, so every defence is here.

``GET /public/report-challenge`` hands out a proof-of-work challenge
(:mod:`citizens.proof`); ``POST /public/reports`` takes the report as
``multipart/form-data`` (the page's form, with one optional photo) and answers 202
``{id, site_name, known}``.

The order of the checks is the order of their cost, cheapest first, so a flood is shed
before it costs anything:

1. the whole-process limit (:class:`api.ratelimit.TokenBucket`,
   ``citizen_public_per_minute``), a dependency that runs before the body is read or a
   database session is used: 429 with Retry-After;
2. the body's type (415) and size (413): the declared length first, then counted while
   reading, photo at most ``citizen_photo_max_bytes`` and every other field small;
3. the fields (422, naming the field, never repeating what was sent: it may be
   personal); a filled honeypot (``website``, a field people never see) answers 202 with
   a made-up id and stores nothing, so a bot learns nothing;
4. the proof of work (403), each solved challenge good for one report;
5. the per-address and per-hotspot limits, counted in the database over
   ``citizen_rate_window_s`` (429 with Retry-After): the address is kept only as a month
   key's hash (:func:`inventory.citizen_reports.hash_address`); counted once before the
   photo is decoded and again under one lock with the insert
   (:func:`inventory.queries.serialise`), so reports sent at once cannot overshoot;
6. the photo re-encoded without its metadata (:func:`citizens.photos.sanitize`), then
   :func:`citizens.filing.file_report` in one transaction with its audit entry.

Nothing the citizen sent is ever shown on a public route: the answer names the hotspot
(public already) and whether it was known to be failing (the public map says so too).
The blocking work (database, image decoding) runs in the thread pool, so a burst of
reports never stalls the event loop that serves the rest of the API.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.access_models import ErrorPublic
from api.auth import client_address
from api.body import read_capped
from api.deps import BoxDep, MonthKeysDep, NowDep, SessionDep, SettingsDep, get_settings
from api.ratelimit import TokenBucket
from citizens import proof
from citizens.filing import FiledReport, NewReport, file_report
from citizens.matching import SiteMatch, nearest_site, picked_site
from citizens.phone import MAX_PHONE_TEXT, normalise_phone
from citizens.photos import Photo, PhotoTooLarge, sanitize
from core.access import AuditAction
from core.citizens import Channel, Problem
from core.settings import Settings
from inventory import audit
from inventory import citizen_reports as reports
from inventory.queries import serialise
from inventory.secretbox import SecretBox
from inventory.userkeys import MonthKeys

router = APIRouter(prefix="/public", tags=["public"])

#: The largest text a citizen may send (the page's limit too).
MAX_TEXT_CHARS = 1000
#: Every form field but the photo, as bytes: the text at 4 bytes a character, with room.
MAX_FIELD_BYTES = 4096
#: What a form may hold besides the photo: its fields, part headers and boundaries.
FORM_OVERHEAD_BYTES = 16 * 1024
MAX_FIELDS = 16
MAX_SITE_ID = 64
FIELDS = ("problem", "lat", "lon", "site_id", "text", "phone", "token", "nonce", "website")
#: The audit's actor for reports from the page (no account is behind them).
PUBLIC_ACTOR = "public report page"
NO_STORE = {"Cache-Control": "no-store"}


class ReportChallengePublic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str
    bits: int  # leading zero bits SHA-256("<token>:<nonce>") must have
    expires_at: float  # epoch seconds; ask again after it


class PublicReportAccepted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int  # the report's number ("R-<id>" on the page)
    site_name: str | None  # the hotspot it was matched to; None: none within reach
    known: bool  # the hotspot was already known to be failing


def _error(code: int, text: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"model": ErrorPublic, "description": text}
    if code == 429:
        entry["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    return entry


_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: _error(400, "The form could not be read (not multipart, or damaged)."),
    403: _error(403, "The proof of work is missing, wrong, expired or used already."),
    413: _error(413, "The body, the photo or a field is over its size limit."),
    415: _error(415, "Not multipart/form-data."),
    422: _error(422, "A field is invalid (the message names it), or the photo is refused."),
    429: _error(429, "Too many reports (from everyone, this address or about this hotspot)."),
}

# The schema states what the route takes exactly (a generated valid form passes every
# field check); the route itself is a little more lenient (any float in range).
_LAT = r"^-?(?:90(?:\.0{1,12})?|[0-8]?[0-9](?:\.[0-9]{1,12})?)$"
_LON = r"^-?(?:180(?:\.0{1,12})?|(?:1[0-7][0-9]|[0-9]?[0-9])(?:\.[0-9]{1,12})?)$"
_PHONE = r"^[ ()./-]*\+?(?:[ ()./-]*[0-9]){6,16}[ ()./-]*$"
_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["problem"],
    "properties": {
        "problem": {"type": "string", "enum": [p.value for p in Problem]},
        "lat": {
            "type": "string",
            "pattern": _LAT,
            "description": "Degrees, -90..90 (with lon, or site_id).",
        },
        "lon": {"type": "string", "pattern": _LON, "description": "Degrees, -180..180."},
        "site_id": {
            "type": "string",
            "maxLength": MAX_SITE_ID,
            "description": "The hotspot picked on the map (wins over lat/lon).",
        },
        "text": {"type": "string", "maxLength": MAX_TEXT_CHARS},
        "phone": {
            "type": "string",
            "maxLength": MAX_PHONE_TEXT,
            "pattern": _PHONE,
            "description": "For a call back: 6 to 16 digits, a leading + and - ( ) . / spaces.",
        },
        "token": {
            "type": "string",
            "maxLength": proof.MAX_TOKEN_LENGTH,
            "description": "From GET /public/report-challenge.",
        },
        "nonce": {
            "type": "string",
            "maxLength": proof.MAX_NONCE_LENGTH,
            "description": "SHA-256('<token>:<nonce>') starts with `bits` zero bits.",
        },
        # No constraint: whatever a bot puts there is answered alike (a honeypot).
        "website": {"type": "string", "description": "Leave empty."},
        "photo": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP."},
    },
}


# -- the process's own state -------------------------------------------------------------


@dataclass
class PublicReportState:
    """What the public report route keeps in memory, one per app (``app.state``)."""

    bucket: TokenBucket
    spent: proof.SpentTokens


_STATE_LOCK = threading.Lock()


def _state(request: Request) -> PublicReportState:
    app_state = request.app.state
    found = getattr(app_state, "public_reports", None)
    if found is None:
        with _STATE_LOCK:
            found = getattr(app_state, "public_reports", None)
            if found is None:
                settings = get_settings(request)
                found = PublicReportState(
                    bucket=TokenBucket(settings.citizen_public_per_minute, 60.0),
                    spent=proof.SpentTokens(),
                )
                app_state.public_reports = found
    assert isinstance(found, PublicReportState)
    return found


def shed_load(request: Request, now: NowDep) -> None:
    """The whole-process limit: runs before the body is read or a session is opened."""
    wait = _state(request).bucket.take(now)
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail="too many reports are arriving: try again in a minute",
            headers={"Retry-After": TokenBucket.retry_after(wait), **NO_STORE},
        )


# -- reading the form -------------------------------------------------------------------


def _refuse(status: int, message: str, **headers: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message, headers={**NO_STORE, **headers})


async def _parse_form(request: Request, body: bytes) -> FormData:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        request.headers,
        stream(),
        max_files=1,
        max_fields=MAX_FIELDS,
        max_part_size=MAX_FIELD_BYTES,
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        if "maximum size" in exc.message:
            raise _refuse(
                413, f"a form field is too large: at most {MAX_FIELD_BYTES} bytes"
            ) from None
        raise _refuse(400, f"the form cannot be read: {exc.message}") from None


@dataclass(frozen=True)
class _Fields:
    problem: Problem
    lat: float | None
    lon: float | None
    site_id: str | None
    text: str | None
    phone: str | None
    token: str | None
    nonce: str | None
    honeypot: bool
    photo: UploadFile | None


def _text(form: FormData, name: str) -> str | None:
    """A text field, None when absent or blank (a browser sends empty inputs too)."""
    values = form.getlist(name)
    if len(values) > 1:
        raise _refuse(422, f"{name}: given more than once")
    if not values:
        return None
    value = values[0]
    if not isinstance(value, str):
        raise _refuse(422, f"{name}: must be a text field, not a file")
    if "\x00" in value:
        raise _refuse(422, f"{name}: must not contain NUL")
    return value.strip() or None


def _degrees(form: FormData, name: str, bound: float) -> float | None:
    value = _text(form, name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise _refuse(422, f"{name}: not a number") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise _refuse(422, f"{name}: must be between -{bound:g} and {bound:g}")
    return number


def _fields(form: FormData) -> _Fields:
    """The form's fields checked one by one (messages name the field, never its value)."""
    given = _text(form, "problem")
    if given is None:
        raise _refuse(422, "problem: required (" + ", ".join(p.value for p in Problem) + ")")
    try:
        problem = Problem(given)
    except ValueError:
        raise _refuse(422, "problem: one of " + ", ".join(p.value for p in Problem)) from None
    lat, lon = _degrees(form, "lat", 90.0), _degrees(form, "lon", 180.0)
    site_id = _text(form, "site_id")
    if site_id is not None and len(site_id) > MAX_SITE_ID:
        raise _refuse(422, f"site_id: at most {MAX_SITE_ID} characters")
    text = _text(form, "text")
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise _refuse(422, f"text: at most {MAX_TEXT_CHARS} characters")
    phone = _text(form, "phone")
    if phone is not None:
        try:
            phone = normalise_phone(phone)
        except ValueError:
            # Our words, not the error's: nothing of the number comes back.
            raise _refuse(
                422, "phone: not a phone number (6 to 16 digits, + - ( ) . / and spaces)"
            ) from None
    photos = form.getlist("photo")
    if len(photos) > 1:
        raise _refuse(422, "photo: one photo at most")
    photo = photos[0] if photos else None
    if isinstance(photo, str):
        if photo.strip():
            raise _refuse(422, "photo: must be a file")
        photo = None
    if photo is not None and not photo.size:
        photo = None  # an empty file input
    return _Fields(
        problem=problem,
        lat=lat,
        lon=lon,
        site_id=site_id,
        text=text,
        phone=phone,
        token=_text(form, "token"),
        nonce=_text(form, "nonce"),
        honeypot=_text(form, "website") is not None,
        photo=photo,
    )


# -- the database work (in the thread pool) ---------------------------------------------


def _retry_after(settings: Settings) -> str:
    # The count does not say when its oldest report leaves the window: the whole window
    # is the safe answer (a citizen past the limit has reported enough for the hour).
    return str(max(1, math.ceil(settings.citizen_rate_window_s)))


def _site_of(session: Session, fields: _Fields) -> SiteMatch | None:
    """The hotspot the report is about: the one picked (ValueError if it is not an active
    hotspot), or the nearest whose radius reaches the point (None: none does)."""
    if fields.site_id is not None:
        site = picked_site(session, fields.site_id)
        if site is None:
            raise ValueError("not an active hotspot")
        return site
    assert fields.lat is not None and fields.lon is not None  # checked by the caller
    return nearest_site(session, fields.lat, fields.lon)


def _past_limits(
    session: Session, settings: Settings, address_hash: str, site_id: str | None, now: float
) -> None:
    """429 when the address, or the hotspot, has had its reports within the window."""
    since = now - settings.citizen_rate_window_s
    sent = reports.count_since(session, since=since, address_hash=address_hash, channel=Channel.WEB)
    if sent >= settings.citizen_reports_per_address:
        raise _refuse(
            429,
            "too many reports from this connection: please try again later",
            **{"Retry-After": _retry_after(settings)},
        )
    if site_id is None:
        return
    about = reports.count_since(session, since=since, site_id=site_id, channel=Channel.WEB)
    if about >= settings.citizen_reports_per_site:
        raise _refuse(
            429,
            "this hotspot has been reported many times already: the operation centre "
            "knows about it",
            **{"Retry-After": _retry_after(settings)},
        )


def _check_limits(
    session: Session,
    keys: MonthKeys,
    settings: Settings,
    fields: _Fields,
    address: str,
    now: float,
) -> str:
    """The address's hash (stored with the report) and a first look at the limits, before
    the photo is decoded: a flood past them costs no decoding. Ends its transaction (a
    month key made here is kept); :func:`_file` counts again under the lock."""
    address_hash = reports.hash_address(session, keys, address, now=now, tz=settings.city_tz)
    try:
        site = _site_of(session, fields)
    except ValueError:
        # Not repeated: whatever was typed there is not shown back.
        session.rollback()
        raise _refuse(422, "site_id: not an active hotspot (see GET /public/hotspots)") from None
    try:
        _past_limits(session, settings, address_hash, None if site is None else site.site_id, now)
    finally:
        session.commit()
    return address_hash


def _file(
    session: Session,
    box: SecretBox,
    settings: Settings,
    fields: _Fields,
    photo: Photo | None,
    address_hash: str,
    now: float,
) -> FiledReport:
    report = NewReport(
        problem=fields.problem,
        channel=Channel.WEB,
        lat=fields.lat,
        lon=fields.lon,
        site_id=fields.site_id,
        text=fields.text,
        phone=fields.phone,
        photo=photo,
        address_hash=address_hash,
    )
    # Public filings one at a time: counted and stored under one lock, so reports sent at
    # once cannot all pass the count (a filing takes milliseconds; the route's own limit
    # keeps the queue short).
    serialise(session, "citywifi:public-reports")
    try:
        site = _site_of(session, fields)
        _past_limits(session, settings, address_hash, None if site is None else site.site_id, now)
        filed = file_report(session, report, box=box, settings=settings, now=now)
    except HTTPException:
        session.rollback()
        raise
    except ValueError:
        # Checked before (the place, the picked site), so a race with an inventory change;
        # the error's words may quote what was sent, ours do not.
        session.rollback()
        raise _refuse(422, "the report cannot be filed: check site_id, or lat and lon") from None
    audit.record(
        session,
        AuditAction.CITIZEN_REPORT_FILED,
        actor=PUBLIC_ACTOR,
        target=str(filed.id),
        detail=f"{fields.problem.value} via the public page ({filed.match.value})",
        now=now,
    )
    session.commit()
    return filed


# -- the routes -------------------------------------------------------------------------


@router.get(
    "/report-challenge",
    response_model=ReportChallengePublic,
    summary="A proof-of-work challenge for one public report (no login)",
)
def report_challenge(
    response: Response, box: BoxDep, settings: SettingsDep, now: NowDep
) -> ReportChallengePublic:
    challenge = proof.issue(proof.pow_key(box), now, settings.citizen_pow_bits)
    response.headers.update(NO_STORE)
    return ReportChallengePublic(
        token=challenge.token, bits=challenge.bits, expires_at=challenge.expires_at
    )


@router.post(
    "/reports",
    status_code=202,
    response_model=PublicReportAccepted,
    summary="A citizen's problem report from the public page (no login; multipart form)",
    dependencies=[Depends(shed_load)],
    responses=_REFUSALS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": _FORM_SCHEMA}},
        }
    },
)
async def public_report(
    request: Request,
    response: Response,
    settings: SettingsDep,
    now: NowDep,
    session: SessionDep,
    box: BoxDep,
    keys: MonthKeysDep,
) -> PublicReportAccepted:
    response.headers.update(NO_STORE)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
        "multipart/form-data"
    ):
        raise _refuse(415, "send the report as multipart/form-data (the page's form)")
    limit = settings.citizen_photo_max_bytes + FORM_OVERHEAD_BYTES
    too_large = f"the report is too large: at most {limit} bytes"
    form = await _parse_form(request, await read_capped(request, limit, too_large, NO_STORE))
    try:
        fields = _fields(form)
        if fields.honeypot:
            # A field people never see was filled: a bot. It is told what it hopes to hear.
            return PublicReportAccepted(
                id=10_000 + secrets.randbelow(90_000), site_name=None, known=False
            )
        bits = settings.citizen_pow_bits
        if bits > 0:
            if fields.token is None or fields.nonce is None:
                raise _refuse(403, "proof of work missing: answer GET /public/report-challenge")
            key = proof.pow_key(box)
            try:
                proof.verify(key, fields.token, fields.nonce, now, bits)
                _state(request).spent.spend(fields.token, now)
            except ValueError as exc:
                raise _refuse(403, str(exc)) from None
        if fields.site_id is None and (fields.lat is None or fields.lon is None):
            raise _refuse(422, "lat and lon, or site_id: say where the problem is")
        address = client_address(request) or "unknown"
        address_hash = await run_in_threadpool(
            _check_limits, session, keys, settings, fields, address, now
        )
        photo = None
        if fields.photo is not None:
            photo = await _sanitized(fields.photo, settings)
        filed = await run_in_threadpool(
            _file, session, box, settings, fields, photo, address_hash, now
        )
    finally:
        await form.close()
    return PublicReportAccepted(id=filed.id, site_name=filed.site_name, known=filed.known)


async def _sanitized(upload: UploadFile, settings: Settings) -> Photo:
    data = await upload.read(settings.citizen_photo_max_bytes + 1)
    try:
        return await run_in_threadpool(
            sanitize,
            data,
            max_bytes=settings.citizen_photo_max_bytes,
            max_side_px=settings.citizen_photo_max_side_px,
        )
    except PhotoTooLarge as exc:
        raise _refuse(413, str(exc)) from None
    except ValueError as exc:
        raise _refuse(422, str(exc)) from None


__all__ = [
    "PublicReportAccepted",
    "PublicReportState",
    "ReportChallengePublic",
    "router",
    "shed_load",
]
