"""One browser page of a page test, and what it reported: a helper the dashboards'
conftest.py builds the ``tab`` fixture from (test modules take the fixture; they import
:class:`Tab` only to annotate it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Response

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

    def csp_violations(self) -> list[str]:
        """Violations the document reported, and the console lines Chromium wrote for them."""
        events: list[str] = self.page.evaluate("window.__cspViolations || []")
        lines = [m for m in self.console if "Content Security Policy" in m]
        return events + lines
