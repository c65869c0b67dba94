"""The invitation e-mail page in Chromium (issue 20 item 3): a lead writes the subject and intro, sees the e-mail as
a real contact gets it (the preview frame) and sends the test to themself; axe finds nothing on the page.
Screenshot: artifacts/screenshots/email-texts-1280.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, assert_page_is_clean
from tests.builders import live_survey
from tests.factories import ContactFactory

pytestmark = [pytest.mark.services, pytest.mark.postgres]


def test_a_lead_writes_previews_and_tests_the_invitation_e_mail(browse, world):
    survey = live_survey(world.a)
    ContactFactory(client__tenant=world.a, client__name="Northwind", name="Ann Lee")
    page, watch = browse.open(DESKTOP, user=world.carol)
    page.goto(f"/t/acme/surveys/{survey.uuid}/email/")
    expect(page.get_by_role("link", name="E-mail", exact=True)).to_have_attribute("aria-current", "page")
    page.get_by_label("Subject", exact=True).fill("{{contact.first_name|Hello}}, a minute for {{client.name}}?")
    page.get_by_label("Introduction", exact=True).fill("<p>Your view shapes <b>our service</b>.</p>")
    page.get_by_role("button", name="Save e-mail texts").click()
    expect(page.get_by_text("E-mail texts saved")).to_be_visible()
    page.get_by_label("Contact", exact=True).select_option(label="Ann Lee — Northwind")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Ann, a minute for Northwind?")).to_be_visible()
    frame = page.frame_locator("iframe.email-preview")
    expect(frame.get_by_text("Hello Ann Lee,")).to_be_visible()
    expect(frame.locator("b", has_text="our service")).to_be_visible()
    assert_page_is_clean(page, watch, "email-texts")
    page.get_by_role("button", name="Send this test e-mail to me").click()
    expect(page.get_by_text("Test e-mail on its way to")).to_be_visible()
