"""Logging in and out of the status page in a real browser against the real auth API.

What the page must get right on its side of the login: the form when there is no session,
the error when the password is wrong, the CSRF header on the logout, a view scoped to a
partner user's own APs without a partner column, and the way back to the form (with the
bookmarked view kept) when the session ends while the page is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Locator, Request, expect

from inventory.accounts import close_session
from inventory.db import transaction

if TYPE_CHECKING:
    from tests.dashboards.browser import Tab

SESSION_COOKIE = "citywifi_session"  # api.auth
CSRF_COOKIE = "citywifi_csrf"
REFRESH_MS = 5000  # app.js REFRESH_MS


def rows(tab: Tab) -> Locator:
    return tab.page.locator("#rows tr[data-ap]")


def row_order(tab: Tab) -> list[str]:
    return [r.get_attribute("data-ap") or "" for r in rows(tab).all()]


def expect_login_form(tab: Tab) -> None:
    expect(tab.page.get_by_role("button", name="Log in")).to_be_visible()
    expect(tab.page.locator("#status-view")).to_be_hidden()
    expect(tab.page.locator("#who")).to_be_hidden()
    expect(rows(tab)).to_have_count(0)  # no data of anyone left in the page


def test_without_a_session_the_login_form_appears(tab: Tab) -> None:
    asked: list[str] = []
    tab.page.on("request", lambda r: asked.append(r.url))
    tab.open()
    expect_login_form(tab)
    name = tab.page.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    expect(name).to_have_attribute("autocomplete", "username")
    expect(tab.page.get_by_label("Password", exact=True)).to_have_attribute("type", "password")
    assert tab.page.title() == "citywifi — live status"
    assert any(u.endswith("/api/v1/auth/me") for u in asked)
    assert not any("/api/v1/status" in u for u in asked)  # no polling without a session


def test_wrong_password_shows_the_error(tab: Tab, passwords: Mapping[str, str]) -> None:
    tab.open()
    tab.log_in("planner", passwords["planner"] + "-wrong")
    error = tab.page.locator("#login-error")
    expect(error).to_have_text("Wrong name or password.")
    expect(error).to_have_attribute("role", "alert")
    expect_login_form(tab)
    expect(tab.page.get_by_label("Name", exact=True)).to_have_value("planner")
    expect(tab.page.get_by_label("Password", exact=True)).to_have_value("")  # type it again
    assert tab.cookie(SESSION_COOKIE) is None
    # The right password then works, and the error goes: the planner lands on coverage.
    tab.log_in("planner", passwords["planner"])
    expect(tab.page.locator("#status-view")).to_have_attribute("data-view", "coverage")
    expect(error).to_be_hidden()


@pytest.mark.parametrize(
    ("user", "own_name", "other_name"),
    [
        ("partner", "Bank of Example", "Telco Ltd"),
        ("partner-telco", "Telco Ltd", "Bank of Example"),
    ],
)
def test_partner_lands_on_its_own_view_and_sees_no_other(
    tab: Tab, passwords: Mapping[str, str], user: str, own_name: str, other_name: str
) -> None:
    """The partner view (tests/dashboards/test_partner_view.py checks its sites); here: the
    login takes a partner there, not to the operations view, and nothing of another shows."""
    tab.open()
    tab.log_in(user, passwords[user])
    expect(tab.page.locator("#status-view")).to_have_attribute("data-view", "partner")
    expect(tab.page.locator("#who")).to_contain_text(f"Signed in as {user} (partner · {own_name})")
    expect(tab.page.get_by_role("link", name="Operations")).to_have_count(0)
    expect(rows(tab)).to_have_count(0)
    assert other_name not in tab.page.content()


def test_logout_returns_to_the_form_and_ends_the_session(
    tab: Tab, passwords: Mapping[str, str], page_url: str
) -> None:
    tab.open()
    tab.log_in("engineer", passwords["engineer"])
    expect(rows(tab)).to_have_count(5)
    session_cookie, csrf = tab.cookie(SESSION_COOKIE), tab.cookie(CSRF_COOKIE)
    assert session_cookie and csrf

    def is_logout(request: Request) -> bool:
        return request.url.endswith("/api/v1/auth/logout")

    with tab.page.expect_request(is_logout) as sent:
        tab.page.get_by_role("button", name="Log out").click()
    assert sent.value.method == "POST"
    assert sent.value.headers.get("x-csrf-token") == csrf  # read from the cookie
    expect_login_form(tab)
    expect(tab.page.locator("#login-note")).to_have_text("You have logged out.")
    assert tab.cookie(SESSION_COOKIE) is None
    # The old cookie is dead on the server, not just forgotten by the browser.
    me = httpx.get(f"{page_url}api/v1/auth/me", cookies={SESSION_COOKIE: session_cookie})
    assert me.status_code == 401
    tab.page.reload()
    expect_login_form(tab)


def test_users_in_turn_on_one_page(tab: Tab, passwords: Mapping[str, str]) -> None:
    """The next user on the same page sees their own view, never a trace of the last one's."""
    tab.open()
    tab.log_in("admin", passwords["admin"])
    expect(rows(tab)).to_have_count(5)
    tab.page.get_by_role("button", name="Log out").click()
    expect_login_form(tab)
    tab.log_in("partner", passwords["partner"])
    expect(tab.page.locator("#status-view")).to_have_attribute("data-view", "partner")
    expect(rows(tab)).to_have_count(0)  # the admin's table is gone with the admin
    assert "Telco Ltd" not in tab.page.content()
    tab.page.get_by_role("button", name="Log out").click()
    expect_login_form(tab)
    tab.log_in("admin", passwords["admin"])
    expect(rows(tab)).to_have_count(5)
    expect(tab.page.locator('th[data-key="partner"]')).to_have_count(1)  # back for the admin
    expect(tab.page.locator('tr[data-ap="ap-03"] td.col-partner')).to_have_text("Telco Ltd")


def test_session_ended_elsewhere_returns_to_the_form_keeping_the_view(
    tab: Tab, passwords: Mapping[str, str], page_app: FastAPI
) -> None:
    tab.page.clock.install()  # the next poll comes when the test says, not in 5 s
    tab.open("#state=up&q=riverside")
    tab.log_in("admin", passwords["admin"])
    expect(rows(tab)).to_have_count(2)
    cookie = tab.cookie(SESSION_COOKIE)
    assert cookie
    # Ended on the server (as expiry or a logout in another tab would): the next poll is 401.
    with transaction(page_app.state.engine) as session:
        close_session(session, cookie)
    tab.page.clock.run_for(REFRESH_MS)
    expect_login_form(tab)
    expect(tab.page.locator("#login-note")).to_contain_text("Your session has ended")
    assert tab.page.url.endswith("#state=up&q=riverside")
    tab.log_in("admin", passwords["admin"])
    expect(rows(tab)).to_have_count(2)  # the same view as before
    expect(tab.page.get_by_label("Filter")).to_have_value("riverside")
    expect(tab.page.get_by_label("State")).to_have_value("up")
