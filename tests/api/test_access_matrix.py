"""Every operation of the OpenAPI schema against every caller: who gets in, and what a
partner can learn.

The rules come from the code, not from a list kept here: the permission a route needs
is read from the ``require(...)`` dependency it declares, and whether a role has it from
``core.access.ROLE_PERMISSIONS``. So a new route is checked the day it is added, and a
route added without a permission fails :func:`test_every_operation_declares_a_permission`.

The route-by-caller table (status codes) is written to ``access-matrix.md`` in pytest's
base temp directory and printed (``-s`` shows it).
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from core.access import ROLE_PERMISSIONS, Permission, Role
from core.incidents import IncidentClass
from inventory import incidents
from inventory.models import Partner, ReportPhoto
from tests.api.city import PASSWORDS, USERS

# Operations anyone may call, and operations any signed-in user may call whatever its role.
PUBLIC = {
    ("GET", "/healthz"), ("POST", "/api/v1/auth/login"), ("GET", "/public/hotspots"),
    ("GET", "/public/report-challenge"), ("POST", "/public/reports"),
}  # fmt: skip
# Public operations every caller gets the same refusal from, as the matrix calls them: the
# report takes a multipart form, and the matrix sends JSON (filed for real in
# tests/api/test_public_reports.py).
PUBLIC_REFUSED = {("POST", "/public/reports"): 415}
ANY_PRINCIPAL = {("GET", "/api/v1/auth/me"), ("POST", "/api/v1/auth/logout")}

ANONYMOUS, BAD_TOKEN = "anonymous", "bad token"
CALLERS = (ANONYMOUS, BAD_TOKEN, *USERS)
TARGET = "matrix-target"  # the user the users:manage routes act on
MISSING_ID = "zz-nowhere"
MISSING_INCIDENT = "999999"  # an integer path id: a text one would be a 422, not a 404
MAINTENANCE = "/api/v1/maintenance"
REPORTS = "/api/v1/reports/usage"
WORK_ORDERS = "/api/v1/work-orders"
CITIZEN_REPORTS = "/api/v1/citizen-reports"
WORK_TEAMS = "/api/v1/field-teams"


def tiny_png() -> str:
    """A 2 by 2 PNG, base64: a photo the work-order photo route accepts."""
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 30)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def success(self) -> int:
        return min(int(code) for code in self.spec["responses"] if code.startswith("2"))

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]


def operations(app: FastAPI) -> list[Operation]:
    """The schema's operations, in an order where each leaves the next one's target usable:
    reads, then creations, token revocation, disable then enable, and logout last."""
    found = [
        Operation(method.upper(), path, spec)
        for path, item in app.openapi()["paths"].items()
        for method, spec in item.items()
    ]

    def rank(op: Operation) -> tuple[int, str]:
        order = ("GET", "POST", "PUT", "PATCH", "DELETE")
        position = order.index(op.method) if op.method in order else len(order)
        for n, tail in enumerate(("/disable", "/enable", "/logout"), start=1):
            if op.path.endswith(tail):
                position = len(order) + n
        return position, op.path

    return sorted(found, key=rank)


def _permissions_of(dependant: Dependant) -> Iterator[Permission]:
    """The permissions ``api.auth.require`` put on a route (at any depth of its
    dependencies), read from the ``permission`` attribute it gives its check."""
    for sub in dependant.dependencies:
        given = getattr(sub.call, "permission", None)
        if isinstance(given, Permission):
            yield given
        yield from _permissions_of(sub)


def declared_permissions(app: FastAPI) -> dict[tuple[str, str], frozenset[Permission]]:
    declared: dict[tuple[str, str], frozenset[Permission]] = {}
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not route.methods:
            continue
        for method in route.methods:
            # As OpenAPI names the path: without a convertor ("{report_id:int}").
            path = re.sub(r":\w+\}", "}", str(route.path))
            declared[(method, path)] = frozenset(_permissions_of(dependant))
    return declared


def expected_status(op: Operation, caller: str, needs: frozenset[Permission]) -> int:
    if op.key in PUBLIC:
        return PUBLIC_REFUSED.get(op.key, op.success)
    if caller in (ANONYMOUS, BAD_TOKEN):
        return 401
    role, _partner = USERS[caller]
    return op.success if needs <= ROLE_PERMISSIONS[role] else 403


@dataclass
class City:
    """What the fixture city holds, as the admin sees it: the basis of what each partner
    may and may not see."""

    sites: dict[str, dict[str, Any]]
    aps: dict[str, dict[str, Any]]
    partner_names: dict[str, str]
    incident_sites: dict[int, set[str]]  # incident id -> the sites of its members

    def partner_of_ap(self, ap_id: str) -> str | None:
        partner: str | None = self.sites[self.aps[ap_id]["site"]]["partner"]
        return partner

    def own_site(self, partner: str | None) -> str:
        return min(s for s, site in self.sites.items() if partner in (None, site["partner"]))

    def own_ap(self, partner: str | None) -> str:
        return min(a for a in self.aps if partner in (None, self.partner_of_ap(a)))

    def own_incident(self, partner: str | None) -> str:
        """An incident the partner sees: one with a member at one of its sites."""
        return str(
            min(
                n
                for n, sites in self.incident_sites.items()
                if partner is None or partner in {self.sites[s]["partner"] for s in sites}
            )
        )

    def foreign_incident(self, partner: str) -> str:
        """An incident with no member at the partner's sites."""
        return str(
            min(
                n
                for n, sites in self.incident_sites.items()
                if partner not in {self.sites[s]["partner"] for s in sites}
            )
        )

    def foreign_site(self, partner: str) -> str:
        return min(s for s, site in self.sites.items() if site["partner"] != partner)

    def foreign_ap(self, partner: str) -> str:
        return min(a for a in self.aps if self.partner_of_ap(a) != partner)

    def foreign_markers(self, partner: str) -> dict[str, str]:
        """Every id, name and host of what is not ``partner``'s → what it is."""
        markers: dict[str, str] = {}
        for site_id, site in self.sites.items():
            if site["partner"] != partner:
                markers[site_id] = f"site {site_id}"
                markers[site["name"]] = f"name of site {site_id}"
        for ap_id, ap in self.aps.items():
            if self.partner_of_ap(ap_id) != partner:
                markers[ap_id] = f"AP {ap_id}"
                markers[ap["name"]] = f"name of AP {ap_id}"
                markers[ap["host"]] = f"host of AP {ap_id}"
        for other, name in self.partner_names.items():
            if other != partner:
                markers[other] = f"partner {other}"
                markers[name] = f"name of partner {other}"
        return markers


