"""Provision a running Grafana with citywifi's folder, data source and dashboards, through
its HTTP API (grafana-client), idempotently.

Why through the API and not only the provisioning files of :func:`export`: a hosted or
shared Grafana is often not ours to put files on, and an operator wants one command that
makes the dashboards appear. Why idempotent: the command is run again after every upgrade
(new panels) or from a deployment script on every run; a second push must neither make a
duplicate nor write a new version of what has not changed. So each object is read first
(by its uid, which is stable: the folder "citywifi", the data source and dashboard uids of
:mod:`dashboards.grafana`) and written only when it is missing or differs:

- the folder: created with its uid, retitled (``overwrite``) if its title differs;
- the data source: created (``POST /api/datasources``) or updated by uid
  (``PUT /api/datasources/uid/<uid>``) when a field we set differs (fields Grafana adds,
  such as ``id`` or ``version``, are not ours and are not compared);
- each dashboard: posted to ``/api/dashboards/db`` with ``overwrite: true`` and the
  folder's uid when new, when its model differs from the stored one (ignoring ``id`` and
  ``version``, which Grafana owns) or when it sits in another folder.

Errors are one line naming Grafana's address (password redacted) and the cause; the
token is never in a message: the messages are built here from status codes and Grafana's
``message`` field, and any echo of the token is masked all the same.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from core.errors import AccessError, CitywifiError, ConfigError
from core.settings import redact_url
from dashboards.grafana.export import FOLDER as FOLDER_UID

if TYPE_CHECKING:
    from dashboards.grafana import Backend

__all__ = ["FOLDER_UID", "Change", "PushReport", "push"]

T = TypeVar("T")

Change = Literal["created", "updated", "unchanged"]

#: Dashboard fields Grafana assigns on save: never ours to compare or to send.
_GRAFANA_OWNED = frozenset({"id", "version"})

#: Longest piece of Grafana's own message quoted in an error (it is one line of ours).
_MAX_QUOTE = 200


@dataclass(frozen=True)
class PushReport:
    """What a push did, in the folder :data:`FOLDER_UID` (the one the exported
    provisioning files name too, so both ways put the dashboards in the same place).

    ``dashboards`` lists every dashboard pushed (uids, in the order given); ``created``
    and ``updated`` the ones written; the rest were already as they should be.
    ``folder`` and ``datasource`` say what happened to those two."""

    folder_uid: str
    datasource_uid: str
    dashboards: tuple[str, ...]
    created: tuple[str, ...]
    updated: tuple[str, ...]
    folder: Change = "unchanged"
    datasource: Change = "unchanged"

    @property
    def unchanged(self) -> tuple[str, ...]:
        written = set(self.created) | set(self.updated)
        return tuple(uid for uid in self.dashboards if uid not in written)

    @property
    def changed(self) -> bool:
        """Whether the push wrote anything at all (False: Grafana was already right)."""
        untouched = self.folder == self.datasource == "unchanged"
        return bool(self.created or self.updated) or not untouched


def push(
    *,
    grafana_url: str,
    token: str,
    backend: Backend,
    dashboards: Sequence[dict[str, Any]],
    datasource: dict[str, Any],
    folder_title: str = "citywifi",
    timeout_s: float = 10.0,
) -> PushReport:
    """Make Grafana at ``grafana_url`` hold the folder, ``datasource`` and ``dashboards``
    (as built for ``backend``), writing only what is missing or differs.

    Raises ConfigError for a bad URL, an unreachable or failing Grafana, or a payload it
    refuses; AccessError when it refuses the token (401) or its rights (403)."""
    _check_payload(backend, dashboards, datasource)
    if not token:
        raise AccessError("no Grafana token given (a service account token is needed)")
    where = redact_url(grafana_url.rstrip("/"))
    api = _client(grafana_url, token, timeout_s)
    call = _Caller(api, where, token, timeout_s)
    folder = _ensure_folder(call, folder_title)
    source = _ensure_datasource(call, datasource)
    created: list[str] = []
    updated: list[str] = []
    for dashboard in dashboards:
        change = _ensure_dashboard(call, dashboard)
        if change == "created":
            created.append(dashboard["uid"])
        elif change == "updated":
            updated.append(dashboard["uid"])
    return PushReport(
        folder_uid=FOLDER_UID,
        datasource_uid=str(datasource["uid"]),
        dashboards=tuple(str(d["uid"]) for d in dashboards),
        created=tuple(created),
        updated=tuple(updated),
        folder=folder,
        datasource=source,
    )


def _check_payload(
    backend: Backend, dashboards: Sequence[dict[str, Any]], datasource: dict[str, Any]
) -> None:
    """Refuse, before any request, what Grafana would refuse half-way through (leaving a
    folder without its dashboards): a data source without its identity, a dashboard
    without uid or title, one uid twice."""
    missing = [key for key in ("uid", "name", "type", "url", "access") if not datasource.get(key)]
    if missing:
        raise ConfigError(f"the {backend} data source lacks {', '.join(missing)}")
    seen: set[str] = set()
    for index, dashboard in enumerate(dashboards):
        uid, title = dashboard.get("uid"), dashboard.get("title")
        if not uid or not title:
            raise ConfigError(f"{backend} dashboard #{index + 1} lacks a uid or a title")
        if uid in seen:
            raise ConfigError(f"{backend} dashboard uid {uid!r} given twice")
        seen.add(uid)


def _client(grafana_url: str, token: str, timeout_s: float) -> Any:
    """A grafana-client API object for ``grafana_url`` (http or https, with an optional
    path prefix when Grafana is served under one), authenticating with the bearer token.

    Built from the URL's parts rather than ``GrafanaApi.from_url``, which would glue a
    path prefix to "api" without a slash and take a password in the URL as basic auth.
    Typed ``Any``: grafana-client ships ``py.typed`` but leaves its methods unannotated,
    so every call would be an untyped call to mypy; what we read back is checked here
    (``.get`` on the JSON answers), not by types."""
    from grafana_client.api import GrafanaApi

    parts = urlsplit(grafana_url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ConfigError(
            f"the Grafana URL must look like http(s)://host[:port][/prefix], "
            f"got {redact_url(grafana_url)!r}"
        )
    prefix = parts.path.strip("/")
    return GrafanaApi(
        auth=token,  # a str is sent as "Authorization: Bearer <token>"
        host=parts.hostname,
        port=port,
        url_path_prefix=f"{prefix}/" if prefix else "",
        protocol=parts.scheme,
        timeout=timeout_s,
    )


class _Caller:
    """Runs one grafana-client call and turns what can go wrong into one line of ours."""

    def __init__(self, api: Any, where: str, token: str, timeout_s: float) -> None:
        self.api = api
        self.where = where
        self._token = token
        self._timeout_s = timeout_s

    def __call__(self, what: str, fn: Callable[[Any], T]) -> T:
        try:
            return fn(self.api)
        except Exception as exc:
            mapped = self._mapped(what, exc)
            if mapped is None:
                raise  # not a failure of Grafana or the network: a bug, keep its traceback
            raise mapped from None

    def get_or_none(self, what: str, fn: Callable[[Any], Any]) -> dict[str, Any] | None:
        """``fn``'s answer (a JSON object), or None when Grafana says 404 (the object is
        not there). Anything else than an object (a web page: grafana-client hands text
        back as it is) means the URL is not Grafana's API."""
        from grafana_client.client import GrafanaClientError

        try:
            found = fn(self.api)
        except Exception as exc:
            if isinstance(exc, GrafanaClientError) and exc.status_code == 404:
                return None
            mapped = self._mapped(what, exc)
            if mapped is None:
                raise
            raise mapped from None
        if not isinstance(found, dict):
            raise ConfigError(self._not_grafana(what))
        return found

    def _not_grafana(self, what: str) -> str:
        return (
            f"Grafana at {self.where} answered {what} with something that is not its "
            "API's JSON: is the URL Grafana's?"
        )

    def _mapped(self, what: str, exc: Exception) -> CitywifiError | None:
        """Our one-line error for what went wrong in ``what``, or None if ``exc`` is not
        an answer or a failure of Grafana's (``from None`` at the raise: the library's
        chain repeats the URL and its own internals, nothing the reader needs)."""
        from grafana_client.client import (
            GrafanaClientError,
            GrafanaException,
            GrafanaServerError,
        )
        from requests.exceptions import RequestException, Timeout

        if isinstance(exc, Timeout):
            return ConfigError(
                f"Grafana at {self.where} did not answer within {self._timeout_s:g} s ({what})"
            )
        if isinstance(exc, GrafanaClientError):
            return self._refused(what, exc.status_code, exc.response)
        if isinstance(exc, GrafanaServerError):
            return ConfigError(
                f"Grafana at {self.where} failed to {what}: HTTP {exc.status_code} "
                f"{self._quote(exc.response)}".rstrip()
            )
        if isinstance(exc, GrafanaException | RequestException):  # refused, reset, DNS, TLS
            return ConfigError(
                f"cannot reach Grafana at {self.where} ({what}): {_network_cause(exc)}"
            )
        if isinstance(exc, ValueError):  # an answer that is not JSON: not Grafana's API
            return ConfigError(self._not_grafana(what))
        return None

    def _refused(self, what: str, status: int, response: object) -> CitywifiError:
        quoted = self._quote(response)
        if status == 401:
            return AccessError(
                f"Grafana at {self.where} refused the token (HTTP 401) {quoted}".rstrip()
            )
        if status == 403:
            return AccessError(
                f"Grafana at {self.where} does not let this token {what} (HTTP 403; it "
                f"needs the Editor or Admin role) {quoted}".rstrip()
            )
        return ConfigError(f"Grafana at {self.where} refused to {what}: HTTP {status} {quoted}")

    def _quote(self, response: object) -> str:
        """Grafana's ``message`` (or text) as a short quoted one-liner, token masked."""
        if isinstance(response, dict):
            text = str(response.get("message") or "")
        else:
            text = str(response or "")
        text = " ".join(text.split())
        if self._token:
            text = text.replace(self._token, "***")
        if not text:
            return ""
        if len(text) > _MAX_QUOTE:
            text = text[: _MAX_QUOTE - 3] + "..."
        return f'"{text}"'


