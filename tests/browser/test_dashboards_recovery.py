"""The recovery page in Chromium at 1280 and 390 px: readers see every case (per root cause and per staff
member), a staff member only their own cases (no other staff member's name on the page); every chart
draws, the console stays clean, axe finds no WCAG 2.1 AA violation, a phone never scrolls sideways, a
filter change swaps the numbers in with htmx. Screenshots: artifacts/screenshots/dashboards-recovery-*."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WIDTHS, assert_charts_drawn, assert_page_is_clean

pytestmark = pytest.mark.services

PATH = "/t/acme/dashboards/recovery/"


@pytest.mark.parametrize("who", ["carol", "victor"])
def test_each_reader_sees_recovery_per_root_cause_and_staff_member(who, world, planted, browse):  # noqa: F811
    for width, viewport in WIDTHS.items():
        page, watch = browse.open(viewport, user=getattr(world, who))
        page.goto(browse.url(PATH))
        assert_charts_drawn(page, 2)
        expect(page.locator("h1")).to_have_text("Recovery")
        expect(page.locator("[data-tile=recovery-rate] [data-value]")).to_have_text("60%")
        expect(page.locator("[data-tile=recovery-rate] .metric-tile__n")).to_contain_text("n = 5")
        expect(page.locator("#table-recovery-root-causes")).to_contain_text("Slow reply")
        expect(page.locator("#table-recovery-staff")).to_contain_text("Dana")
        expect(page.locator(".dashboard-tabs [aria-current=page]")).to_have_text("Recovery")
        assert_page_is_clean(page, watch, f"dashboards-recovery-{who}-{width}")
        page.context.close()


def test_staff_see_only_their_own_cases(world, planted, browse):  # noqa: F811
    for width, viewport in WIDTHS.items():
        page, watch = browse.open(viewport, user=world.bob)
        page.goto(browse.url(PATH))
        assert_charts_drawn(page, 1)
        expect(page.locator("h1")).to_have_text("My recovery")
        expect(page.locator("[data-tile=recovery-rate] .metric-tile__n")).to_contain_text("n = 2")
        assert page.locator("#id_staff").count() == 0
        assert page.locator("#table-recovery-staff").count() == 0
        assert "Dana" not in page.content()
        assert_page_is_clean(page, watch, f"dashboards-recovery-bob-{width}")
        page.context.close()


def test_a_filter_change_updates_the_numbers_without_a_reload(world, planted, browse):  # noqa: F811
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto(browse.url(PATH))
    assert_charts_drawn(page, 2)
    page.evaluate("window.__still_here = true")
    n = page.locator("[data-tile=recovery-rate] .metric-tile__n")
    expect(n).to_contain_text("n = 5")
    page.select_option("#id_period", "90d")
    page.wait_for_url("**period=90d**")
    expect(n).to_contain_text("n = 6")
    assert_charts_drawn(page, 2)
    assert page.evaluate("window.__still_here === true"), "the page reloaded"
    assert_page_is_clean(page, watch, "dashboards-recovery-filtered-carol")


def test_without_recovery_answers_the_page_says_how_they_appear(world, browse):
    page, watch = browse.open(WIDTHS["mobile"], user=world.carol)
    page.goto(browse.url(PATH))
    assert_charts_drawn(page, 0)
    expect(page.locator(".dashboard__body")).to_contain_text("No recovery measured yet.")
    assert_page_is_clean(page, watch, "dashboards-recovery-empty-carol")


def test_a_recovery_number_opens_exactly_its_cases_on_a_clean_page(world, planted, browse):  # noqa: F811
    """Issue 19 item 1: the recovery rate's n (by keyboard) opens the case list with exactly the 5 counted cases, the
    scope said in words; the 'Recovered' reading opens the 3 recovered ones. Accessible at both widths."""
    for width, viewport in WIDTHS.items():
        page, watch = browse.open(viewport, user=world.carol)
        page.goto(browse.url(PATH))
        link = page.locator("[data-tile=recovery-rate] .metric-tile__n a")
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/cases/?**recovery=counted**")
        expect(page.locator("#cases-count")).to_contain_text("5 cases match")
        expect(page.get_by_text("The cases counted in the recovery rate")).to_be_visible()
        assert_page_is_clean(page, watch, f"cases-recovery-counted-{width}")
        page.go_back()
        page.locator("[data-tile=recovery-rate] .metric-tile__drills a").click()
        page.wait_for_url("**recovery=recovered**")
        expect(page.locator("#cases-count")).to_contain_text("3 cases match")
        page.context.close()
