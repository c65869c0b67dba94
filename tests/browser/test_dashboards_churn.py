"""The churn and retention dashboard in Chromium, for each role that reads it (admin, CX lead, viewer), at
1280×800 and 390×844: every chart draws (its SVG exists), the console stays clean (strict CSP), axe
finds no WCAG 2.1 A/AA violation, the phone never scrolls sideways; the segment filter and the interval
update the numbers in place through htmx (URL pushed, no reload) and the interval survives a later
filter change. Screenshots: artifacts/screenshots/dashboards-churn-<role>-<width>.png."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect

from apps.metrics.churn.risk import churn_risk_refresh
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import WIDTHS, axe_violations, horizontal_overflow, reader_widths, screenshot, wait_for_charts
from tests.builders import make_book

pytestmark = [pytest.mark.services, pytest.mark.postgres]

PAGE = "/t/acme/dashboards/churn/"


def populate(world):
    with tenant_context(world.a):
        gold = f.SegmentFactory(tenant=world.a, name="Gold")
        silver = f.SegmentFactory(tenant=world.a, name="Silver")
    bob = world.membership(world.bob, world.a)
    make_book(world.a, random.Random(11), 120, segments=(gold, silver), owners=(bob,))
    with tenant_context(world.a):
        churn_risk_refresh(world.a)
    return {"gold": gold}




def open_page(browse, width, user):
    page, watch = browse.open(WIDTHS[width], user=user)
    page.set_default_timeout(30_000)  # plotly.js is 4.6 MB from the live server: slow on a loaded machine
    return page, watch


def assert_dashboard_is_clean(page, watch, name, charts=4):
    wait_for_charts(page)
    drawn = page.locator("[data-chart]")
    assert drawn.count() == charts
    for i in range(drawn.count()):
        assert drawn.nth(i).locator("svg.main-svg").count() >= 1, f"chart {i} has no SVG"
    screenshot(page, name)
    assert watch.problems() == [], f"{name}: console/network problems"
    violations = axe_violations(page)
    assert not violations, f"{name}: axe WCAG 2.1 AA violations:\n" + "\n".join(violations)
    if page.viewport_size["width"] < 500:
        assert horizontal_overflow(page) <= 0, f"{name}: the body scrolls sideways at {page.viewport_size['width']}px"
        cohorts = page.locator("[data-panel=cohorts] .table-wrap")
        assert cohorts.evaluate("el => el.scrollWidth - el.clientWidth") <= 0, f"{name}: the cohort table scrolls sideways"


@pytest.mark.parametrize("who,role,width", reader_widths(("carol", "cx_lead"), ("alice", "admin"), ("victor", "viewer")))
def test_the_churn_page_renders_and_filters_in_place(browse, world, who, role, width):
    w = populate(world)
    page, watch = open_page(browse, width, getattr(world, who))
    assert page.goto(PAGE + "?period=ytd").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Churn and retention")
    expect(page.locator(".dashboard-tabs [aria-current]")).to_have_text("Churn & retention")
    expect(page.locator("#at-risk-list > li").first).to_be_visible()
    assert_dashboard_is_clean(page, watch, f"dashboards-churn-{role}")

    # The segment: the numbers change in place (no reload) and the URL carries it.
    page.evaluate("window.__notReloaded = true")
    n_text = page.locator('[data-tile="churn"] .metric-tile__n')
    before = n_text.inner_text()
    page.get_by_label("Segment", exact=True).select_option(label="Gold")
    page.wait_for_url(f"**segment={w['gold'].uuid}**")
    expect(n_text).not_to_have_text(before)
    wait_for_charts(page)
    assert page.evaluate("window.__notReloaded === true")

    # The interval, then another filter change: the interval stays.
    page.get_by_label("Rates per").select_option("quarter")
    page.wait_for_url("**interval=quarter**")
    expect(page.get_by_role("heading", name="Churn rate per quarter")).to_be_visible()
    wait_for_charts(page)
    page.get_by_label("Period", exact=True).select_option("90d")
    page.wait_for_url("**period=90d**")
    assert "interval=quarter" in page.url
    assert f"segment={w['gold'].uuid}" in page.url
    expect(page.get_by_role("heading", name="Churn rate per quarter")).to_be_visible()
    wait_for_charts(page)
    assert page.evaluate("window.__notReloaded === true")
    assert watch.problems() == []


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_an_empty_workspace_renders_its_empty_state(browse, world, width):
    page, watch = open_page(browse, width, world.carol)
    assert page.goto(PAGE).status == 200
    expect(page.locator("[data-empty=clients]")).to_contain_text("No clients yet")
    expect(page.get_by_role("link", name="Go to clients")).to_be_visible()
    wait_for_charts(page, "none")
    screenshot(page, "dashboards-churn-empty")
    assert watch.problems() == []
    assert axe_violations(page) == []
    if width == "mobile":
        assert horizontal_overflow(page) <= 0


def test_a_churn_count_opens_exactly_its_clients_on_a_clean_page(browse, world):
    """Issue 19 item 1: the churn tile's n (by keyboard) opens the clients active at the start, its 'Lost' reading the
    clients lost, a cohort's size its clients — each list as long as its number, the set said in words; the list is
    accessible and fits a phone."""
    populate(world)
    for width in WIDTHS:
        page, watch = open_page(browse, width, world.carol)
        page.goto(PAGE + "?period=ytd")
        tile = page.locator('[data-tile="churn"]')
        n = tile.locator(".metric-tile__n a").inner_text().split("=")[1].split(":")[0].strip().replace(",", "")
        tile.locator(".metric-tile__n a").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/clients/?churn=at_start**")
        expect(page.locator("#clients-count")).to_have_text(re.compile(rf"^{n} clients? match"))
        expect(page.get_by_text("The clients active at the start of")).to_be_visible()
        screenshot(page, f"clients-churn-at-start-{width}")
        assert watch.problems() == []
        violations = axe_violations(page)
        assert not violations, "\n".join(violations)
        if page.viewport_size["width"] < 500:
            assert horizontal_overflow(page) <= 0
        page.go_back()
        lost = tile.locator(".metric-tile__drills a", has_text="Lost")
        lost_n = lost.inner_text().split(":")[1].strip().split("(")[0].strip().replace(",", "")
        lost.click()
        page.wait_for_url("**churn=lost**")
        expect(page.locator("#clients-count")).to_have_text(re.compile(rf"^{lost_n} clients? match"))
        page.context.close()
