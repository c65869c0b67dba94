"""The digest preferences page in Chromium at 1280×800 and 390×844: a member opts in by keyboard-free
clicks on the labels, saves, sees it kept; previews the digest of yesterday (changes, the overdue case
with its link, the numbers); a viewer with nothing to say is told no e-mail would be sent. The console
stays clean (strict CSP), axe finds no WCAG 2.1 A/AA violation, the phone never scrolls sideways.
Screenshots: artifacts/screenshots/digests-<who>-<width>.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.core.dates import local_today
from apps.digests.models import DigestSubscription
from apps.digests.selectors import digest_build
from apps.digests.services import digest_render
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import WIDTHS, assert_page_is_clean, screenshot
from tests.builders import high_risk, nps_scores, plant_daily_scores

pytestmark = [pytest.mark.services, pytest.mark.postgres]

PAGE = "/t/acme/settings/digests/"


def stock(world):
    """Yesterday Bob's NPS dropped at the help desk; a case of his is two days late; a client he owns is at risk."""
    a = world.a
    bob = world.membership(world.bob, a)
    yesterday = local_today(a.time_zone) - timedelta(days=1)
    with tenant_context(a):
        helpdesk = f.TouchpointFactory(tenant=a, name="Help desk")
        cedar = f.ClientFactory(tenant=a, name="Cedar Dental", owner=bob)
        now = timezone.now()
        case = f.CaseFactory(tenant=a, client=cedar, title="Call back Cedar about the invoice", assignee=bob,
                             opened_at=now - timedelta(days=4), due_at=now - timedelta(days=2))
    plant_daily_scores(a, yesterday - timedelta(days=1), scores_nps=nps_scores(70, 20, 10), touchpoint=helpdesk, staff=bob)
    plant_daily_scores(a, yesterday, scores_nps=nps_scores(30, 20, 50), touchpoint=helpdesk, staff=bob)
    high_risk(cedar, text="Detractor at the last answer")
    return case


@pytest.mark.parametrize("width", WIDTHS.keys())
@pytest.mark.parametrize("who", ["bob", "alice"])
def test_a_member_opts_in_and_previews_their_digest(browse, world, who, width):
    case = stock(world)
    user = getattr(world, who)
    page, watch = browse.open(WIDTHS[width], user=user)
    assert page.goto(PAGE).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("My digests")
    contents = page.locator("section[aria-labelledby=contents-h]")
    expect(contents).to_contain_text("Overdue cases assigned to you" if who == "bob" else "Every overdue case")

    page.get_by_label("Weekly digest").check()
    page.get_by_role("button", name="Save my digests").click()
    page.wait_for_url(f"**{PAGE}")
    expect(page.get_by_role("status")).to_contain_text("Saved: you receive the weekly digest.")
    expect(page.get_by_label("Weekly digest")).to_be_checked()
    expect(page.get_by_label("Daily digest")).not_to_be_checked()
    with tenant_context(world.a):
        assert list(DigestSubscription.objects.filter(is_active=True).values_list("membership__user__email", "frequency")) == [
            (user.email, "weekly")]

    page.get_by_label("Digest to preview").select_option("daily")
    page.get_by_role("button", name="Preview", exact=True).click()
    page.wait_for_url("**preview=daily**")
    digest = page.locator("article.digest")
    expect(digest).to_contain_text("1 new at-risk client, 1 overdue case")
    expect(digest).to_contain_text("Touchpoint: Help desk")
    expect(digest.get_by_role("link", name="Call back Cedar about the invoice")).to_have_attribute(
        "href", f"http://127.0.0.1:8000/t/acme/cases/{case.uuid}/")
    expect(digest.get_by_role("link", name="Cedar Dental")).to_be_visible()
    assert_page_is_clean(page, watch, f"digests-{who}")

    # The e-mail itself, as a mail client would show it (its HTML alone: tables and inline styles).
    member = world.membership(user, world.a)
    with tenant_context(world.a):
        period_last = local_today(world.a.time_zone) - timedelta(days=1)
        email = digest_render(digest_build(tenant=world.a, membership=member, frequency="daily", period_last=period_last))
    mail = page.context.new_page()  # about:blank: no page CSP, as in a mail client that shows inline styles
    mail.set_content(email.html)
    expect(mail.get_by_role("link", name="Change or stop your digests")).to_be_visible()
    assert mail.locator("script").count() == 0
    screenshot(mail, f"digests-email-{who}")


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_a_viewer_with_nothing_to_say_is_told_no_email_would_be_sent(browse, world, width):
    page, watch = browse.open(WIDTHS[width], user=world.victor)
    assert page.goto(PAGE + "?preview=weekly").status == 200
    expect(page.locator("article.digest")).to_contain_text("Nothing to say — no e-mail would be sent.")
    expect(page.locator("section[aria-labelledby=contents-h]")).not_to_contain_text("overdue")
    expect(page.get_by_text("No digest yet.")).to_be_visible()
    assert_page_is_clean(page, watch, "digests-viewer-nothing")