@pytest.fixture
def city(client: TestClient) -> City:
    sites = client.get("/api/v1/sites", params={"limit": 1000}).json()["data"]
    aps = client.get("/api/v1/aps", params={"limit": 1000}).json()["data"]
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        partners = {p.id: p.name for p in session.scalars(select(Partner))}
    incident_sites = {}
    for incident in client.get("/api/v1/incidents", params={"limit": 1000}).json()["data"]:
        detail = client.get(f"/api/v1/incidents/{incident['id']}").json()
        incident_sites[incident["id"]] = {member["site_id"] for member in detail["aps"]}
    return City({s["id"]: s for s in sites}, {a["id"]: a for a in aps}, partners, incident_sites)


@pytest.fixture
def callers(client: TestClient, tokens: dict[str, str]) -> dict[str, TestClient]:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    found = {name: TestClient(client.app, headers=bearer(tokens[name])) for name in USERS}
    found[ANONYMOUS] = TestClient(client.app)
    found[BAD_TOKEN] = TestClient(client.app, headers=bearer("cw_not-a-token"))
    return found


class Requests:
    """Builds a valid request of any operation for a caller: real ids of the fixture city
    (the caller's own, so that "allowed" means 2xx), and the users and tokens the user
    routes act on, made by the admin as needed."""

    QUERY: ClassVar[dict[str, str]] = {"metric": "clients"}

    def __init__(self, admin: TestClient, city: City) -> None:
        self.admin, self.city = admin, city
        made = admin.post("/api/v1/users", json={"name": TARGET, "role": "planner"})
        assert made.status_code == 201, made.text
        self.windows: dict[str, str] = {}  # site -> a window on it, made by the admin
        self.order: str | None = None  # a work order to read, made by the admin
        self.team_made = False
        self.report: str | None = None  # a citizen report with a photo, filed by the admin

    def window(self, site: str, *, fresh: bool = False) -> str:
        """A maintenance window on ``site`` (running now, by the app's real clock); a
        ``fresh`` one, not yet started, for a change that may delete it."""
        if fresh or site not in self.windows:
            start = time.time() + (3600 if fresh else -60)
            body = {"scope_kind": "site", "scope_id": site, "starts_at": start,
                    "ends_at": start + 7200, "reason": "matrix"}  # fmt: skip
            made = self.admin.post(MAINTENANCE, json=body)
            assert made.status_code == 201, made.text
            if fresh:
                return str(made.json()["id"])
            self.windows[site] = str(made.json()["id"])
        return self.windows[site]

    def team(self) -> str:
        """A field team whose member is the technician "field" (made once, by the admin)."""
        if self.order is None and not self.team_made:
            body = {"id": "t-matrix", "name": "Matrix", "responsible": "noc"}
            made = self.admin.post(WORK_TEAMS, json=body)
            assert made.status_code == 201, made.text
            put = self.admin.put(WORK_TEAMS + "/t-matrix/members", json={"members": ["field"]})
            assert put.status_code == 200, put.text
            self.team_made = True
        return "t-matrix"

    def open_incident(self) -> int:
        """A fresh open incident at s-school, for a work order to be made from."""
        factory = self.admin.app.state.session_factory  # type: ignore[attr-defined]
        with factory() as session:
            made = incidents.open_incident(
                session, kind=IncidentClass.CITIZEN_REPORTED, scope_id="s-school",
                district_id="d-south", aps={"ap-04": "s-school"}, explanation="matrix",
                now=time.time(),
            )  # fmt: skip
            session.commit()
        return made

    def work_order(self, *, fresh: bool = False) -> str:
        """A work order of the team of "field", assigned; the one read (not ``fresh``)
        has a photo."""
        if fresh or self.order is None:
            body = {"incident_id": self.open_incident(), "team_id": self.team()}
            made = self.admin.post(WORK_ORDERS, json=body)
            assert made.status_code == 201, made.text
            order = str(made.json()["id"])
            if fresh:
                return order
            photo = self.admin.put(f"{WORK_ORDERS}/{order}/photo", json={"data": tiny_png()})
            assert photo.status_code == 200, photo.text
            self.order = order
        return self.order

    def citizen_report(self) -> str:
        """A citizen report with a photo (the API files none: added in the database), filed
        once: read, its photo shown, closed (closing again answers the same)."""
        if self.report is None:
            made = self.admin.post(CITIZEN_REPORTS, json={"site_id": "s-park", "problem": "slow"})
            assert made.status_code == 201, made.text
            self.report = str(made.json()["id"])
            data = base64.b64decode(tiny_png())
            with self.admin.app.state.session_factory() as session:  # type: ignore[attr-defined]
                session.add(ReportPhoto(report_id=int(self.report), content_type="image/png",
                                        width=2, height=2, data=data))  # fmt: skip
                session.commit()
        return self.report

    def path_value(self, name: str, caller: str, method: str = "GET") -> str:
        partner = USERS[caller][1] if caller in USERS else None
        if name == "incident_id" and method != "GET":
            # A change needs an incident it is allowed on: a fresh open one each time (once
            # none is left, a caller allowed to change it would see a 409 and fail).
            listed = self.admin.get("/api/v1/incidents", params={"state": "open"}).json()
            if listed["data"]:
                return str(min(incident["id"] for incident in listed["data"]))
        if name == "incident_id":
            return self.city.own_incident(partner)
        if name == "window_id":
            return self.window(self.city.own_site(partner), fresh=method != "GET")
        if name == "site_id":
            return self.city.own_site(partner)
        if name == "ap_id":
            return self.city.own_ap(partner)
        if name == "name":
            return TARGET
        if name == "order_id":
            return self.work_order(fresh=method != "GET")
        if name == "team_id":
            return self.team()
        if name == "report_id":
            return self.citizen_report()
        if name == "token_id":
            made = self.admin.post(f"/api/v1/users/{TARGET}/tokens", json={"label": "matrix"})
            assert made.status_code == 201, made.text
            return str(made.json()["id"])
        raise AssertionError(f"no value for path parameter {name!r}: add one to Requests")

    def body(self, op: Operation, caller: str) -> Any:
        if op.key == ("POST", "/api/v1/auth/login"):
            name = caller if caller in USERS else "planner"
            return {"name": name, "password": PASSWORDS[name]}
        if op.key == ("POST", "/api/v1/users"):
            slug = re.sub(r"[^a-z0-9]", "-", caller)
            return {"name": f"made-by-{slug}", "role": "planner"}
        if op.key == ("POST", "/api/v1/users/{name}/tokens"):
            return {"label": f"by {caller}"}
        if op.key == ("POST", "/api/v1/incidents/{incident_id}/notes"):
            return {"note": f"note by {caller}"}
        if op.key == ("POST", MAINTENANCE):
            start = time.time() + 3600
            site = self.city.own_site(USERS[caller][1] if caller in USERS else None)
            return {"scope_kind": "site", "scope_id": site, "starts_at": start,
                    "ends_at": start + 3600, "reason": f"by {caller}"}  # fmt: skip
        if op.key == ("PATCH", MAINTENANCE + "/{window_id}"):
            return {"reason": f"changed by {caller}"}
        if op.key == ("POST", WORK_TEAMS):
            return {"id": "t-by-" + re.sub(r"[^a-z0-9]", "-", caller), "name": caller,
                    "responsible": "noc"}  # fmt: skip
        if op.key == ("PUT", WORK_TEAMS + "/{team_id}/members"):
            return {"members": ["field"]}
        if op.key == ("POST", WORK_ORDERS):
            return {"incident_id": self.open_incident(), "team_id": self.team()}
        if op.key == ("POST", WORK_ORDERS + "/{order_id}/assign"):
            return {"team_id": self.team()}
        if op.key == ("POST", WORK_ORDERS + "/{order_id}/state"):
            return {"state": "on_site"}
        if op.key == ("POST", WORK_ORDERS + "/{order_id}/notes"):
            return {"note": f"note by {caller}"}
        if op.key == ("PUT", WORK_ORDERS + "/{order_id}/photo"):
            return {"data": tiny_png()}
        if op.key == ("POST", "/public/reports"):
            return {"problem": "slow"}  # JSON, not the form: see PUBLIC_REFUSED
        if op.key == ("POST", "/api/v1/coverage/what-if"):
            return {"fail": [self.city.own_site(USERS[caller][1] if caller in USERS else None)]}
        if op.key == ("POST", CITIZEN_REPORTS):
            return {"site_id": "s-park", "problem": "slow"}
        if op.key == ("POST", CITIZEN_REPORTS + "/import"):
            return [{"ref": f"matrix by {caller}", "site": "s-park", "problem": "slow"}]
        if op.spec.get("requestBody", {}).get("required"):
            raise AssertionError(f"no body for {op.method} {op.path}: add one to Requests")
        return None

    def url(self, op: Operation, caller: str, **override: str) -> tuple[str, dict[str, str]]:
        path = op.path
        for param in op.parameters("path"):
            name = param["name"]
            value = override.get(name) or self.path_value(name, caller, op.method)
            path = path.replace("{" + name + "}", value)
        query = {}
        for param in op.parameters("query"):
            if param.get("required"):
                if param["name"] not in self.QUERY:
                    raise AssertionError(f"no value for query {param['name']!r} of {op.path}")
                query[param["name"]] = self.QUERY[param["name"]]
        return path, query | self.rule_query(op, caller)

    def rule_query(self, op: Operation, caller: str) -> dict[str, str]:
        """What an operation needs by a rule OpenAPI cannot state: a report needs a period,
        and staff name its partner (a partner's token goes without: its own, by default)."""
        if op.key == ("GET", REPORTS):
            partner = USERS[caller][1] if caller in USERS else None
            named = {} if partner is not None else {"partner": min(self.city.partner_names)}
            return {"month": "2025-12", **named}
        return {}


