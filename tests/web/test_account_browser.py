"""A curator's own account page in Chromium, desktop and 390 px: sign out another
browser by clicking, change one's password (a wrong current password refused, the
other browsers signed out, the new password works), axe clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_a11y import violations

from curation_helpers import PASSWORD, live_server, sample_record, seed
from opis.services.archive import Archive
from opis.web.app import create_app

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": 1280, "phone": 390}
NEW_PASSWORD = "Новый пароль 김일성 “quoted” ō"  # any script, as a person might type


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")
    archive = Archive(str(tmp_path / "account.db"))
    archive.put([sample_record()])
    seed(archive)
    try:
        with live_server(create_app(archive)) as url:
            yield url
    finally:
        archive.close()


def context(browser: Browser, width: int, agent: str) -> BrowserContext:
    return browser.new_context(viewport={"width": width, "height": 900}, user_agent=agent,
                               reduced_motion="reduce", bypass_csp=True)


def log_in(page: Page, site: str, password: str = PASSWORD) -> None:
    page.goto(f"{site}/login")
    page.get_by_label("User name").fill("eddie")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def signed_in(page: Page, site: str) -> bool:
    page.goto(f"{site}/account")
    return "/login" not in page.url


@pytest.mark.parametrize("width", list(WIDTHS))
def test_sign_out_another_browser_then_change_the_password(browser, site, width):
    laptop = context(browser, WIDTHS[width], "Laptop Chromium")
    phone = context(browser, WIDTHS[width], "Phone Chromium")
    try:
        me, other = laptop.new_page(), phone.new_page()
        log_in(other, site)
        log_in(me, site)
        me.get_by_role("link", name="eddie").click()  # the name in the header
        expect(me.get_by_role("heading", name="Your account")).to_be_visible()
        expect(me.locator("#this-session")).to_contain_text("This browser")
        expect(me.locator("#this-session")).to_contain_text("Laptop Chromium")
        expect(me.locator(".other-session")).to_have_count(1)
        expect(me.locator(".other-session")).to_contain_text("Phone Chromium")
        assert violations(me) == []

        me.locator(".other-session").get_by_role("button", name=re.compile("Sign out")).click()
        expect(me.locator("#done")).to_have_text("That browser has been signed out.")
        expect(me.locator(".other-session")).to_have_count(0)
        assert not signed_in(other, site)

        log_in(other, site)  # back on the phone, then a password change from the laptop
        me.goto(f"{site}/account")
        me.get_by_label("Current password").fill("not my password at all")
        me.get_by_label("New password (at least 10 characters)").fill(NEW_PASSWORD)
        me.get_by_label("New password again").fill(NEW_PASSWORD)
        me.get_by_role("button", name="Change password").click()
        expect(me.locator("#password-error")).to_contain_text("current password is not right")
        assert signed_in(other, site)  # nothing changed

        me.goto(f"{site}/account")
        me.get_by_label("Current password").fill(PASSWORD)
        me.get_by_label("New password (at least 10 characters)").fill(NEW_PASSWORD)
        me.get_by_label("New password again").fill(NEW_PASSWORD + "!")
        me.get_by_role("button", name="Change password").click()
        expect(me.locator("#password-error")).to_contain_text("differ")

        me.get_by_label("Current password").fill(PASSWORD)
        me.get_by_label("New password (at least 10 characters)").fill(NEW_PASSWORD)
        me.get_by_label("New password again").fill(NEW_PASSWORD)
        me.get_by_role("button", name="Change password").click()
        expect(me.locator("#done")).to_contain_text("Your password is changed")
        assert violations(me) == []
        assert not signed_in(other, site)  # the other browser is out
        assert signed_in(me, site)  # this one stays
        me.get_by_role("button", name="Log out").click()
        me.goto(f"{site}/login")
        me.get_by_label("User name").fill("eddie")
        me.get_by_label("Password").fill(PASSWORD)
        me.get_by_role("button", name="Log in").click()
        expect(me.locator("#login-error")).to_be_visible()  # the old password is dead
        log_in(me, site, NEW_PASSWORD)
    finally:
        laptop.close()
        phone.close()


def test_the_account_page_asks_an_anonymous_visitor_to_log_in(browser, site):
    ctx = context(browser, 390, "Phone Chromium")
    try:
        page = ctx.new_page()
        page.goto(f"{site}/account")
        expect(page).to_have_url(re.compile(r".*/login\?next=/account"))
    finally:
        ctx.close()
