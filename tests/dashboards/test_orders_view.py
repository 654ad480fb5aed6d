"""The engineer's side of field work in the operations view (orders.js, and the form in
ops.js's incident list) in a real Chromium: a work order made from a citizens' incident
through the form (the team of the incident's party and district chosen already), the
"Work orders" panel with the API's count, an order given to another team and another
called off; who may not manage orders sees neither the panel nor the action.

The teams and one order are made the way the operation centre makes them (inventory and
fieldwork.orders) on the module's server before anyone logs in.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy import select

from api.routes.web import WEB_DIR
from core.incidents import IncidentClass, IncidentState, Responsible
from fieldwork import orders as rules
from inventory import incidents, work_orders
from inventory.db import transaction
from inventory.models import Incident
from tests.dashboards.browser import check_not_blank, save_screenshots

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.dashboards.browser import Tab

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
NOTE = "Citizens say the sign by the stalls is dark"
# An id of the test city anywhere in what the engineer reads: a site, district, AP or team.
AN_ID = re.compile(r"\b(s|d|ap|t)-[a-z0-9]+\b")


@dataclass(frozen=True)
class Setup:
    citizens: int  # a citizen_reported incident at Central Market (North, the city's)
    park_order: int  # an order for ap-02 at Riverside Park, the City crew's
    school_order: int  # an order for Hill School, given to no team yet: new


@pytest.fixture(scope="module")
def setup(page_app: FastAPI) -> Setup:
    """Four teams (the city's for North, South and the whole city; the operator's), a
    citizens' incident with no order yet, an order given to the City crew and a new one."""
    now = time.time()
    with transaction(page_app.state.engine) as s:
        for team_id, name, responsible, district in (
            ("t-city", "City crew", Responsible.NOC, None),
            ("t-north", "North crew", Responsible.NOC, "d-north"),
            ("t-south", "South crew", Responsible.NOC, "d-south"),
            ("t-telco", "Telco crew", Responsible.OPERATOR, None),
        ):
            work_orders.create_team(
                s, team_id=team_id, name=name, responsible=responsible, district_id=district
            )
        citizens = incidents.open_incident(
            s, kind=IncidentClass.CITIZEN_REPORTED, scope_id="s-market", district_id="d-north",
            aps={"ap-03": "s-market", "ap-06": "s-market"},
            explanation="citizens report: no signal at Central Market (2 reports)", now=now - 900,
        )  # fmt: skip
        row = s.get(Incident, citizens)
        assert row is not None
        row.priority = 2
        park_incident = s.scalars(
            select(Incident.id).where(
                Incident.kind == IncidentClass.AP_DOWN.value,
                Incident.scope_id == "ap-02",
                Incident.state != IncidentState.RESOLVED.value,
            )
        ).one()
        park = rules.create(
            s, incident_id=park_incident, site_id=None, team_id="t-city", note=None,
            actor="engineer", now=now - 600,
        )  # fmt: skip
        school_incident = s.scalars(
            select(Incident.id).where(
                Incident.kind == IncidentClass.SITE_DOWN.value,
                Incident.scope_id == "s-school",
                Incident.state != IncidentState.RESOLVED.value,
            )
        ).one()
        school = rules.create(
            s, incident_id=school_incident, site_id=None, team_id=None, note=None,
            actor="engineer", now=now - 300,
        )  # fmt: skip
        made = Setup(citizens=citizens, park_order=park.id, school_order=school.id)
    return made


@pytest.fixture
def engineer(tab: Tab, passwords: Mapping[str, str], setup: Setup) -> Tab:
    """The operations view as the engineer, the panel and the incidents drawn."""
    tab.open()
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator("#order-count")).to_have_text(re.compile(r"^\d+ open work orders?$"))
    expect(incident_item(tab, setup.citizens)).to_be_visible()
    return tab


def incident_item(tab: Tab, incident: int) -> Locator:
    return tab.page.locator(f'#incident-list li[data-incident="{incident}"]')


def order_item(tab: Tab, order: int) -> Locator:
    return tab.page.locator(f'#order-list li[data-order="{order}"]')


def shown_orders(tab: Tab) -> list[int]:
    values = tab.page.locator("#order-list li[data-order]").evaluate_all(
        "(items) => items.map((li) => Number(li.dataset.order))"
    )
    return [int(v) for v in values]


def expect_count_is_the_apis(tab: Tab) -> dict[str, Any]:
    listed: dict[str, Any] = tab.api("/api/v1/work-orders?open=true&limit=50")
    noun = "order" if listed["count"] == 1 else "orders"
    expect(tab.page.locator("#order-count")).to_have_text(f"{listed['count']} open work {noun}")
    expect(tab.page.locator("#order-list li[data-order]")).to_have_count(len(listed["data"]))
    assert shown_orders(tab) == [o["id"] for o in listed["data"]]  # newest first, as the API
    return listed


def test_the_script_makes_no_markup_from_text() -> None:
    script = (WEB_DIR / "orders.js").read_text(encoding="utf-8")
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
        assert banned not in script, banned
    assert ".style" not in script  # looks come from style.css (CSP: style-src 'self')


