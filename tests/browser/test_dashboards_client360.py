"""The Client 360 page in Chromium, as a CX lead reads it at 1280×800 and 390×844 and as the owning staff
member on a phone: the three history charts draw (their SVG exists), the console stays clean (strict CSP),
axe finds no WCAG 2.1 A/AA violation, the phone never scrolls sideways; a month of the history table opens
that month's answers on the page. Screenshots: artifacts/screenshots/dashboards-client360-<who>-<width>.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.core.dates import local_today
from apps.surveys.models import ResponseTheme, Theme
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import WIDTHS, assert_charts_drawn, assert_page_is_clean, reader_widths
from tests.builders import high_risk

pytestmark = [pytest.mark.services, pytest.mark.postgres]

COMMENTS = [
    ("The new portal is quick and the team answered within the hour.", 0.72, "en", ("Responsiveness",)),
    ("Invoice was wrong again, third time this year. Nobody called back.", -0.64, "en", ("Billing", "Responsiveness")),
    ("La facture est enfin correcte, merci.", 0.38, "fr", ("Billing",)),
    ("Fine.", 0.0, "en", ()),
]


def at(tenant, days_ago, hour=10):
    day = local_today(tenant.time_zone) - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def cedar_world(world):
    """Cedar Dental, owned by Bob: fourteen months of NPS, CSAT and CES answers (some commented, themed and
    analysed), predictions on some, interactions, cases, a churn-risk score and three contacts (one opted out)."""
    a = world.a
    bob, dana = world.membership(world.bob, a), world.membership(world.dana, a)
    today = local_today(a.time_zone)
    with tenant_context(a):
        version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=a, kind="custom", name="After-visit survey"))
        desk = f.TouchpointFactory(tenant=a, name="Help desk", channel="phone")
        visit = f.TouchpointFactory(tenant=a, name="Site visit", channel="in_person")
        clinics = f.SegmentFactory(tenant=a, name="Clinics")
        cedar = f.ClientFactory(tenant=a, name="Cedar Dental", owner=bob, segment=clinics, tier="key",
                                active_from=today - timedelta(days=900))
        jordan = f.ContactFactory(client=cedar, name="Jordan Lee", email="jordan.lee@cedar-dental.example", role="Practice manager")
        f.ContactFactory(client=cedar, name="Sam Ortiz", email="sam@cedar-dental.example", opted_out=True, role="CFO")
        f.ContactFactory(client=cedar, name="Riley Chen", email="", role="Dentist")
        themes = {name: Theme.objects.create(tenant=a, name=name) for name in ("Billing", "Responsiveness")}
        for n in range(22):
            comment, sentiment, language, tags = COMMENTS[n % len(COMMENTS)] if n % 3 == 0 else ("", None, "", ())
            response = f.ResponseFactory(
                version=version, client=cedar, contact=jordan, touchpoint=desk if n % 2 else visit,
                submitted_at=at(a, 8 + n * 19), nps=(4, 9, 7, 10, 6, 8)[n % 6], csat=(2, 5, 4, 3)[n % 4] if n % 2 else None,
                ces=(3, 6, 5, 7, 4)[n % 5] if n % 3 else None, predicted=(8, 9, 7)[n % 3] if n % 2 == 0 else None,
                comment=comment, comment_sentiment=sentiment, comment_language=language)
            for name in tags:
                ResponseTheme.objects.create(tenant=a, response=response, theme=themes[name], source="rule")
        for n, (summary, outcome, tp, who) in enumerate([
            ("Walked through the new invoice layout with the practice manager", "resolved", visit, bob),
            ("Called about the duplicated invoice line", "escalated", desk, dana),
            ("Quarterly review of the service plan", "resolved", visit, bob),
            ("Chased the missing purchase order", "unresolved", desk, bob),
        ]):
            f.InteractionFactory(staff=who, client=cedar, touchpoint=tp, contact=jordan, summary=summary, outcome=outcome,
                                 occurred_at=timezone.now() - timedelta(days=3 + n * 11), predicted_score=(8, 6, 9, 7)[n],
                                 staff_sentiment=(1, -1, 1, 0)[n], follow_up=n == 3, follow_up_due=today - timedelta(days=1) if n == 3 else None)
        f.CaseFactory(tenant=a, client=cedar, contact=jordan, title="Detractor: invoice wrong again", assignee=bob,
                      due_at=timezone.now() - timedelta(hours=5))
        f.CaseFactory(tenant=a, client=cedar, title="Follow up on the portal training", assignee=bob,
                      due_at=timezone.now() + timedelta(days=2))
    high_risk(cedar, score=68, text="Latest NPS answer is a detractor (4)")
    return cedar


@pytest.mark.parametrize("who,role,width", reader_widths(("carol", "cx_lead"), ("bob", "staff")))
def test_the_client_360_renders_cleanly(browse, world, who, role, width):
    cedar = cedar_world(world)
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who))
    response = page.goto(f"/t/acme/clients/{cedar.uuid}/360/")
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Cedar Dental")
    assert_charts_drawn(page, 3)
    expect(page.locator("[data-risk-score]")).to_contain_text("68")
    expect(page.locator("[data-section=contacts]")).to_contain_text("Opted out")
    expect(page.locator(".c360-answer").first).to_be_visible()
    assert_page_is_clean(page, watch, f"dashboards-client360-{who}")

    # A month of the history table opens that month's answers, here on the page (works without JavaScript).
    month = page.locator("#table-history tbody tr").first
    answers = int(month.locator("a").first.inner_text().split()[0])
    month.locator("a").first.click()
    page.wait_for_url("**month=**")
    expect(page.locator("[data-section=answers] .c360-intro")).to_contain_text("Answers of ")
    expect(page.locator(".c360-answer")).to_have_count(answers)
    # … and a month's NPS n the answers to NPS only, as many as it says.
    page.go_back()
    nps = page.locator("#table-history tbody tr").first.locator('a[href*="answered=nps"]')
    nps_n = int(nps.inner_text().split()[0])
    nps.click()
    page.wait_for_url("**answered=nps**")
    expect(page.locator("[data-section=answers] .c360-intro")).to_contain_text(" to NPS")
    expect(page.locator(".c360-answer")).to_have_count(nps_n)
    assert_charts_drawn(page, 3)
    assert watch.problems() == []
    page.context.close()


def test_an_empty_client_360_is_clean_on_a_phone(browse, world):
    with tenant_context(world.a):
        quiet = f.ClientFactory(tenant=world.a, name="Quiet Client", owner=world.membership(world.bob, world.a))
    page, watch = browse.open(WIDTHS["mobile"], user=world.bob)
    page.goto(f"/t/acme/clients/{quiet.uuid}/360/")
    assert_charts_drawn(page, 0)
    expect(page.locator("[data-section=answers]")).to_contain_text("No answers from this client yet")
    assert_page_is_clean(page, watch, "dashboards-client360-empty")
