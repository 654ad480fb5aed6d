"""Citizens' reports in the operations view (citizens.js) in a real Chromium: the list an
engineer reads (problem, hotspot, time, match, incident, phone number, photo on demand),
its counts against the API's for each filter, closing a report, and who sees none of it.

The reports are filed the ways the operation centre gets them: the call centre's API
(JSON, as the engineer) and the public report route (multipart with a photo, its proof of
work solved here as the page would). What the page shows is compared with what the API
answers the same session.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from citizens.proof import solve
from tests.api.city import SITE_POSITIONS
from tests.dashboards.browser import check_not_blank, save_screenshots

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab
    from tests.fixtures.secret_scan import PersonalData

PHONE = "081299887766"  # as citizens.phone normalises it: digits only
PHONE_TYPED = "0812 9988 7766"  # as the caller said it


@pytest.fixture(scope="module")
def page_settings_overrides() -> dict[str, Any]:
    return {"citizen_pow_bits": 4, "citizen_reports_per_address": 1000}


def photo_jpeg() -> bytes:
    image = Image.new("RGB", (160, 120))
    image.putdata([(x, y * 2, 200 - x) for y in range(120) for x in range(160)])
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def file_by_phone(tab: Tab, body: dict[str, Any]) -> dict[str, Any]:
    """A report the call centre types in (POST /api/v1/citizen-reports, as the engineer)."""
    response = tab.page.request.post(
        tab.url + "api/v1/citizen-reports",
        data=body,
        headers={"X-CSRF-Token": tab.cookie("citywifi_csrf") or ""},
    )
    assert response.status == 201, response.text()
    filed: dict[str, Any] = response.json()
    return filed


def file_from_the_street(tab: Tab, fields: dict[str, str], photo: bytes | None) -> int:
    """A report through the public route, as the page sends it (proof of work solved)."""
    challenge = tab.page.request.get(tab.url + "public/report-challenge").json()
    form: dict[str, Any] = {
        **fields,
        "token": challenge["token"],
        "nonce": solve(challenge["token"], challenge["bits"]),
    }
    if photo is not None:
        form["photo"] = {"name": "street.jpg", "mimeType": "image/jpeg", "buffer": photo}
    response = tab.page.request.post(tab.url + "public/reports", multipart=form)
    assert response.status == 202, response.text()
    number: int = response.json()["id"]
    return number


@pytest.fixture
def engineer(tab: Tab, passwords: Mapping[str, str], personal_data: PersonalData) -> Tab:
    """The operations view as the engineer, after reports of every kind were filed."""
    personal_data.names([PHONE, PHONE_TYPED])
    tab.open()
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator("#citizen-count")).to_have_text(re.compile(r"^\d+ open reports?$"))
    if tab.api("/api/v1/citizen-reports?limit=1")["count"] == 0:  # once per module
        lat, lon = SITE_POSITIONS["s-market"]
        file_by_phone(tab, {"lat": lat, "lon": lon, "problem": "no_internet", "phone": PHONE_TYPED})
        file_by_phone(tab, {"site_id": "s-park", "problem": "slow", "text": "slow at the pond"})
        file_by_phone(tab, {"lat": lat + 0.05, "lon": lon, "problem": "damaged"})  # unmatched
        file_from_the_street(tab, {"problem": "damaged", "site_id": "s-school"}, photo_jpeg())
    tab.page.reload()
    expect(tab.page.locator("#citizen-list li[data-report]").first).to_be_visible()
    return tab


def shown_ids(tab: Tab) -> list[int]:
    values = tab.page.locator("#citizen-list li[data-report]").evaluate_all(
        "(items) => items.map((li) => Number(li.dataset.report))"
    )
    return [int(v) for v in values]


@pytest.mark.parametrize(
    ("choice", "query", "adjective"),
    [
        ("open", "open=true", "open "),
        ("all", "", ""),
        ("unmatched", "match=unmatched", "unmatched "),
    ],
)
def test_counts_and_order_equal_the_apis(
    engineer: Tab, choice: str, query: str, adjective: str
) -> None:
    page = engineer.page
    page.get_by_label("Show reports", exact=True).select_option(choice)
    listed = engineer.api(f"/api/v1/citizen-reports?limit=50&{query}")
    noun = "report" if listed["count"] == 1 else "reports"
    expect(page.locator("#citizen-count")).to_have_text(f"{listed['count']} {adjective}{noun}")
    expect(page.locator("#citizen-list li[data-report]")).to_have_count(len(listed["data"]))
    assert shown_ids(engineer) == [r["id"] for r in listed["data"]]  # newest first, as the API
    assert engineer.console_errors() == []
    assert engineer.csp_violations() == []


def test_each_report_reads_in_words_with_its_incident_and_contact(engineer: Tab) -> None:
    page = engineer.page
    page.get_by_label("Show reports", exact=True).select_option("all")
    reports = {r["id"]: r for r in engineer.api("/api/v1/citizen-reports?limit=50")["data"]}
    for number, r in reports.items():
        item = page.locator(f'#citizen-list li[data-report="{number}"]')
        expect(item).to_contain_text(f"R-{number}")
        if r["site_name"]:
            expect(item.locator(".citizen-site")).to_contain_text(r["site_name"])
        else:
            expect(item.locator(".citizen-site")).to_contain_text("no hotspot in reach")
        if r["incident"]:
            expect(item.locator("a.citizen-incident")).to_contain_text(
                f"Incident #{r['incident']['id']}"
            )
            expect(item.locator("a.citizen-incident")).to_contain_text(
                f"priority {r['incident']['priority']}"
            )
        else:
            expect(item.locator("a.citizen-incident")).to_have_count(0)
        expect(item.locator(".citizen-phone")).to_have_count(1 if r["phone"] else 0)
        expect(item.get_by_role("button", name="Show photo")).to_have_count(
            1 if r["has_photo"] else 0
        )
    # Names, not ids, in what the engineer reads of the reports.
    text = page.locator("#citizen-list").inner_text()
    assert not re.search(r"\b(s|d|ap)-[a-z0-9]+\b", text), text
    by_phone = next(r for r in reports.values() if r["phone"])
    assert by_phone["phone"] == PHONE
    item = page.locator(f'#citizen-list li[data-report="{by_phone["id"]}"]')
    expect(item.get_by_role("link", name=PHONE)).to_have_attribute("href", f"tel:{PHONE}")
    expect(item).to_contain_text("via call centre (engineer)")
    # The incident link leads to the incident in the list beside the map.
    link = item.locator("a.citizen-incident")
    link.click()
    incident = page.locator(f'#incident-list li[data-incident="{by_phone["incident"]["id"]}"]')
    expect(incident).to_have_class(re.compile(r"\bis-flashed\b"))
    expect(incident).to_be_in_viewport()


def test_a_photo_is_fetched_only_when_asked_for(engineer: Tab) -> None:
    page = engineer.page
    photo_requests: list[str] = []
    page.on("request", lambda r: photo_requests.append(r.url) if "/photo" in r.url else None)
    with_photo = [
        r for r in engineer.api("/api/v1/citizen-reports?limit=50")["data"] if r["has_photo"]
    ]
    assert with_photo
    number = with_photo[0]["id"]
    item = page.locator(f'#citizen-list li[data-report="{number}"]')
    page.wait_for_timeout(500)
    assert photo_requests == []  # opening the view fetched (and audited) no photo
    item.get_by_role("button", name="Show photo").click()
    thumb = item.get_by_role("img", name=f"Photo sent with report R-{number}")
    expect(thumb).to_be_visible()
    assert (thumb.get_attribute("src") or "").startswith("data:image/jpeg;base64,")
    assert len(photo_requests) == 1
    thumb.click()
    expect(thumb).to_have_class(re.compile(r"\bis-large\b"))
    assert engineer.csp_violations() == []


def test_closing_a_report_wipes_its_number(engineer: Tab) -> None:
    page = engineer.page
    open_before = engineer.api("/api/v1/citizen-reports?open=true&limit=1")["count"]
    number = next(
        r["id"] for r in engineer.api("/api/v1/citizen-reports?open=true&limit=50")["data"]
        if r["phone"]
    )  # fmt: skip
    item = page.locator(f'#citizen-list li[data-report="{number}"]')
    item.get_by_role("button", name="Close report").click()
    expect(item).to_have_count(0)  # the open list no longer has it
    expect(page.locator("#citizen-count")).to_have_text(
        f"{open_before - 1} open report{'' if open_before - 1 == 1 else 's'}"
    )
    closed = engineer.api(f"/api/v1/citizen-reports/{number}")
    assert closed["phone"] is None and closed["closed_at"] is not None
    page.get_by_label("Show reports", exact=True).select_option("all")
    item = page.locator(f'#citizen-list li[data-report="{number}"]')
    expect(item).to_contain_text("closed")
    expect(item.locator(".citizen-phone")).to_have_count(0)
    expect(item.get_by_role("button", name="Close report")).to_have_count(0)


@pytest.mark.parametrize("user", ["planner", "partner"])
def test_who_may_not_read_reports_sees_none(
    tab: Tab, passwords: Mapping[str, str], user: str
) -> None:
    tab.open("#/ops")
    tab.log_in(user, passwords[user])
    expect(tab.page.locator("#status-view")).to_have_attribute("data-view", re.compile(r"."))
    tab.page.wait_for_timeout(300)
    expect(tab.page.locator("#citizens")).to_have_count(0)


def test_panels_stack_on_a_phone(engineer: Tab, artefacts: Path) -> None:
    page = engineer.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    boxes = {
        name: page.locator(selector).bounding_box()
        for name, selector in (
            ("map", ".ops-map-card"),
            ("incidents", "#incidents"),
            ("citizens", "#citizens"),
            ("table", ".ops-table"),
        )
    }
    assert all(boxes.values()), boxes
    order = [boxes[n] for n in ("map", "incidents", "citizens", "table")]
    for upper, lower in itertools.pairwise(order):
        assert upper is not None and lower is not None
        assert lower["y"] >= upper["y"] + upper["height"] - 1  # one under the other
    citizens = boxes["citizens"]
    assert citizens is not None and citizens["width"] > 340  # the phone's width
    items = page.locator("#citizen-list li[data-report]")
    first, second = items.nth(0).bounding_box(), items.nth(1).bounding_box()
    assert first and second and second["y"] >= first["y"] + first["height"]
    page.locator("#citizens").scroll_into_view_if_needed()
    shot = artefacts / "citizens-card-390.png"
    page.locator("#citizens").screenshot(path=shot)
    check_not_blank(shot)


def test_citizens_screenshots(engineer: Tab, artefacts: Path) -> None:
    for path in save_screenshots(
        engineer, artefacts, "operations-citizens", ready="#citizen-list li[data-report]"
    ):
        assert path.stat().st_size > 10_000
    engineer.page.set_viewport_size({"width": 1280, "height": 800})
    engineer.page.locator("#citizens").scroll_into_view_if_needed()
    shot = artefacts / "citizens-card-1280.png"
    engineer.page.locator("#citizens").screenshot(path=shot)
    check_not_blank(shot)
    assert engineer.console_errors() == []