def test_the_team_chosen_first(engineer: Tab) -> None:
    """The party's team for the district, else its city-wide one, else none."""
    chosen = engineer.page.evaluate(
        """async () => {
          const { teamFor } = await import("/static/orders.js");
          const teams = [
            { id: "a", responsible: "noc", district_id: null },
            { id: "b", responsible: "noc", district_id: "d-north" },
            { id: "c", responsible: "operator", district_id: "d-north" },
          ];
          const pick = (i) => (teamFor(teams, i) || { id: null }).id;
          return [
            pick({ responsible: "noc", district: "d-north" }),
            pick({ responsible: "noc", district: "d-south" }),
            pick({ responsible: "noc", district: null }),
            pick({ responsible: "operator", district: "d-south" }),
            pick({ responsible: "utility", district: "d-north" }),
          ];
        }"""
    )
    assert chosen == ["b", "a", "a", None, None]


def test_an_engineer_sends_teams_and_calls_work_off(
    engineer: Tab, setup: Setup, artefacts: Path
) -> None:
    page = engineer.page
    before = expect_count_is_the_apis(engineer)
    assert {o["id"] for o in before["data"]} == {setup.park_order, setup.school_order}
    # The park's order is drawn in words: its site, incident, team and state.
    park = order_item(engineer, setup.park_order)
    expect(park.locator(".order-site-name")).to_have_text("Riverside Park")
    expect(park.locator(".order-incident")).to_have_text("Access point down")
    expect(park.locator(".order-team-name")).to_have_text("City crew")
    expect(park.locator(".order-state")).to_have_text("Assigned")
    # ... and under its incident in the list beside the map.
    park_incident = next(o["incident"]["id"] for o in before["data"] if o["id"] == setup.park_order)
    school = order_item(engineer, setup.school_order)
    expect(school.locator(".order-site-name")).to_have_text("Hill School")
    expect(school.locator(".order-team-name")).to_have_text("No team yet")
    expect(school.locator(".order-state")).to_have_text("New")
    expect(incident_item(engineer, park_incident).locator(".incident-order")).to_have_text(
        "Work order at Riverside Park: Assigned · City crew"
    )

    # The form on the citizens' incident: its one site chosen, the North crew too (the
    # city's team for the incident's district, not the city-wide one).
    item = incident_item(engineer, setup.citizens)
    expect(item.locator(".incident-class")).to_have_text("Reported by citizens")
    item.get_by_role("button", name="Work order", exact=True).click()
    form = item.get_by_role("form", name="New work order")
    expect(form).to_be_visible()
    site = form.get_by_label("Site", exact=True)
    team = form.get_by_label("Team", exact=True)
    expect(site).to_have_value("s-market")
    expect(site.locator("option:checked")).to_have_text("Central Market")
    expect(team).to_have_value("t-north")
    expect(team.locator("option:checked")).to_have_text("North crew (city, North)")
    assert team.locator("option").all_inner_texts() == [
        "No team yet (new)",
        "City crew (city, whole city)",
        "North crew (city, North)",
        "South crew (city, South)",
        "Telco crew (operator, whole city)",
    ]
    form.get_by_label("Note (optional)").fill(NOTE)
    page.wait_for_timeout(5500)  # a poll redraws the incidents: the form keeps what was typed
    expect(form.get_by_label("Note (optional)")).to_have_value(NOTE)
    item.locator(".order-form").screenshot(path=artefacts / "orders-form-1280.png")
    form.get_by_role("button", name="Make work order").click()
    expect(form).to_have_count(0)

    # The panel lists it first, with the count the API gives.
    after = expect_count_is_the_apis(engineer)
    assert after["count"] == before["count"] + 1
    made = after["data"][0]
    assert (made["incident"]["id"], made["site"]["id"], made["team_id"], made["note"]) == (
        setup.citizens,
        "s-market",
        "t-north",
        NOTE,
    )
    new = order_item(engineer, made["id"])
    expect(new.locator(".order-site-name")).to_have_text("Central Market")
    expect(new.locator(".order-incident")).to_have_text("Reported by citizens · priority 2")
    expect(new.locator(".order-team-name")).to_have_text("North crew")
    expect(new.locator(".order-state")).to_have_text("Assigned")
    expect(new).to_contain_text(f"“{NOTE}”")
    expect(item.locator(".incident-order")).to_have_text(
        "Work order at Central Market: Assigned · North crew"
    )
    assert made["actions"] == ["assign", "cancel"]  # an engineer is not a technician
    expect(new.locator(".order-actions button")).to_have_text(["Assign", "Cancel"])
    # No button anywhere sets "verified": telemetry does.
    expect(page.get_by_role("button", name=re.compile("verif", re.IGNORECASE))).to_have_count(0)

    # Given to another team: the City crew.
    new.get_by_role("button", name="Assign", exact=True).click()
    assign = new.get_by_role("form")
    choices = assign.get_by_label("Team", exact=True).locator("option").all_inner_texts()
    assert "North crew (city, North)" not in choices  # it has it already
    assign.get_by_label("Team", exact=True).select_option(label="City crew (city, whole city)")
    new.locator(".order-form").screenshot(path=artefacts / "orders-assign-1280.png")
    assign.get_by_role("button", name="Assign to team").click()
    expect(new.locator(".order-team-name")).to_have_text("City crew")
    expect(new.locator(".order-form")).to_have_count(0)
    assert engineer.api(f"/api/v1/work-orders/{made['id']}")["team_id"] == "t-city"

    # The park's order called off, with a reason: it leaves the open list.
    park.get_by_role("button", name="Cancel", exact=True).click()
    park.get_by_label("Reason (optional)").fill("a duplicate of the area outage's")
    park.get_by_role("button", name="Cancel the order").click()
    expect(park).to_have_count(0)
    final = expect_count_is_the_apis(engineer)
    assert {o["id"] for o in final["data"]} == {made["id"], setup.school_order}
    cancelled = engineer.api(f"/api/v1/work-orders/{setup.park_order}")
    assert cancelled["state"] == "cancelled"
    assert cancelled["timeline"][-1]["kind"] == "cancelled"
    expect(incident_item(engineer, park_incident).locator(".incident-order")).to_have_count(0)

    # Names, not ids, in what the engineer reads.
    text = page.locator("#work-orders").inner_text()
    assert not AN_ID.search(text), text
    assert engineer.console_errors() == []
    assert engineer.csp_violations() == []


