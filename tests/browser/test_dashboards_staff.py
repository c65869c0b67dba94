"""The staff home in Chromium, for each role that has one (staff, CX lead, admin), at 1280×800 and
390×844: the perception-gap chart draws (its SVG exists), the console stays clean (strict CSP), axe finds
no WCAG 2.1 A/AA violation, the phone never scrolls sideways; the period changes my gap in place through
htmx (URL pushed, no reload, the log form untouched); an interaction logged with the form on the page
is saved and brings me back home with it counted; a follow-up closed from home comes back home.
Screenshots: artifacts/screenshots/dashboards-staff-<role>-<width>.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from apps.core.dates import local_today
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.rollups import rollups_rebuild
from apps.tenancy.context import tenant_context
from apps.touchpoints.models import Interaction
from tests import factories as f
from tests.browser.conftest import WIDTHS, axe_violations, horizontal_overflow, reader_widths, screenshot, wait_for_charts

pytestmark = [pytest.mark.services, pytest.mark.postgres]

PAGE = "/t/acme/home/"


def at(tenant, days_ago, hour=10):
    day = local_today(tenant.time_zone) - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def stock(world, user):
    """A working week for `user` in Acme: owned clients with answers, follow-ups, predicted scores
    answered at two touchpoints (some 60 days ago: outside the default period); a colleague's rows too."""
    a = world.a
    me = world.membership(user, a)
    other = world.membership(world.dana if user != world.dana else world.bob, a)
    today = local_today(a.time_zone)
    with tenant_context(a):
        version = f.SurveyVersionFactory(survey=f.SurveyFactory(tenant=a, kind="custom"))
        helpdesk = f.TouchpointFactory(tenant=a, name="Help desk", channel="phone")
        visit = f.TouchpointFactory(tenant=a, name="Site visit", channel="in_person")
        clinics = f.SegmentFactory(tenant=a, name="Clinics")
        cedar = f.ClientFactory(tenant=a, name="Cedar Dental", owner=me, segment=clinics, active_from=today - timedelta(days=500))
        f.ContactFactory(client=cedar, name="Jordan Lee", email="jordan@cedar.example")
        birch = f.ClientFactory(tenant=a, name="Birch Law Partners", owner=me, active_from=today - timedelta(days=60))
        maple = f.ClientFactory(tenant=a, name="Maple Street Veterinary Clinic", owner=me, segment=clinics,
                                active_from=today - timedelta(days=900))
        f.ClientFactory(tenant=a, name="Colleague's Account", owner=other, active_from=today - timedelta(days=90))
        f.ResponseFactory(version=version, client=maple, nps=3, csat=2, ces=2, submitted_at=at(a, 9))
        f.ResponseFactory(version=version, client=birch, nps=None, csat=4, submitted_at=at(a, 20))
        for n, (predicted, actual, tp) in enumerate([(9, 6, helpdesk), (10, 7, helpdesk), (8, 8, visit), (9, 5, helpdesk),
                                                     (7, 9, visit), (9, 9, visit)]):
            f.ResponseFactory(version=version, staff=me, touchpoint=tp, client=cedar, predicted=predicted, nps=actual, csat=4, ces=6,
                              submitted_at=at(a, 2 + n * 4))
        for n in range(4):
            f.ResponseFactory(version=version, staff=me, touchpoint=visit, client=maple, predicted=2, nps=8, submitted_at=at(a, 55 + n))
        f.InteractionFactory(staff=me, client=cedar, touchpoint=helpdesk, summary="Send the revised quote for the new clinic",
                             follow_up=True, follow_up_due=today - timedelta(days=2), occurred_at=at(a, 6))
        f.InteractionFactory(staff=me, client=maple, touchpoint=visit, summary="Call back about the invoice", follow_up=True,
                             follow_up_due=today, occurred_at=at(a, 3))
        f.InteractionFactory(staff=other, client=birch, touchpoint=visit, summary="A colleague's follow-up", follow_up=True,
                             follow_up_due=today)
        churn_risk_refresh(a)
    rollups_rebuild(a)
    return {"me": me, "birch": birch}


def open_page(browse, width, user):
    page, watch = browse.open(WIDTHS[width], user=user)
    page.set_default_timeout(30_000)  # plotly.js is 4.6 MB from the live server: slow on a loaded machine
    return page, watch


def assert_dashboard_is_clean(page, watch, name):
    wait_for_charts(page)
    charts = page.locator("[data-chart]")
    assert charts.count() == 1
    assert charts.first.locator("svg.main-svg").count() >= 1, "the gap chart has no SVG"
    assert watch.problems() == [], f"{name}: console/network problems"
    violations = axe_violations(page)
    assert not violations, f"{name}: axe WCAG 2.1 AA violations:\n" + "\n".join(violations)
    if page.viewport_size["width"] < 500:
        assert horizontal_overflow(page) <= 0, f"{name}: the body scrolls sideways at {page.viewport_size['width']}px"
    screenshot(page, name)


