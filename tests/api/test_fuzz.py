"""The API fuzzed from its own OpenAPI schema, as the callers whose answers differ (admin,
planner, a partner: :data:`FUZZED`): no 5xx, no answer the schema does not declare.

schemathesis 4 generates requests for every operation (valid ones, and invalid ones that
must be refused with a declared 4xx) and runs its default checks on every response:
server errors, status codes, content types, headers and bodies against the schema, and
that an operation does not ignore its authentication. It runs in process, on the test's
own app (``client``: its lifespan, its fixture city), reached through :data:`FRONT`.

One allowance, exact: a few operations have rules across parameters that OpenAPI cannot
state (:data:`CROSS_FIELD_RULES`); a schema-valid request that breaks one is refused with
422 naming the parameter, and schemathesis's ``positive_data_acceptance`` check (which
expects valid data to be accepted) is not applied to that response. Any other 422 to
schema-valid data, and every other check, still fails the test.

Bounded and reproducible: a few examples per operation and phase, derandomized, no
deadline (two shared cores make timings meaningless).
"""

from __future__ import annotations

import importlib
import pkgutil
import tomllib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from api.app import create_app
from core.settings import Settings
from tests.api.city import USERS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

EXAMPLES = 12
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# Modules that act when imported: the CLI's entry point, Alembic's environment script.
_NOT_IMPORTED = (".__main__", "inventory.migrations.env")


def import_the_product() -> None:
    """Import every module of the product, so the examples are the commit's alone.

    Hypothesis draws some values from the literals of the local modules loaded so far
    (``hypothesis.internal.conjecture.providers``), so without this the examples of an
    operation would depend on which tests ran before in the same worker: a failure seen
    under ``-n 2`` would not come back when the test is run alone. The packages are
    import-linter's root packages (pyproject.toml), one list for both."""
    with PYPROJECT.open("rb") as file:
        roots = tomllib.load(file)["tool"]["importlinter"]["root_packages"]
    for root in roots:
        package = importlib.import_module(root)
        for found in pkgutil.walk_packages(package.__path__, prefix=f"{root}."):
            if not found.name.endswith(_NOT_IMPORTED):
                importlib.import_module(found.name)


import_the_product()
BASE_URL = "http://testserver"

PUBLIC = {
    ("GET", "/healthz"), ("POST", "/api/v1/auth/login"), ("GET", "/public/hotspots"),
    ("GET", "/public/report-challenge"), ("POST", "/public/reports"),
}  # fmt: skip

#: Operation -> the parameters (422 ``loc``) of its rules that OpenAPI cannot state:
#: end after start, a longest range (api.times.check_window), at most api.routes.aps.MAX_POINTS
#: buckets of ``step`` in the range, the 1970..9999 bound of a date-time given as text (the
#: number form states it), a partner for a partner user only, a report's period (exactly
#: one of a month or a range) and partner (staff must name one), a maintenance window's
#: rules (inventory.maintenance: ends after it starts and in the future, at most 31 days,
#: on a site or district that exists), and coverage questions planning cannot answer
#: (more suggestions than candidate places, a what-if naming a site that is not active).
_WINDOW = frozenset({("query", "start"), ("query", "end")})
CROSS_FIELD_RULES: dict[tuple[str, str], frozenset[tuple[str, ...]]] = {
    ("GET", "/api/v1/aps/{ap_id}/series"): _WINDOW | {("query", "step")},
    ("GET", "/api/v1/aps/{ap_id}/events"): _WINDOW,
    ("GET", "/api/v1/audit"): _WINDOW,
    ("GET", "/api/v1/sessions"): _WINDOW,
    ("GET", "/api/v1/sessions/summary"): _WINDOW,
    # api.report_models.asked_period: a month or a range (a year at most), a real month
    # and date; staff name the partner (api.routes.reports).
    ("GET", "/api/v1/reports/usage"): _WINDOW | {("query", "month"), ("query", "partner")},
    ("POST", "/api/v1/users"): frozenset({("body", "partner")}),
    ("POST", "/api/v1/maintenance"): frozenset(
        {("body", "starts_at"), ("body", "ends_at"), ("body", "scope_id")}
    ),
    ("PATCH", "/api/v1/maintenance/{window_id}"): frozenset(
        {("body", "starts_at"), ("body", "ends_at")}
    ),
    # planning.PlanningError: more sites than candidate places; a site that is not active.
    ("GET", "/api/v1/coverage/suggestions"): frozenset({("query", "k")}),
    ("POST", "/api/v1/coverage/what-if"): frozenset(
        {("body", "remove"), ("body", "fail"), ("body", "add")}
    ),
    # citizens.filing: lat and lon together, or a site; the site active with an enabled AP.
    ("POST", "/api/v1/citizen-reports"): frozenset(
        {("body", "lat"), ("body", "lon"), ("body", "site_id")}
    ),
    # citizens.importing: a row's rules (a time's text, lat with lon, a site that can be
    # filed, a ref given once), said as one line naming the row: loc ("body",).
    ("POST", "/api/v1/citizen-reports/import"): frozenset({("body",)}),
    # fieldwork: a team's district and partner exist; an order's site is one its incident
    # covers, its team exists.
    ("POST", "/api/v1/field-teams"): frozenset({("body", "district_id"), ("body", "partner_id")}),
    ("POST", "/api/v1/work-orders"): frozenset(
        {("body", "incident_id"), ("body", "site_id"), ("body", "team_id")}
    ),
    ("POST", "/api/v1/work-orders/{order_id}/assign"): frozenset({("body", "team_id")}),
}