def send(client: TestClient, method: str, path: str, query: dict[str, str], body: Any) -> Any:
    client.cookies.clear()  # a login through this client must not carry into the next call
    return client.request(method, path, params=query, json=body)


def table_markdown(ops: list[Operation], rows: dict[tuple[str, str], dict[str, str]]) -> str:
    lines = [
        "| operation | permission | " + " | ".join(CALLERS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in CALLERS) + " |",
    ]
    for op in ops:
        row = rows[op.key]
        lines.append(
            f"| {op.method} {op.path} | {row['permission']} | "
            + " | ".join(row[c] for c in CALLERS)
            + " |"
        )
    return "\n".join(lines) + "\n"


def rows_of(body: dict[str, Any]) -> list[Any]:
    """A list answer's rows: ``data``, or a GeoJSON FeatureCollection's ``features``."""
    rows = body["features"] if body.get("type") == "FeatureCollection" else body["data"]
    assert isinstance(rows, list)
    return rows


def test_every_operation_declares_a_permission(client: TestClient) -> None:
    """Public and any-principal operations declare none; every other one exactly one."""
    app: FastAPI = client.app  # type: ignore[assignment]
    declared = declared_permissions(app)
    ops = operations(app)
    assert {op.key for op in ops} >= PUBLIC | ANY_PRINCIPAL
    for op in ops:
        needs = declared[op.key]
        if op.key in PUBLIC | ANY_PRINCIPAL:
            assert not needs, f"{op.method} {op.path} is meant for everyone yet needs {needs}"
        else:
            assert len(needs) == 1, f"{op.method} {op.path} declares {sorted(needs) or 'none'}"
        responses = op.spec["responses"]
        if op.key not in PUBLIC:
            assert "401" in responses, f"{op.method} {op.path}: 401 not in its responses"
        if needs:
            assert "403" in responses, f"{op.method} {op.path}: 403 not in its responses"