@pytest.mark.parametrize(("user", "lands_on"), [("planner", "ops"), ("partner", "partner")])
def test_who_may_not_manage_orders_sees_neither(
    tab: Tab, passwords: Mapping[str, str], setup: Setup, user: str, lands_on: str
) -> None:
    """The planner reads the operations view (no incidents); a partner may not open it."""
    tab.open("#/ops")
    tab.log_in(user, passwords[user])
    page = tab.page
    expect(page.locator("#status-view")).to_have_attribute("data-view", lands_on)
    page.wait_for_timeout(1000)
    expect(page.locator("#work-orders")).to_have_count(0)
    expect(page.get_by_role("button", name="Work order", exact=True)).to_have_count(0)
    expect(page.locator(".incident-order")).to_have_count(0)
    response = page.request.get(tab.url + "api/v1/work-orders?open=true")
    assert response.status == 403
    assert tab.csp_violations() == []


def test_the_panel_and_the_form_stack_on_a_phone(
    engineer: Tab, setup: Setup, artefacts: Path
) -> None:
    page = engineer.page
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#order-list li[data-order]").first).to_be_visible()
    page.wait_for_timeout(300)
    boxes = [
        page.locator(selector).bounding_box()
        for selector in ("#incidents", "#citizens", "#work-orders", ".ops-table")
    ]
    for upper, lower in itertools.pairwise(boxes):
        assert upper is not None and lower is not None
        assert lower["y"] >= upper["y"] + upper["height"] - 1  # one under the other
    panel = boxes[2]
    assert panel is not None and panel["width"] > PHONE["width"] - 60
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE["width"]
    # Nothing in the panel spills sideways.
    assert page.locator("#work-orders").evaluate("(el) => el.scrollWidth <= el.clientWidth")
    # The form's fields one under the other, each the card's width.
    item = incident_item(engineer, setup.citizens)
    item.get_by_role("button", name="Work order", exact=True).click()
    form = item.get_by_role("form", name="New work order")
    expect(form.get_by_label("Team", exact=True)).to_have_value("t-north")
    fields = [
        form.get_by_label(label, exact=True).bounding_box()
        for label in ("Site", "Team", "Note (optional)")
    ]
    for upper, lower in itertools.pairwise(fields):
        assert upper is not None and lower is not None
        assert lower["y"] >= upper["y"] + upper["height"]
        assert lower["width"] > PHONE["width"] - 120
    assert page.locator("#incidents").evaluate("(el) => el.scrollWidth <= el.clientWidth")
    item.scroll_into_view_if_needed()
    shot = artefacts / "orders-incident-form-390.png"
    item.screenshot(path=shot)
    check_not_blank(shot)
    form.get_by_role("button", name="Close").click()
    expect(form).to_have_count(0)
    page.locator("#work-orders").scroll_into_view_if_needed()
    shot = artefacts / "orders-card-390.png"
    page.locator("#work-orders").screenshot(path=shot)
    check_not_blank(shot)
    assert engineer.console_errors() == []
    assert engineer.csp_violations() == []


def test_orders_screenshots(engineer: Tab, artefacts: Path) -> None:
    for path in save_screenshots(
        engineer, artefacts, "operations-orders", ready="#order-list li[data-order]"
    ):
        assert path.stat().st_size > 10_000
    page = engineer.page
    page.set_viewport_size(LAPTOP)
    page.locator("#work-orders").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot = artefacts / "orders-page-1280.png"
    page.screenshot(path=shot)
    check_not_blank(shot)
    # The card alone is saved to be looked at, not colour-checked: at this width a few
    # orders fill only some of its columns, and a white card of text sits at the 90 % line
    # (the page around it is checked above).
    page.locator("#work-orders").screenshot(path=artefacts / "orders-card-1280.png")
    assert engineer.console_errors() == []
    assert engineer.csp_violations() == []
