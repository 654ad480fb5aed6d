"""The public report page (/report) in a real Chromium against a real server, at a phone's
width first: a citizen picks a hotspot (on the map, or by the browser's location), says what
is wrong, the page solves the proof of work and files the report, and an engineer then
finds it in the operations view.

The page's words for the problems are checked against :data:`core.citizens.PROBLEM_WORDS`,
its SHA-256 against :mod:`hashlib`, every input against having a label, and what it says
when the server refuses (413, 422, 429) against being one readable line. Nothing a citizen
sent may show up on the public pages or routes afterwards.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image
from playwright.sync_api import Route, expect

from api.routes.web import WEB_DIR
from citizens.proof import leading_zero_bits
from core.citizens import PROBLEM_WORDS, Problem
from tests.api.city import SITE_POSITIONS
from tests.dashboards.browser import check_not_blank, save_screenshots

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab
    from tests.fixtures.secret_scan import PersonalData

POW_BITS = 8  # a few hundred hashes: the test is about the page, not about the work
PHOTO_MAX = 4096  # bytes: small enough that a test can send a photo that is too large
PHONE_TYPED = "+62 811-2233-4455"
PHONE = "+6281122334455"  # as citizens.phone normalises it
TEXT = "the sign by the gate is broken and nothing connects since this morning"
PUBLIC_SCRIPTS = ("report.js", "hotspots.js", "citizens.js")


@pytest.fixture(scope="module")
def page_settings_overrides() -> dict[str, Any]:
    return {
        "citizen_pow_bits": POW_BITS,
        "citizen_photo_max_bytes": PHOTO_MAX,
        "citizen_reports_per_address": 1000,  # every report of the module comes from 127.0.0.1
    }


def photo_png(size: int = 24) -> bytes:
    """A small picture (a colour gradient), well under :data:`PHOTO_MAX`."""
    image = Image.new("RGB", (size, size))
    image.putdata([(x * 10 % 256, y * 10 % 256, 128) for y in range(size) for x in range(size)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    data = out.getvalue()
    assert len(data) < PHOTO_MAX
    return data


@pytest.fixture
def citizen(tab: Tab) -> Tab:
    """The report page on a phone, its hotspots drawn."""
    tab.page.set_viewport_size({"width": 390, "height": 844})
    tab.open("report")
    expect(tab.page.locator("#report-map .cw-layer-hotspots circle").first).to_be_attached()
    return tab


def public_hotspots(tab: Tab) -> dict[str, Any]:
    response = tab.page.request.get(tab.url + "public/hotspots")
    assert response.ok
    body: dict[str, Any] = response.json()
    return body


def choose_problem(tab: Tab, problem: Problem) -> None:
    tab.page.get_by_label(PROBLEM_WORDS[problem], exact=False).check()


def send(tab: Tab) -> int:
    """Presses Send and waits for the thanks; returns the report's number."""
    tab.page.get_by_role("button", name="Send report").click()
    answer = tab.page.locator("#answer")
    expect(answer).to_be_visible()
    expect(tab.page.locator("#report-form")).to_be_hidden()
    number = answer.get_attribute("data-report")
    assert number is not None
    expect(tab.page.locator("#answer-text")).to_contain_text(f"R-{number}")
    return int(number)


def log_in_engineer(tab: Tab, passwords: Mapping[str, str]) -> None:
    tab.open()
    tab.log_in("engineer", passwords["engineer"])
    expect(tab.page.locator("#citizen-count")).to_have_text(re.compile(r"^\d+ open reports?$"))


def error_line(tab: Tab) -> str:
    line = tab.page.locator("#report-error")
    expect(line).to_be_visible()
    text = line.inner_text()
    assert "\n" not in text.strip(), text  # one line
    return text


# --- the page itself ---------------------------------------------------------------------


