"""A field technician's phone view (field.js) in a real Chromium at a phone's size: the
work orders of their team (the same as GET /work-orders/mine), one order's page with the
site on the map, its APs' last known state, the buttons the API allows (never "verified":
only telemetry sets it), a note and a photo of the fix, and the timeline; a technician of
another team sees none of it. Also the operations view's words for a citizens' incident.

The orders are made the way the operation centre makes them (fieldwork.orders, as the
engineer) on the module's server before the technicians log in.
"""

from __future__ import annotations

import io
import itertools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from api.routes.web import WEB_DIR
from core.access import Role
from core.incidents import IncidentClass, IncidentState, Responsible
from fieldwork import orders as rules
from inventory import accounts, incidents, work_orders
from inventory.db import transaction
from inventory.models import Incident
from tests.dashboards.browser import check_not_blank, save_screenshots

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

PHONE = {"width": 390, "height": 844}
SOUTH_USER = "field-south"
SOUTH_PASSWORD = "pw-field-south-Correct-Horse-9"
NOTE = "Replaced the power supply of the mast; both lights green."
CITIZEN_EXPLANATION = "citizens report: no signal at Central Market (2 reports)"
# An id of the test city anywhere in what a technician reads: a site, district or AP.
AN_ID = re.compile(r"\b(s|d|ap|t)-[a-z0-9]+\b")


@dataclass(frozen=True)
class Orders:
    citizens: int  # Central Market, citizens' reports (priority 2): the city crew's
    park: int  # Riverside Park, an AP down: the city crew's
    cancelled: int  # Central Market, an AP down, cancelled: the city crew's, done
    school: int  # Hill School, site down: the south crew's only


def _incident(session: Any, kind: IncidentClass, scope_id: str) -> int:
    query = select(Incident.id).where(
        Incident.kind == kind.value,
        Incident.scope_id == scope_id,
        Incident.state != IncidentState.RESOLVED.value,
        Incident.merged_into.is_(None),
    )
    found: int = session.scalars(query).one()
    return found


@pytest.fixture(scope="module")
def orders(page_app: FastAPI) -> Orders:
    """Two crews, a technician in each ("field" in the city crew), and their orders."""
    now = time.time()
    with transaction(page_app.state.engine) as s:
        accounts.create_user(s, SOUTH_USER, Role.FIELD, password=SOUTH_PASSWORD, now=now)
        work_orders.create_team(s, team_id="t-city", name="City crew", responsible=Responsible.NOC)
        work_orders.create_team(
            s,
            team_id="t-south",
            name="South crew",
            responsible=Responsible.NOC,
            district_id="d-south",
        )
        work_orders.set_members(s, "t-city", ["field"])
        work_orders.set_members(s, "t-south", [SOUTH_USER])
        citizens = incidents.open_incident(
            s, kind=IncidentClass.CITIZEN_REPORTED, scope_id="s-market", district_id="d-north",
            aps={"ap-03": "s-market", "ap-06": "s-market"}, explanation=CITIZEN_EXPLANATION,
            now=now - 900,
        )  # fmt: skip
        row = s.get(Incident, citizens)
        assert row is not None
        row.priority = 2

        def order(incident: int, team: str, site: str | None = None) -> int:
            made = rules.create(
                s, incident_id=incident, site_id=site, team_id=team, note=None,
                actor="engineer", now=now - 600,
            )  # fmt: skip
            return made.id

        park = order(_incident(s, IncidentClass.AP_DOWN, "ap-02"), "t-city")
        cancelled = order(_incident(s, IncidentClass.AP_DOWN, "ap-06"), "t-city")
        rules.cancel(s, cancelled, actor="engineer", now=now - 500, reason="a duplicate")
        school = order(_incident(s, IncidentClass.SITE_DOWN, "s-school"), "t-south")
        made = Orders(
            citizens=order(citizens, "t-city"), park=park, cancelled=cancelled, school=school
        )
    return made


