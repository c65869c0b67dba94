"""The CX lead overview in Chromium, for each role that reads it (admin, CX lead, viewer), at 1280×800
and 390×844: every chart draws (its SVG exists), the console stays clean (strict CSP included), axe
finds no WCAG 2.1 A/AA violation, the phone never scrolls sideways; a filter change and the interval
switch update the numbers in place through htmx (URL pushed, no reload), the interval survives a
later filter change, and the back button returns to the previous filters.
Screenshots: artifacts/screenshots/dashboards-overview-<role>-<width>.png."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WIDTHS, axe_violations, horizontal_overflow, reader_widths, screenshot, wait_for_charts
from tests.builders import overview_world

pytestmark = [pytest.mark.services, pytest.mark.postgres]

PAGE = "/t/acme/dashboards/"


def populate(world):
    """Eight weeks of answers ending today: the default filters (last 30 days) show them, with the 30
    days before as the tiles' previous period."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=59)
    return overview_world(world.a, random.Random(21), 1400, start=start, days=60, invitations=80)


def assert_drawn(page):
    wait_for_charts(page)
    charts = page.locator("[data-chart]")
    assert charts.count() == 10
    for i in range(charts.count()):
        assert charts.nth(i).locator("svg.main-svg").count() >= 1, f"chart {i} has no SVG"


def assert_accessible(page, name):
    """axe last: it sets inline styles while it checks contrast, which the CSP reports on the console."""
    violations = axe_violations(page)
    assert not violations, f"{name}: axe WCAG 2.1 AA violations:\n" + "\n".join(violations)
    if page.viewport_size["width"] < 500:
        assert horizontal_overflow(page) <= 0, f"{name}: the body scrolls sideways at {page.viewport_size['width']}px"


@pytest.mark.parametrize("who,role,width", reader_widths(("carol", "cx_lead"), ("alice", "admin"), ("victor", "viewer")))
def test_the_overview_renders_and_filters_in_place(browse, world, who, role, width):
    w = populate(world)
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who))
    page.set_default_navigation_timeout(30_000)  # plotly.js is 4.6 MB from the live server: slow on a loaded machine
    response = page.goto(PAGE)
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.locator(".dashboard-tabs [aria-current]")).to_have_text("Overview")
    assert_drawn(page)
    assert watch.problems() == []

    # A filter change: the numbers change in place (no reload) and the URL carries the filter.
    page.evaluate("window.__notReloaded = true")
    n_text = page.locator('[data-tile="nps"] .metric-tile__n')
    before = n_text.inner_text()
    page.get_by_label("Touchpoint", exact=True).select_option(label=w.touchpoints[0].name)
    page.wait_for_url(f"**touchpoint={w.touchpoints[0].uuid}**")
    expect(n_text).not_to_have_text(before)
    wait_for_charts(page)
    assert page.evaluate("window.__notReloaded === true")
    assert page.locator("#table-by-touchpoint tbody tr").count() == 1

    # The interval switch, then another filter change: the chosen interval stays.
    page.get_by_role("link", name="Week").click()
    page.wait_for_url("**interval=week**")
    expect(page.get_by_role("heading", name="NPS per week")).to_be_visible()
    wait_for_charts(page)
    page.get_by_label("Channel", exact=True).select_option("email")
    page.wait_for_url("**channel=email**")
    assert "interval=week" in page.url
    assert f"touchpoint={w.touchpoints[0].uuid}" in page.url
    expect(page.get_by_role("heading", name="NPS per week")).to_be_visible()
    assert_drawn(page)
    assert page.evaluate("window.__notReloaded === true")
    assert watch.problems() == []

    # Back: the previous filters again (the URL is the state).
    # htmx keeps no history cache (historyCacheSize 0): the back button reloads the page. Wait for that
    # load, or the checks below could read the old document's finished charts while the new one parses.
    with page.expect_event("load"):
        page.go_back()
    page.wait_for_url(lambda url: "channel=email" not in url and "interval=week" in url)
    expect(page.get_by_label("Channel", exact=True)).to_have_value("")
    assert_drawn(page)
    expect(page.get_by_role("heading", name="NPS per week")).to_be_visible()

    # The default page again for the record. Screenshots come after the htmx swaps: taking one leaves an
    # empty style attribute on the text inputs (Playwright hides the caret), which htmx's settle step
    # would copy onto the new inputs, and the strict CSP would report that on the console.
    page.goto(PAGE)
    assert_drawn(page)
    screenshot(page, f"dashboards-overview-{role}")
    assert watch.problems() == []
    assert_accessible(page, f"dashboards-overview-{role}")


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_an_empty_workspace_renders_its_empty_state(browse, world, width):
    page, watch = browse.open(WIDTHS[width], user=world.carol)
    assert page.goto(PAGE).status == 200
    expect(page.get_by_role("heading", name="No responses yet")).to_be_visible()
    expect(page.get_by_role("link", name="Publish a survey")).to_be_visible()
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn === 'none'")
    screenshot(page, "dashboards-overview-empty")
    assert watch.problems() == []
    assert_accessible(page, "dashboards-overview-empty")