def test_scripts_make_no_markup_from_text() -> None:
    for name in PUBLIC_SCRIPTS:
        script = (WEB_DIR / name).read_text(encoding="utf-8")
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
            assert banned not in script, f"{name}: {banned}"
    for name in ("report.html", "hotspots.html"):
        markup = (WEB_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", markup), name  # no inline script
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", markup), name


def test_served_without_login_under_the_strict_policy(tab: Tab) -> None:
    response = tab.open("report")
    assert response.status == 200
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, policy
    assert response.headers.get("cache-control") == "no-cache"
    hotspots = public_hotspots(tab)
    markers = tab.page.locator("#report-map .cw-layer-hotspots circle")
    expect(markers).to_have_count(hotspots["count"])
    # The list names every hotspot (and its district), never an id alone.
    options = tab.page.locator("#site option:not([value=''])")
    expect(options).to_have_count(hotspots["count"])
    for feature in hotspots["features"]:
        p = feature["properties"]
        option = tab.page.locator(f'#site option[value="{p["id"]}"]')
        expect(option).to_have_text(f"{p['name']} — {p['district']}")
    assert tab.console_errors() == []
    assert tab.csp_violations() == []


def test_every_input_has_a_label_and_the_problems_are_the_words_of_core(citizen: Tab) -> None:
    unlabelled = citizen.page.evaluate(
        """() => [...document.querySelectorAll('#report-form :is(input, select, textarea)')]
             .filter((el) => !el.labels || el.labels.length === 0)
             .map((el) => el.id || el.name)"""
    )
    assert unlabelled == []
    radios = citizen.page.locator('input[name="problem"]')
    expect(radios).to_have_count(len(Problem))
    for problem in Problem:
        radio = citizen.page.get_by_label(PROBLEM_WORDS[problem], exact=False)
        expect(radio).to_have_attribute("value", problem.value)
    # The honeypot is out of sight and out of the tab order, yet not display:none.
    honeypot = citizen.page.locator("#website")
    expect(honeypot).to_have_attribute("tabindex", "-1")
    box = honeypot.bounding_box()
    assert box is not None and box["x"] + box["width"] < 0


def test_sha256_and_proof_of_work_agree_with_the_server(citizen: Tab) -> None:
    """The plain-JavaScript SHA-256 (for pages served over plain HTTP) against hashlib, at
    the padding's edge lengths, and a solved nonce against the server's own check."""
    lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]
    digests = citizen.page.evaluate(
        """async (lengths) => {
             const m = await import('/static/report.js');
             const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
             return lengths.map((n) => hex(m.sha256(new TextEncoder().encode('a'.repeat(n)))));
           }""",
        lengths,
    )
    assert digests == [hashlib.sha256(b"a" * n).hexdigest() for n in lengths]
    for fallback in (False, True):
        nonce = citizen.page.evaluate(
            """async (fallback) => {
                 const m = await import('/static/report.js');
                 return m.solve('1700000000.abc.def', 10, { useFallback: fallback });
               }""",
            fallback,
        )
        work = hashlib.sha256(f"1700000000.abc.def:{nonce}".encode()).digest()
        assert leading_zero_bits(work) >= 10


# --- filing ---------------------------------------------------------------------------------


def test_a_report_filed_on_a_phone_appears_in_the_engineers_view(
    citizen: Tab,
    passwords: Mapping[str, str],
    personal_data: PersonalData,
    artefacts: Path,
) -> None:
    personal_data.names([PHONE, PHONE_TYPED, TEXT])
    page = citizen.page
    # Picked on the map: the marker says the hotspot's name and state.
    page.get_by_role("button", name=re.compile(r"^Hill School, ")).click()
    expect(page.locator("#site")).to_have_value("s-school")
    expect(page.locator("#where-note")).to_contain_text("Reporting about Hill School (South)")
    choose_problem(citizen, Problem.NO_SIGNAL)
    page.get_by_label("What happened").fill(TEXT)
    page.get_by_label("A photo").set_input_files(
        {"name": "gate.png", "mimeType": "image/png", "buffer": photo_png()}
    )
    page.get_by_label("Your phone number", exact=False).fill(PHONE_TYPED)
    page.screenshot(path=artefacts / "report-filled-390.png", full_page=True)
    number = send(citizen)
    answer = page.locator("#answer-text")
    expect(answer).to_contain_text("for Hill School")
    expect(answer).to_contain_text("already knows about it")  # site_down s-school is open
    shot = artefacts / "report-answer-390.png"
    page.screenshot(path=shot)
    check_not_blank(shot)
    assert citizen.console_errors() == []
    assert citizen.csp_violations() == []

    # Nothing the citizen sent is on the public pages or the public route.
    for path, ready in (("hotspots", "#hotspot-list li[data-site]"), ("report", "#site option")):
        citizen.open(path)
        page.locator(ready).first.wait_for(state="attached")
        shown = page.locator("body").inner_text() + page.content()
        assert not any(v in shown for v in (PHONE, PHONE_TYPED, "811-2233", TEXT[:20]))
    public = citizen.page.request.get(citizen.url + "public/hotspots").text()
    assert PHONE[1:] not in re.sub(r"\D", "", public) and TEXT[:20] not in public

    # The engineer's view, on the same phone: the report with its place, words and number.
    log_in_engineer(citizen, passwords)
    item = page.locator(f'#citizen-list li[data-report="{number}"]')
    expect(item).to_contain_text("No WiFi signal")
    expect(item).to_contain_text("Hill School")
    expect(item).to_contain_text(f"R-{number}")
    expect(item).to_contain_text("via report page")
    expect(item).to_contain_text(PHONE)
    expect(item).to_contain_text(TEXT)
    report = citizen.api(f"/api/v1/citizen-reports/{number}")
    assert (report["site_id"], report["channel"], report["problem"]) == (
        "s-school",
        "web",
        "no_signal",
    )
    assert report["phone"] == PHONE and report["text"] == TEXT and report["has_photo"]
    assert report["incident"] is not None
    expect(item.locator("a.citizen-incident")).to_contain_text(
        f"Incident #{report['incident']['id']}"
    )
    listed = citizen.api("/api/v1/citizen-reports?open=true&limit=50")
    expect(page.locator("#citizen-count")).to_have_text(
        f"{listed['count']} open report{'' if listed['count'] == 1 else 's'}"
    )
    expect(page.locator("#citizen-list li[data-report]")).to_have_count(len(listed["data"]))
    item.get_by_role("button", name="Show photo").click()
    thumb = item.locator("img.citizen-thumb")
    expect(thumb).to_be_visible()
    assert (thumb.get_attribute("src") or "").startswith("data:image/")
    item.scroll_into_view_if_needed()
    item.screenshot(path=artefacts / "report-in-engineer-view-390.png")
    assert citizen.console_errors() == []
    assert citizen.csp_violations() == []


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (SITE_POSITIONS["s-park"], "for Riverside Park"),
        ((SITE_POSITIONS["s-park"][0] + 0.05, SITE_POSITIONS["s-park"][1]), "not matched"),
    ],
    ids=["at-a-hotspot", "out-of-reach"],
)
def test_a_report_by_the_browsers_location(
    citizen: Tab, passwords: Mapping[str, str], where: tuple[float, float], expected: str
) -> None:
    lat, lon = where
    citizen.context.grant_permissions(["geolocation"])
    citizen.context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 10})
    page = citizen.page
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#where-note")).to_contain_text("Using your location.")
    expect(page.locator("#report-map .you-are-here")).to_have_count(1)
    expect(page.locator("#site")).to_have_value("")
    choose_problem(citizen, Problem.SLOW)
    number = send(citizen)
    expect(page.locator("#answer-text")).to_contain_text(expected)
    log_in_engineer(citizen, passwords)
    report = citizen.api(f"/api/v1/citizen-reports/{number}")
    assert report["lat"] == pytest.approx(lat, abs=1e-5)
    assert report["lon"] == pytest.approx(lon, abs=1e-5)
    item = page.locator(f'#citizen-list li[data-report="{number}"]')
    if report["match"] == "unmatched":
        expect(item).to_contain_text("no hotspot in reach")
    else:
        assert report["site_id"] == "s-park"
        expect(item).to_contain_text("Riverside Park")


