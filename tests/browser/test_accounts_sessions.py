"""The account's Sessions page in Chromium (issue 21 item 4): signed in through the form on one browser and
elsewhere on another, the first sees both (its own marked "This device"), signs the other out, and the other is
sent to the sign-in page with the reason at its next click. Axe clean; screenshots at 1280 and 390 wide."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, MOBILE, assert_page_is_clean
from tests.factories import PASSWORD

pytestmark = pytest.mark.services


def sign_in(page, email="carol@example.com"):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def test_a_user_signs_another_browser_out(browse, world):
    laptop, watch = browse.open(DESKTOP)
    sign_in(laptop)
    phone, phone_watch = browse.open(MOBILE, user=world.carol)
    phone.goto("/t/acme/")

    laptop.get_by_role("link", name="carol@example.com").click()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Your sessions")
    expect(laptop.get_by_text("This device")).to_have_count(1)
    expect(laptop.get_by_role("row", name="Headless Chrome on Linux This device")).to_be_visible()
    assert_page_is_clean(laptop, watch, "account-sessions")

    laptop.get_by_role("button", name="Sign out every other session (1)").click()
    expect(laptop.get_by_text("Signed out 1 other session.")).to_be_visible()
    expect(laptop.get_by_role("row")).to_have_count(2)  # the header and this device

    phone.get_by_role("link", name="Clients").first.click()
    expect(phone).to_have_url(re.compile(r"/accounts/login/"))
    expect(phone.get_by_text("This session was ended from another device. Sign in again.")).to_be_visible()

    # The phone signs in again and finds the page behind "Account" (the e-mail is hidden at its width).
    sign_in(phone)
    phone.get_by_role("link", name="Account").click()
    expect(phone.get_by_text("This device")).to_be_visible()
    assert_page_is_clean(phone, phone_watch, "account-sessions")