def breaks_cross_field_rule(case: schemathesis.Case[Any], status: int, body: Any) -> bool:
    """Whether ``case`` was refused for one of its operation's cross-parameter rules only."""
    rules = CROSS_FIELD_RULES.get((case.method.upper(), case.path), frozenset())
    if status != 422 or not rules or not isinstance(body, dict):
        return False
    errors = body.get("detail")
    return (
        isinstance(errors, list)
        and bool(errors)
        and all(tuple(error.get("loc", ())) in rules for error in errors)
    )


class Front:
    """The ASGI app schemathesis is given when the module loads (it wants one then): it
    passes each request to the app of the test running now, and answers lifespan events
    itself, because that app's lifespan is the test client's (schemathesis would start a
    second one, a second engine and store, and keep it until the process exits)."""

    def __init__(self) -> None:
        self.app: Asgi | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            assert self.app is not None, "no test is serving an app"
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


FRONT = Front()
# The schema of an app that is never started (building one has no side effects).
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
schema.app = FRONT
# schemathesis mines string constants from the app's modules to use as input; the app it
# sees is FRONT, so it would mine this test's imports, fixture secrets included, and send
# them as ids (echoed by a 404: a false alarm of the secret scan).
schema.config.analysis.constants.enabled = False
# NUL in any string is refused by one rule (api/text.py), declared as a pattern; a NUL
# sent in a URL may not reach the app as sent, so a "violating request accepted" would be
# a false alarm. tests/api/test_text.py sends NUL in every place on purpose.
schema.config.generation.allow_x00 = False


#: The callers whose answers take different shapes: the whole city with every right
#: (admin), a planner (user hashes hidden: ``null``), a partner (its own sites only).
#: Who may call what, for every role, is the access matrix's (test_access_matrix.py);
#: fuzzing the same inputs again as an engineer, a second partner or a technician runs
#: the same code to the same 403s, at a minute of the suite per role and database.
FUZZED = ("admin", "planner", "partner")
assert set(FUZZED) <= USERS.keys()


@pytest.fixture(params=FUZZED)
def user(request: pytest.FixtureRequest) -> str:
    """Each caller of :data:`FUZZED`."""
    name: str = request.param
    return name


@pytest.fixture
def served(client: TestClient) -> Iterator[None]:
    FRONT.app = client.app
    yield
    FRONT.app = None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_as_each_role(
    case: schemathesis.Case[Any], served: None, tokens: dict[str, str], user: str
) -> None:
    headers = {"Authorization": f"Bearer {tokens[user]}"}
    response = case.call(base_url=BASE_URL, headers=headers)
    if (case.method.upper(), case.path) not in PUBLIC:  # the token was sent, and is good
        assert response.status_code != 401, response.text
    try:
        body = response.json()
    except ValueError:
        body = None
    excluded = []
    if breaks_cross_field_rule(case, response.status_code, body):
        excluded.append(positive_data_acceptance)
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=excluded,
        transport_kwargs={"base_url": BASE_URL, "headers": headers},
    )