@pytest.mark.parametrize("who,role,width", reader_widths(("bob", "staff"), ("alice", "admin"), ("carol", "cx_lead")))
def test_the_staff_home_renders_filters_in_place_and_logs_an_interaction(browse, world, who, role, width):
    user = getattr(world, who)
    mine = stock(world, user)
    page, watch = open_page(browse, width, user)
    assert page.goto(PAGE).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("My home")
    expect(page.locator("#my-clients > li")).to_have_count(3)
    expect(page.locator("#my-clients")).not_to_contain_text("Colleague")
    expect(page.locator("[data-section=follow-ups]")).not_to_contain_text("colleague")
    expect(page.locator("[data-gap-sentence]")).to_contain_text("(6 pairs)")
    assert_dashboard_is_clean(page, watch, f"dashboards-staff-{role}")

    # The period: my gap changes in place (no reload), the URL carries it, the log form is untouched.
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("combobox", name="Client").fill("zzz-typed-before")
    sentence = page.locator("[data-gap-sentence]")
    period = page.locator(".staff-home__period > summary")
    today = local_today(world.a.time_zone)
    expect(period).to_contain_text(f"{today - timedelta(days=29):%-d %b}")  # last 30 days
    period.click()  # folded: one tap opens the filter bar
    page.get_by_label("Period", exact=True).select_option("90d")
    page.wait_for_url("**period=90d**")
    expect(sentence).to_contain_text("(10 pairs)")
    expect(period).to_contain_text(f"{today - timedelta(days=89):%-d %b}")
    wait_for_charts(page)
    assert page.evaluate("window.__notReloaded === true")
    assert len([url for url in watch.requests if "plotly" in url and url.endswith(".js")]) == 1, "fetched once, for the chart"
    expect(page.get_by_role("combobox", name="Client")).to_have_value("zzz-typed-before")

    # Log an interaction from the page: it is saved and I am back home, with it counted.
    combobox = page.get_by_role("combobox", name="Client")
    combobox.fill("")
    combobox.type("birch")
    expect(page.get_by_role("listbox").get_by_role("option").first).to_contain_text("Birch Law Partners")
    page.keyboard.press("Enter")
    expect(combobox).to_have_value("Birch Law Partners")
    page.get_by_label("One-line summary").fill("Walked them through the renewal")
    page.get_by_text("I need to follow up").click()
    page.get_by_role("button", name="Tomorrow").click()
    page.get_by_role("button", name="Save interaction").click()
    page.wait_for_url("**/t/acme/home/")
    expect(page.get_by_role("status").filter(has_text="Logged: Birch Law Partners")).to_be_visible()
    expect(page.locator(".staff-home__facts dd").first).to_have_text("1")
    expect(page.locator("[data-section=follow-ups]")).to_contain_text("Walked them through the renewal")
    with tenant_context(world.a):
        logged = Interaction.objects.get(summary="Walked them through the renewal")
    assert logged.staff_id == mine["me"].pk
    assert logged.client_id == mine["birch"].pk
    assert logged.follow_up

    # Close a follow-up from home: back home, gone from the list.
    page.get_by_role("button", name="Done with the follow-up for Cedar Dental").click()
    page.wait_for_url("**/t/acme/home/")
    expect(page.get_by_role("status").filter(has_text="Follow-up with Cedar Dental marked done.")).to_be_visible()
    expect(page.locator("[data-section=follow-ups]")).not_to_contain_text("Send the revised quote")
    wait_for_charts(page)
    assert watch.problems() == []


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_an_empty_home_says_what_to_do(browse, world, width):
    page, watch = open_page(browse, width, world.bob)
    assert page.goto(PAGE).status == 200
    expect(page.get_by_text("No open follow-ups.")).to_be_visible()
    expect(page.get_by_text("You own no active client yet.")).to_be_visible()
    expect(page.locator("[data-gap-sentence]")).to_contain_text("No pairs yet")
    wait_for_charts(page, "none")
    screenshot(page, "dashboards-staff-empty")
    assert watch.problems() == []
    assert [url for url in watch.requests if "plotly" in url and url.endswith(".js")] == [], "no chart: plotly.js is not fetched"
    assert axe_violations(page) == []
    if width == "mobile":
        assert horizontal_overflow(page) <= 0


def test_on_a_phone_the_chart_and_plotly_wait_until_it_scrolls_into_view(browse, world):
    """As a person sees it (no draw-everything switch): the numbers first; plotly.js is fetched, and the gap chart
    drawn, only once the chart comes near the screen."""
    stock(world, world.bob)
    page, watch = browse.open(WIDTHS["mobile"], user=world.bob, lazy_charts=True)
    page.set_default_timeout(30_000)
    assert page.goto(PAGE).status == 200
    expect(page.locator("[data-gap-sentence]")).to_contain_text("(6 pairs)")
    chart = page.locator("[data-chart]")
    assert chart.evaluate("element => element.getBoundingClientRect().top") > 844 + 300, "the chart is not below the fold here"
    page.wait_for_timeout(500)
    assert [url for url in watch.requests if "plotly" in url and url.endswith(".js")] == [], "fetched before it was needed"
    expect(page.locator("html")).to_have_attribute("data-charts-drawn", "0")
    chart.scroll_into_view_if_needed()
    wait_for_charts(page)
    assert chart.locator("svg.main-svg").count() >= 1
    assert len([url for url in watch.requests if "plotly" in url and url.endswith(".js")]) == 1
    assert watch.problems() == []