def photo_jpeg() -> bytes:
    image = Image.new("RGB", (200, 150))
    image.putdata([(x, y, (x + y) % 256) for y in range(150) for x in range(200)])
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def log_in(tab: Tab, name: str, password: str, fragment: str = "") -> None:
    tab.page.set_viewport_size(PHONE)
    tab.open(fragment)
    tab.log_in(name, password)
    expect(tab.page.locator("#status-view")).to_have_attribute("data-view", "field")


@pytest.fixture
def technician(tab: Tab, passwords: Mapping[str, str], orders: Orders) -> Tab:
    """The city crew's technician on a phone, their list drawn."""
    log_in(tab, "field", passwords["field"])
    expect(tab.page.locator("#field-count")).to_have_text(re.compile(r"^\d+ orders? to do$"))
    return tab


def shown_orders(tab: Tab) -> list[int]:
    values = tab.page.locator("#field-orders li[data-order]").evaluate_all(
        "(items) => items.map((li) => Number(li.dataset.order))"
    )
    return [int(v) for v in values]


def buttons(tab: Tab) -> list[str]:
    return [t.strip() for t in tab.page.locator("#field-actions button").all_inner_texts()]


def no_verify_button(tab: Tab) -> None:
    expect(tab.page.get_by_role("button", name=re.compile("verif", re.IGNORECASE))).to_have_count(0)


def test_the_script_makes_no_markup_from_text() -> None:
    script = (WEB_DIR / "field.js").read_text(encoding="utf-8")
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
        assert banned not in script, banned


# --- the list ----------------------------------------------------------------------------


def test_the_list_is_the_teams_open_orders(technician: Tab, orders: Orders) -> None:
    page = technician.page
    expect(page.locator("#nav")).to_be_hidden()  # one view: no navigation
    assert page.title().startswith("Work orders")
    mine = technician.api("/api/v1/work-orders/mine?open=true")
    assert {o["id"] for o in mine["data"]} == {orders.citizens, orders.park}
    noun = "order" if mine["count"] == 1 else "orders"
    expect(page.locator("#field-count")).to_have_text(f"{mine['count']} {noun} to do")
    expect(page.locator("#field-orders li[data-order]")).to_have_count(mine["count"])
    assert shown_orders(technician) == [o["id"] for o in mine["data"]]  # the API's order
    assert orders.school not in shown_orders(technician)
    citizens = page.locator(f'#field-orders li[data-order="{orders.citizens}"]')
    expect(citizens).to_contain_text("Central Market")
    expect(citizens).to_contain_text("Reported by citizens")
    expect(citizens).to_contain_text("Priority 2")
    expect(citizens).to_contain_text("Assigned")
    expect(citizens).to_contain_text("City crew")
    park = page.locator(f'#field-orders li[data-order="{orders.park}"]')
    expect(park).to_contain_text("Riverside Park")
    expect(park).to_contain_text("Access point down")
    expect(park).to_contain_text("Normal priority")
    text = page.locator("#field-orders").inner_text()
    assert not AN_ID.search(text), text  # names, not ids
    # Every order fits the phone's width: one column, nothing to scroll sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    # The finished ones: the cancelled order, in words.
    page.get_by_role("button", name="Done").click()
    done = technician.api("/api/v1/work-orders/mine?open=false")
    expect(page.locator("#field-count")).to_have_text(
        f"{done['count']} order{'' if done['count'] == 1 else 's'} done or cancelled"
    )
    expect(page.locator("#field-orders li[data-order]")).to_have_count(done["count"])
    assert shown_orders(technician) == [o["id"] for o in done["data"]]
    expect(page.locator(f'#field-orders li[data-order="{orders.cancelled}"]')).to_contain_text(
        "Cancelled"
    )
    assert technician.console_errors() == []
    assert technician.csp_violations() == []


# --- one order: on site, fixed, a note and a photo --------------------------------------