def test_every_operation_for_every_caller(
    client: TestClient,
    callers: dict[str, TestClient],
    city: City,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    declared = declared_permissions(app)
    requests = Requests(client, city)
    ops = operations(app)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    wrong: list[str] = []
    for op in ops:
        needs = declared[op.key]
        row = {"permission": ", ".join(sorted(needs)) or ("public" if op.key in PUBLIC else "-")}
        for caller in CALLERS:
            path, query = requests.url(op, caller)
            response = send(callers[caller], op.method, path, query, requests.body(op, caller))
            want = expected_status(op, caller, needs)
            row[caller] = str(response.status_code)
            if response.status_code != want:
                row[caller] += f" (want {want})"
                wrong.append(f"{op.method} {path} as {caller}: {response.status_code} != {want}")
            elif want == 401:
                assert response.headers.get("www-authenticate") == "Bearer", path
        rows[op.key] = row
    table = table_markdown(ops, rows)
    artifact = tmp_path_factory.getbasetemp() / "access-matrix.md"
    artifact.write_text(table)
    print(f"\nroute by caller (status codes; also in {artifact}):\n{table}")
    assert not wrong, "\n".join(wrong)


def _leaks(text: str, markers: dict[str, str], echoed: str | None = None) -> list[str]:
    found = []
    for marker, what in markers.items():
        if marker == echoed:  # a 404 naming the id the caller itself sent tells it nothing
            continue
        if re.search(rf"(?<![\w.-]){re.escape(marker)}(?![\w-]|\.\d)", text):
            found.append(what)
    return found


@pytest.mark.parametrize("partner_user", [n for n, (r, _) in USERS.items() if r is Role.PARTNER])
def test_a_partner_sees_nothing_of_another(
    partner_user: str, client: TestClient, callers: dict[str, TestClient], city: City
) -> None:
    """Every GET operation as the partner, with its own ids, another's, and the list
    filters naming another's: no id, name or host of what is not its own in any body;
    another's id answers exactly like an id that does not exist; and every count is its
    own (what the admin counts for that partner)."""
    app: FastAPI = client.app  # type: ignore[assignment]
    partner = USERS[partner_user][1]
    assert partner is not None
    me = callers[partner_user]
    markers = city.foreign_markers(partner)
    requests = Requests(client, city)
    leaks: list[str] = []
    calls = 0

    def check(path: str, query: dict[str, str], echoed: str | None = None) -> Any:
        nonlocal calls
        calls += 1
        response = send(me, "GET", path, query, None)
        found = _leaks(response.text, markers, echoed)
        if found:
            leaks.append(f"GET {path} {query or ''}: {', '.join(found)}")
        return response

    foreign = {
        "site_id": city.foreign_site(partner),
        "ap_id": city.foreign_ap(partner),
        "incident_id": city.foreign_incident(partner),
        "window_id": requests.window(city.foreign_site(partner)),
    }
    missing_ids = {"incident_id": MISSING_INCIDENT, "window_id": MISSING_INCIDENT}
    for op in operations(app):
        if op.method != "GET" or op.key in PUBLIC:
            continue  # public answers are the same for everyone, on purpose (test_public.py)
        path, query = requests.url(op, partner_user)
        own = check(path, query)
        path_params = {p["name"] for p in op.parameters("path")}
        if path_params & foreign.keys() and own.status_code == 200:
            for name in path_params & foreign.keys():
                other_path, _ = requests.url(op, partner_user, **{name: foreign[name]})
                missing_id = missing_ids.get(name, MISSING_ID)
                missing_path, _ = requests.url(op, partner_user, **{name: missing_id})
                other = check(other_path, query, echoed=foreign[name])
                missing = send(me, "GET", missing_path, query, None)
                assert other.status_code == missing.status_code == 404, other_path
                assert other.text.replace(foreign[name], missing_id) == missing.text
        if own.status_code != 200 or "count" not in own.json():
            continue
        body = own.json()
        assert body["count"] == len(rows_of(body)), f"{path}: count is not the rows'"
        if "summary" in body:
            assert body["summary"]["total"] == body["count"], path
        filters = {p["name"] for p in op.parameters("query")}
        if "partner" in filters:
            admin_count = client.get(path, params={**query, "partner": partner}).json()["count"]
            assert body["count"] == admin_count, f"{path}: count is not the partner's own"
            for other in city.partner_names.keys() - {partner}:
                filtered = check(path, {**query, "partner": other}, echoed=other)
                assert filtered.json()["count"] == 0, f"{path}?partner={other}"
        if "site" in filters:
            filtered = check(path, {**query, "site": foreign["site_id"]}, foreign["site_id"])
            assert filtered.json()["count"] == 0, f"{path}?site={foreign['site_id']}"
        if "district" in filters:
            for district in {s["district"] for s in city.sites.values()}:
                filtered = check(path, {**query, "district": district}).json()
                assert filtered["count"] == len(rows_of(filtered)), f"{path}?district={district}"
    assert calls > 10
    assert not leaks, json.dumps(leaks, indent=1)


def test_markers_would_catch_a_leak(city: City) -> None:
    """The leak check itself: another partner's site in a body is found, a prefix of an
    id or a longer host is not."""
    markers = city.foreign_markers("p-bank")
    assert _leaks('{"site": "s-market"}', markers) == ["site s-market"]
    assert _leaks('{"ap": "ap-030", "host": "127.1.0.30"}', markers) == []
    assert _leaks('{"detail": "no site with id \'s-market\'"}', markers, echoed="s-market") == []
