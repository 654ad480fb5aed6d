"""The page runs under the server's strict content security policy.

The policy (script-src 'self'; style-src 'self'; ...) blocks inline script, inline event
handlers and style attributes. A page that breaks it does not fail loudly: the browser
drops the script or style and writes a line to the console. So a whole session is driven
(login form, a wrong password, login, filters, sorting, logout) and every violation the
document reported, and every console line about the policy, is collected: none allowed.
A control test shows that the collector does see a violation when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from playwright.sync_api import expect

from api.routes.web import WEB_DIR

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

# The directives the page relies on being strict; api.headers writes the whole policy.
STRICT = ("default-src 'self'", "script-src 'self'", "style-src 'self'")
# What Chromium logs for an answer that is not 2xx (the /me probe, the wrong password).
REFUSED = re.compile(r"^error: Failed to load resource: .* status of 401 ")


class _Inline(HTMLParser):
    """Finds what a strict CSP would block in the markup itself."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        self.found += [f"{name}= on <{tag}>" for name in names if name.startswith("on")]
        if "style" in names:
            self.found.append(f"style= on <{tag}>")


def test_markup_has_no_inline_script_handler_or_style() -> None:
    parser = _Inline()
    parser.feed((WEB_DIR / "index.html").read_text(encoding="utf-8"))
    assert parser.found == []
    script = (WEB_DIR / "app.js").read_text(encoding="utf-8")
    # Text only ever goes in as text; no code is made from strings.
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
        assert banned not in script, banned


def test_a_full_session_reports_no_csp_violation(tab: Tab, passwords: Mapping[str, str]) -> None:
    page = tab.open()
    policy = page.headers.get("content-security-policy", "")
    assert all(directive in policy for directive in STRICT), policy  # else the check is moot
    tab.log_in("admin", passwords["admin"] + "-wrong")
    expect(tab.page.locator("#login-error")).to_be_visible()
    tab.log_in("admin", passwords["admin"])
    rows = tab.page.locator("#rows tr[data-ap]")
    expect(rows).to_have_count(5)
    tab.page.get_by_label("Filter").fill("riverside")
    expect(rows).to_have_count(2)
    tab.page.get_by_label("Filter").fill("")
    tab.page.locator(".tile-down").click()
    expect(rows).to_have_count(1)
    tab.page.locator(".tile-down").click()
    tab.page.get_by_role("button", name="Clients").click()
    expect(tab.page.locator('th[data-key="clients"]')).to_have_attribute("aria-sort", "ascending")
    tab.page.evaluate("window.__sameDocument = true")
    tab.page.get_by_label("Filter").press("Enter")  # the filter form must not submit
    assert tab.page.evaluate("window.__sameDocument === true")  # no reload
    tab.page.get_by_role("button", name="Log out").click()
    expect(tab.page.get_by_role("button", name="Log in")).to_be_visible()
    assert tab.csp_violations() == []
    assert tab.errors == []
    unexpected = [m for m in tab.console if m.startswith("error") and not REFUSED.match(m)]
    assert unexpected == [], tab.console


def test_a_violation_would_be_reported(tab: Tab) -> None:
    """The control: a style attribute added to the page is seen by the collector."""
    tab.open()
    expect(tab.page.get_by_role("button", name="Log in")).to_be_visible()
    assert tab.csp_violations() == []
    tab.page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')"
    )
    tab.page.wait_for_function("window.__cspViolations.length > 0")
    assert any("style-src" in v for v in tab.csp_violations()), tab.csp_violations()