def test_on_site_then_fixed_with_a_note_and_a_photo(
    technician: Tab, orders: Orders, artefacts: Path
) -> None:
    page = technician.page
    page.locator(f'#field-orders li[data-order="{orders.citizens}"] a').click()
    assert page.url.endswith(f"#/field/{orders.citizens}")
    expect(page.locator("#field-title")).to_have_text("Central Market")
    expect(page.locator("#field-status")).to_have_text("Assigned")
    expect(page.locator("#field-incident")).to_contain_text("Reported by citizens")
    order = technician.api(f"/api/v1/work-orders/mine/{orders.citizens}")
    assert order["actions"] == ["on_site", "note", "photo"]
    # The site on the map, and the way there.
    expect(page.locator("#field-map .cw-layer-site circle")).to_have_count(1)
    site = order["site"]
    expect(page.locator("#field-directions")).to_have_attribute(
        "href", re.compile(rf"^geo:{re.escape(str(site['lat']))},{re.escape(str(site['lon']))}")
    )
    # One column on the phone, in the order the work needs: map, buttons, APs, timeline.
    boxes = [
        page.locator(selector).bounding_box()
        for selector in (".field-map-card", ".field-work", ".field-aps-card", ".field-time-card")
    ]
    for upper, lower in itertools.pairwise(boxes):
        assert upper is not None and lower is not None
        assert lower["y"] >= upper["y"] + upper["height"] - 1
        assert upper["width"] > PHONE["width"] - 60 and lower["width"] > PHONE["width"] - 60
    # Each AP by name with its last known state.
    aps = page.locator("#field-aps li[data-ap]")
    expect(aps).to_have_count(len(order["aps"]))
    for ap in order["aps"]:
        item = page.locator(f'#field-aps li[data-ap="{ap["id"]}"]')
        expect(item).to_contain_text(ap["name"])
        expect(item).to_have_attribute("data-state", ap["state"])
        expect(item.locator(".state")).to_contain_text(ap["state"].capitalize())
        expect(item).to_contain_text("since" if ap["since"] else "never polled")
    # A button per allowed state change: on site only; never a verified one.
    assert buttons(technician) == ["On site"]
    no_verify_button(technician)
    page.get_by_role("button", name="On site", exact=True).click()
    expect(page.locator("#field-status")).to_have_text("On site")
    expect(page.locator("#field-actions button")).to_have_text(["Fixed"])
    no_verify_button(technician)
    # Fixed, with a note typed before.
    page.get_by_label("Note", exact=True).fill(NOTE)
    page.get_by_role("button", name="Fixed", exact=True).click()
    expect(page.locator("#field-status")).to_have_text("Fixed — waiting for telemetry")
    expect(page.get_by_label("Note", exact=True)).to_have_value("")
    expect(page.locator("#field-actions button")).to_have_text(["Back on site"])
    expect(page.locator("#field-hint")).to_contain_text("Telemetry marks the order verified")
    no_verify_button(technician)
    # The photo of the fix, sent as base64 and shown back from the API.
    page.get_by_label("Photo of the fix").set_input_files(
        {"name": "fix.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()}
    )
    expect(page.locator("#field-photo-status")).to_have_text("Photo sent.")
    shown = page.get_by_role("img", name="Photo of the fix at Central Market")
    expect(shown).to_be_visible()
    assert (shown.get_attribute("src") or "").startswith("data:image/jpeg;base64,")
    # The timeline, newest first, in words.
    timeline = page.locator("#field-timeline li")
    expect(timeline.first).to_contain_text("Photo of the fix (200\u00d7150)")
    expect(page.locator("#field-timeline")).to_contain_text(f"Note: “{NOTE}”")
    expect(page.locator("#field-timeline")).to_contain_text("Fixed — waiting for telemetry")
    expect(page.locator("#field-timeline")).to_contain_text("On site")
    expect(page.locator("#field-timeline")).to_contain_text("Given to City crew")
    expect(page.locator("#field-timeline")).to_contain_text("Work order made")
    after = technician.api(f"/api/v1/work-orders/mine/{orders.citizens}")
    assert (after["state"], after["note"], after["has_photo"]) == ("fixed", NOTE, True)
    expect(timeline).to_have_count(len(after["timeline"]))
    assert [e["kind"] for e in after["timeline"]][-4:] == ["state", "state", "note", "photo"]
    assert not AN_ID.search(page.locator("#field-timeline").inner_text())
    shot = artefacts / "field-order-fixed-390-full.png"
    page.screenshot(path=shot, full_page=True)
    check_not_blank(shot)
    # The list says where it stands.
    page.locator(".field-back").click()
    expect(page.locator(f'#field-orders li[data-order="{orders.citizens}"]')).to_contain_text(
        "Fixed — waiting for telemetry"
    )
    assert technician.console_errors() == []
    assert technician.csp_violations() == []


def test_asking_the_api_for_verified_is_refused(technician: Tab, orders: Orders) -> None:
    """What a hand-made request gets where the page has no button: a 422 saying why."""
    response = technician.page.request.post(
        technician.url + f"api/v1/work-orders/{orders.park}/state",
        data={"state": "verified"},
        headers={"X-CSRF-Token": technician.cookie("citywifi_csrf") or ""},
    )
    assert response.status == 422, response.text()
    assert "telemetry" in response.text()
    technician.page.goto(technician.url + f"#/field/{orders.park}")
    expect(technician.page.locator("#field-status")).to_have_text("Assigned")
    no_verify_button(technician)


# --- another team ------------------------------------------------------------------------


def test_a_technician_of_another_team_does_not_see_it(tab: Tab, orders: Orders) -> None:
    log_in(tab, SOUTH_USER, SOUTH_PASSWORD)
    page = tab.page
    expect(page.locator("#field-orders li[data-order]")).to_have_count(1)
    assert shown_orders(tab) == [orders.school]
    expect(page.locator("#field-orders")).to_contain_text("Hill School")
    expect(page.locator("#field-orders")).not_to_contain_text("Central Market")
    mine = tab.api("/api/v1/work-orders/mine?open=true")
    assert [o["id"] for o in mine["data"]] == [orders.school]
    # Not by its address either: the API answers 404, the page says so.
    page.goto(tab.url + f"#/field/{orders.citizens}")
    expect(page.locator("#field-title")).to_have_text("Work order not found")
    expect(page.locator(".view-notice-error")).to_contain_text("No such work order")
    expect(page.locator("#field-actions")).to_have_count(0)
    response = page.request.get(tab.url + f"api/v1/work-orders/mine/{orders.citizens}")
    assert response.status == 404
    assert tab.csp_violations() == []
    # The 404 the page asked for is the only console line.
    assert all("status of 404" in line for line in tab.console_errors()), tab.console_errors()


# --- the operations view's side ----------------------------------------------------------


def test_operations_name_citizens_incidents_and_their_priority(
    tab: Tab, passwords: Mapping[str, str], orders: Orders
) -> None:
    tab.open()
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator("#incident-list li[data-incident]").first).to_be_visible()
    listed = tab.api("/api/v1/incidents?state=open&limit=200")["data"]
    (citizens,) = [i for i in listed if i["class"] == "citizen_reported"]
    item = tab.page.locator(f'#incident-list li[data-incident="{citizens["id"]}"]')
    expect(item.locator(".incident-class")).to_have_text("Reported by citizens")
    expect(item.locator(".incident-meta")).to_contain_text(f"priority {citizens['priority']}")
    assert tab.console_errors() == []


# --- screenshots ------------------------------------------------------------------------


def test_field_screenshots(technician: Tab, orders: Orders, artefacts: Path) -> None:
    for path in save_screenshots(
        technician, artefacts, "field-orders", ready="#field-orders li[data-order]"
    ):
        assert path.stat().st_size > 10_000
    technician.page.goto(technician.url + f"#/field/{orders.park}")
    for path in save_screenshots(
        technician, artefacts, "field-order", ready="#field-aps li[data-ap]"
    ):
        assert path.stat().st_size > 10_000
    technician.page.set_viewport_size(PHONE)
    technician.page.locator("#field-timeline").scroll_into_view_if_needed()
    shot = artefacts / "field-order-work-390.png"
    technician.page.locator(".field-work").screenshot(path=shot)
    check_not_blank(shot)
    assert technician.console_errors() == []
    assert technician.csp_violations() == []
