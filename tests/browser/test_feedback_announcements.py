""""You said, we did" in Chromium at 1280 and 390 px: the compose page from a case (prefilled texts, the
recipients and the skipped before sending, a live preview that follows the typing through htmx without a
reload), a confirmed send that lands on the log, the log read by a viewer, and the public opt-out page.
Clean console, axe WCAG 2.1 AA, no sideways scroll on a phone. Screenshots:
artifacts/screenshots/announcements-*."""

import pytest
from playwright.sync_api import expect

from apps.feedback.announcements import services as svc
from apps.feedback.models import Announcement
from apps.tenancy.context import tenant_context
from tests.browser.conftest import WIDTHS, assert_page_is_clean
from tests.builders import optout_path

pytestmark = pytest.mark.services


def test_a_lead_composes_previews_and_sends_from_a_case(world, loop, browse):  # noqa: F811
    for width, viewport in WIDTHS.items():
        page, watch = browse.open(viewport, user=world.carol)
        page.goto(browse.url(f"/t/acme/announcements/new/case/{loop['case'].uuid}/"))
        expect(page.locator("h1")).to_have_text("Tell them what changed")
        expect(page.locator("#id_we_did")).to_have_value("We now call back within one working day.")
        expect(page.locator("[data-recipients]").first).to_have_text("1")
        assert_page_is_clean(page, watch, f"announcements-compose-{width}")
        page.evaluate("window.__still_here = true")
        page.fill("#id_we_did", "We call back the same day now.")
        expect(page.locator(".announcement-mail__did")).to_have_text("We call back the same day now.")
        assert page.evaluate("window.__still_here === true"), "the page reloaded"
        page.context.close()
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto(browse.url(f"/t/acme/announcements/new/case/{loop['case'].uuid}/"))
    page.click("button[value=send]")
    expect(page.locator(".field__error")).to_contain_text("Tick the box to confirm")  # a 400: nothing sent
    with tenant_context(world.a):
        assert not Announcement.objects.exists()
    page.context.close()
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto(browse.url(f"/t/acme/announcements/new/case/{loop['case'].uuid}/"))
    page.check("#id_confirm")
    page.click("button[value=send]")
    expect(page.locator("h1")).to_have_text("You said, we did: slow reply")
    expect(page.locator("#announcement-log")).to_contain_text("ann@client.example")
    assert_page_is_clean(page, watch, "announcements-sent")
    with tenant_context(world.a):
        assert Announcement.objects.get().recipients_count == 1


def test_a_viewer_reads_a_plans_log_and_a_contact_opts_out(world, loop, browse):  # noqa: F811
    with tenant_context(world.a):
        draft = svc.announcement_draft_for_plan(tenant=world.a, acting_member=loop["alice"], plan=loop["plan"])
        sent = svc.announcement_send(tenant=world.a, acting_member=loop["alice"], announcement=draft)
    for width, viewport in WIDTHS.items():
        page, watch = browse.open(viewport, user=world.victor)
        page.goto(browse.url(f"/t/acme/announcements/{sent.uuid}/"))
        expect(page.locator("#announcement-log")).to_contain_text("Skipped: Opted out of messages")
        expect(page.locator("[data-recipients]")).to_have_text("4")
        assert_page_is_clean(page, watch, f"announcements-log-viewer-{width}")
        page.goto(browse.url("/t/acme/announcements/"))
        expect(page.locator("#announcements")).to_contain_text("Faster call-backs")
        assert_page_is_clean(page, watch, f"announcements-list-viewer-{width}")
        page.context.close()
    page, watch = browse.open(WIDTHS["mobile"])
    page.goto(browse.url(optout_path(world.a, loop["ann"])))
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("You will not receive messages any more")
    assert_page_is_clean(page, watch, "announcements-optout-done")
