"""One browser page of a page test, and what it reported: a helper the dashboards'
conftest.py builds the ``tab`` fixture from (test modules take the fixture; they import
:class:`Tab` only to annotate it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response

# The two screens every view must be readable on: a laptop and a phone.
SCREENS: Mapping[str, tuple[int, int]] = {"1280": (1280, 800), "390": (390, 844)}
# A drawn dashboard has anti-aliased text, markers and charts: thousands of colours. A
# blank or error page has a handful; one colour covering nearly everything is blank too.
MIN_COLOURS = 64
MAX_ONE_COLOUR = 0.9
# What Chromium logs for an answer that is not 2xx the page expects (the /me probe).
EXPECTED_ERROR = re.compile(r"^error: Failed to load resource: .* status of 401 ")

# Records every CSP violation the document reports; Playwright adds it to each document
# through the DevTools protocol, which the page's CSP does not govern.
VIOLATION_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@dataclass
class Tab:
    """One page in a fresh browser context, with what it reported to the console."""

    url: str
    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)  # "type: text"
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page

    def open(self, fragment: str = "") -> Response:
        """Loads the page (``fragment`` e.g. "#state=up") and returns the document's response."""
        response = self.page.goto(self.url + fragment)
        assert response is not None
        return response

    def log_in(self, name: str, password: str) -> None:
        """Fills the form by its labels (so the labels must be there) and submits it."""
        self.page.get_by_label("Name", exact=True).fill(name)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Log in").click()

    def cookie(self, name: str) -> str | None:
        found = [c.get("value") for c in self.context.cookies() if c.get("name") == name]
        return found[0] if found else None

    def console_errors(self) -> list[str]:
        """Uncaught exceptions and console errors, but for the expected 401 of the probe."""
        logged = [m for m in self.console if m.startswith("error") and not EXPECTED_ERROR.match(m)]
        return self.errors + logged

    def api(self, path: str) -> Any:
        """GET an API path with this browser's session (the page's cookies): what the page
        itself was answered, to compare with what it shows."""
        response = self.page.request.get(self.url.rstrip("/") + path)
        assert response.ok, f"{path}: HTTP {response.status}"
        return response.json()

    def csp_violations(self) -> list[str]:
        """Violations the document reported, and the console lines Chromium wrote for them."""
        events: list[str] = self.page.evaluate("window.__cspViolations || []")
        lines = [m for m in self.console if "Content Security Policy" in m]
        return events + lines


def check_not_blank(path: Path) -> None:
    """A screenshot shows a drawn page: many colours, none covering almost all of it."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24) or []
        pixels = rgb.width * rgb.height
    assert len(colours) >= MIN_COLOURS, f"{path}: only {len(colours)} colours"
    top = max(n for n, _colour in colours)
    assert top / pixels <= MAX_ONE_COLOUR, f"{path}: one colour covers {top / pixels:.0%}"


def save_screenshots(
    tab: Tab, directory: Path, name: str, *, ready: str | None = None
) -> list[Path]:
    """Screenshots of the page at each of :data:`SCREENS` (the viewport is left at the
    last), as ``DIRECTORY/NAME-WIDTH.png``; each checked to be non-blank.

    With ``ready`` (a CSS selector), the page is loaded anew at each size and shot once that
    element is visible: what a phone opening the URL sees, not a laptop page squeezed
    (Chromium may keep stale paint of a box a media query resized).
    """
    paths = []
    for width, (w, h) in SCREENS.items():
        tab.page.set_viewport_size({"width": w, "height": h})
        if ready is not None:
            tab.page.reload()
            tab.page.locator(ready).first.wait_for(state="visible")
        # Let the views settle for the width (maps and charts follow their box).
        tab.page.wait_for_timeout(500)
        path = directory / f"{name}-{width}.png"
        tab.page.screenshot(path=path, full_page=False)
        check_not_blank(path)
        paths.append(path)
    return paths