def test_a_filled_honeypot_is_thanked_and_dropped(tab: Tab, passwords: Mapping[str, str]) -> None:
    log_in_engineer(tab, passwords)
    before = tab.api("/api/v1/citizen-reports?limit=1")["count"]
    tab.open("report")
    page = tab.page
    expect(page.locator("#site option")).not_to_have_count(1)
    page.locator("#site").select_option("s-park")
    choose_problem(tab, Problem.DAMAGED)
    page.locator("#website").fill("http://spam.example")  # what a form-filling robot does
    send(tab)
    assert tab.api("/api/v1/citizen-reports?limit=1")["count"] == before


# --- refusals -------------------------------------------------------------------------------


def test_what_is_missing_is_said_before_anything_is_sent(citizen: Tab) -> None:
    page = citizen.page
    page.get_by_role("button", name="Send report").click()
    assert "choose the hotspot" in error_line(citizen)
    page.locator("#site").select_option("s-market")
    page.get_by_role("button", name="Send report").click()
    assert error_line(citizen) == "Please choose what is wrong."


def test_refusals_are_one_readable_line(citizen: Tab) -> None:
    page = citizen.page
    page.locator("#site").select_option("s-market")
    choose_problem(citizen, Problem.NO_INTERNET)
    # 413: the server's own limit (the module's photo limit is 4 KiB).
    page.get_by_label("A photo").set_input_files(
        {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + b"x" * 3 * PHOTO_MAX}
    )
    page.get_by_role("button", name="Send report").click()
    assert "too large" in error_line(citizen)
    # 422: not a picture at all, whatever its name says.
    page.get_by_label("A photo").set_input_files(
        {"name": "cat.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture " * 20}
    )
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#report-error")).to_contain_text("The report was not accepted: photo")
    error_line(citizen)
    page.get_by_label("A photo").set_input_files([])
    # 422: a phone number that is not one; the answer does not repeat it.
    page.get_by_label("Your phone number", exact=False).fill("call me maybe")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#report-error")).to_contain_text("phone")
    assert "maybe" not in error_line(citizen)
    page.get_by_label("Your phone number", exact=False).fill("")

    # 429: the server's answer when its limits are reached (forced here: the limits have
    # tests of their own), with its Retry-After in words.
    def too_many(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "3600", "Content-Type": "application/json"},
            body='{"detail": "too many reports", "message": "too many reports"}',
        )

    page.route("**/public/reports", too_many)
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#report-error")).to_contain_text("Please try again in 60 minutes.")
    error_line(citizen)
    expect(page.locator("#report-form")).to_be_visible()  # nothing lost: send again later
    expect(page.locator("#site")).to_have_value("s-market")
    assert citizen.csp_violations() == []
    assert citizen.errors == []


def test_report_page_screenshots(tab: Tab, artefacts: Path) -> None:
    tab.open("report")
    for path in save_screenshots(tab, artefacts, "report", ready="#report-map circle"):
        assert path.stat().st_size > 10_000
    assert tab.console_errors() == []
