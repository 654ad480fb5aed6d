"""The page's answer to the login rate limit (429 with Retry-After), on a server of its
own with a low limit, so the other page tests' failed logins never reach it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Response, expect

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

MAX_FAILURES = 2


@pytest.fixture(scope="module")
def page_settings_overrides() -> dict[str, Any]:
    return {"login_max_failures_per_user": MAX_FAILURES}


def attempt(tab: Tab, name: str, password: str) -> Response:
    """Submits the form and returns the server's answer (the page hides the old error
    line on submit and shows the new one once this answer is in)."""
    with tab.page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login")) as answer:
        tab.log_in(name, password)
    return answer.value


def test_too_many_failures_say_how_long_to_wait(tab: Tab, passwords: Mapping[str, str]) -> None:
    tab.open()
    error = tab.page.locator("#login-error")
    for n in range(MAX_FAILURES):
        assert attempt(tab, "engineer", f"not-the-password-{n}").status == 401
        expect(error).to_be_visible()
        expect(error).to_have_text("Wrong name or password.")
    # Limited now: even the right password is refused, and the page says for how long.
    limited = attempt(tab, "engineer", passwords["engineer"])
    assert limited.status == 429
    seconds = int(limited.headers["retry-after"])
    expect(error).to_be_visible()
    shown = error.inner_text()
    found = re.fullmatch(r"Too many failed logins\. Try again in (\d+) (s|min)\.", shown)
    assert found, shown
    wait_s = int(found.group(1)) * (60 if found.group(2) == "min" else 1)
    assert seconds <= wait_s < seconds + 60  # rounded up, never shorter than the real wait
    expect(tab.page.locator("#status-view")).to_be_hidden()