def test_a_bar_click_or_a_tile_link_opens_the_responses_behind_the_number(browse, world):
    """Issue 19 item 1 in the browser: a click on a breakdown bar opens that value's answers; the keyboard
    reaches a tile's n link, and Enter opens its answers. Each list holds exactly the number's n."""
    populate(world)
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto(PAGE)
    wait_for_charts(page)
    chart = page.locator('[data-panel="by-touchpoint"] [data-chart]')
    bars = chart.locator(".bars .point path")
    # A bar wide enough to click (an NPS near 0 draws next to nothing); bars are in the table's row order.
    i = next(i for i in range(bars.count()) if bars.nth(i).bounding_box()["width"] > 6)
    row = page.locator("#table-by-touchpoint tbody tr").nth(i)
    n = int(row.locator("td").nth(3).text_content().replace(",", ""))  # folded under the chart: text, not rendered text
    bars.nth(i).scroll_into_view_if_needed()
    box = bars.nth(i).bounding_box()  # plotly's drag layer takes the pointer: click where the bar is drawn
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_url("**/responses/?**")
    assert "answered=nps" in page.url
    assert "touchpoint=" in page.url
    expect(page.locator("#responses-count")).to_have_text(re.compile(rf"^{n} responses? match"))

    page.goto(PAGE)
    link = page.locator('[data-tile="nps"] .metric-tile__n a')
    tile_n = link.inner_text().split("=")[1].split(":")[0].strip().replace(",", "")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**answered=nps**")
    expect(page.locator("#responses-count")).to_have_text(re.compile(rf"^{tile_n} responses? match"))
    assert watch.problems() == []


def test_a_funnel_step_opens_its_invitations_on_a_clean_page(browse, world):
    """The response funnel's steps open the invitations list (by keyboard, without JavaScript needed): exactly as many
    as the step counts; the list is accessible and fits a phone."""
    populate(world)
    for width in WIDTHS:
        page, watch = browse.open(WIDTHS[width], user=world.carol)
        page.set_default_timeout(30_000)  # plotly.js is 4.6 MB from the live server: slow on a loaded machine
        page.goto(PAGE)
        page.locator('[data-panel="funnel"] .chart-panel__data summary').click()  # the table under the chart
        link = page.locator("#table-funnel tbody tr").nth(2).locator("th a")  # "Opened"
        n = int(page.locator("#table-funnel tbody tr").nth(2).locator("td").nth(0).text_content().replace(",", ""))
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/surveys/invitations/?**step=opened**")
        expect(page.locator("#invitations-count")).to_have_text(re.compile(rf"^{n} invitations? match"))
        expect(page.locator("#id_step")).to_have_value("opened")
        screenshot(page, f"invitations-opened-{width}")
        assert watch.problems() == []
        assert_accessible(page, f"invitations-{width}")
        page.context.close()
