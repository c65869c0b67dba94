"""Configuration health in Chromium for its only role (admin), at 1280×800 and 390×844: both charts draw
(their SVG exists), the console stays clean (strict CSP included), axe finds no WCAG 2.1 A/AA violation,
the phone never scrolls sideways; changing the period updates the counts in place through htmx (URL
pushed, no reload). An empty workspace renders its empty state. Screenshots:
artifacts/screenshots/dashboards-admin-<who>-<width>.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WIDTHS, axe_violations, horizontal_overflow, screenshot, wait_for_charts
from tests.builders import populate_admin_world

pytestmark = [pytest.mark.services, pytest.mark.postgres]

PAGE = "/t/acme/dashboards/health/"






def assert_dashboard_is_clean(page, watch, name, charts: int):
    wait_for_charts(page, "all" if charts else "none")
    drawn = page.locator("[data-chart]")
    assert drawn.count() == charts
    for i in range(charts):
        assert drawn.nth(i).locator("svg.main-svg").count() >= 1, f"chart {i} has no SVG"
    screenshot(page, name)
    assert watch.problems() == [], f"{name}: console/network problems: {watch.problems()}"
    violations = axe_violations(page)
    assert not violations, f"{name}: axe WCAG 2.1 AA violations:\n" + "\n".join(violations)
    if page.viewport_size["width"] < 500:
        assert horizontal_overflow(page) <= 0, f"{name}: the body scrolls sideways at {page.viewport_size['width']}px"


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_configuration_health_renders_and_filters_in_place(browse, world, width):
    populate_admin_world(world.a, "Acme", admin_user=world.alice)
    populate_admin_world(world.b, "Globex", admin_user=world.charlie)
    page, watch = browse.open(WIDTHS[width], user=world.alice)
    assert page.goto(PAGE).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Configuration health")
    expect(page.locator(".dashboard-tabs [aria-current]")).to_have_text("Configuration health")
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    assert_dashboard_is_clean(page, watch, "dashboards-admin-admin", charts=2)
    assert "Globex" not in page.content()

    page.evaluate("window.__notReloaded = true")
    bounces = page.locator('[data-tile="bounces"] [data-value]')
    expect(bounces).to_have_text("1")
    page.get_by_label("Period").select_option("90d")
    page.wait_for_url("**period=90d**")
    expect(bounces).to_have_text("2")  # one more bounce 60 days ago
    expect(page.get_by_role("heading", name="Invitations per week")).to_be_visible()
    wait_for_charts(page)
    assert page.evaluate("window.__notReloaded === true")
    assert watch.problems() == [], watch.problems()

    page.go_back()  # history: the page before the filter change
    page.wait_for_url(lambda url: "period=90d" not in url)
    expect(bounces).to_have_text("1")


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_an_empty_workspace_renders_its_empty_state(browse, world, width):
    page, watch = browse.open(WIDTHS[width], user=world.carl)
    assert page.goto("/t/initech/dashboards/health/").status == 200
    expect(page.get_by_role("heading", name="Nothing to check yet")).to_be_visible()
    expect(page.get_by_role("link", name="Create a survey")).to_be_visible()
    assert_dashboard_is_clean(page, watch, "dashboards-admin-empty", charts=0)