def _network_cause(exc: BaseException) -> str:
    """Why the connection failed, in a few words (the library's text repeats the URL,
    the pool and the retry count)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "unknown host"
        if isinstance(current, TimeoutError | socket.timeout):
            return "timed out"
        current = current.__cause__ or current.__context__
    text = str(exc).lower()
    for needle, cause in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("certificate", "TLS certificate not accepted"),
        ("timed out", "timed out"),
        ("reset", "connection reset"),
    ):
        if needle in text:
            return cause
    return type(exc).__name__


def _ensure_folder(call: _Caller, title: str) -> Change:
    found = call.get_or_none(
        f"read folder {FOLDER_UID}", lambda api: api.folder.get_folder(FOLDER_UID)
    )
    if found is None:
        call(
            f"create folder {FOLDER_UID}",
            lambda api: api.folder.create_folder(title, uid=FOLDER_UID),
        )
        return "created"
    if found.get("title") == title:
        return "unchanged"
    call(
        f"retitle folder {FOLDER_UID}",
        lambda api: api.folder.update_folder(FOLDER_UID, title=title, overwrite=True),
    )
    return "updated"


def _ensure_datasource(call: _Caller, datasource: dict[str, Any]) -> Change:
    uid = str(datasource["uid"])
    found = call.get_or_none(
        f"read data source {uid}", lambda api: api.datasource.get_datasource_by_uid(uid)
    )
    if found is None:
        call(f"create data source {uid}", lambda api: api.datasource.create_datasource(datasource))
        return "created"
    if all(found.get(key) == value for key, value in datasource.items()):
        return "unchanged"
    call(
        f"update data source {uid}",
        lambda api: api.datasource.update_datasource_by_uid(uid, datasource),
    )
    return "updated"


def _ensure_dashboard(call: _Caller, dashboard: dict[str, Any]) -> Change:
    uid = str(dashboard["uid"])
    ours = _comparable(dashboard)
    found = call.get_or_none(f"read dashboard {uid}", lambda api: api.dashboard.get_dashboard(uid))
    if found is not None:
        stored = _comparable(found.get("dashboard") or {})
        folder = (found.get("meta") or {}).get("folderUid")
        if stored == ours and folder == FOLDER_UID:
            return "unchanged"
    body = {
        "dashboard": {**ours, "id": None},
        "folderUid": FOLDER_UID,
        "overwrite": True,
        "message": "citywifi dashboards push",
    }
    call(f"save dashboard {uid}", lambda api: api.dashboard.update_dashboard(body))
    return "created" if found is None else "updated"


def _comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    """The dashboard model without the fields Grafana assigns on save."""
    return {key: value for key, value in dashboard.items() if key not in _GRAFANA_OWNED}
