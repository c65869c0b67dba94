"""The perception gap page in Chromium at 1280 and 390 px: readers see everyone, a staff member only
themselves (no other staff member's name anywhere on the page); every chart draws, the console stays
clean, axe finds no WCAG 2.1 AA violation, a phone never scrolls sideways, and a filter change swaps the
numbers in with htmx (the URL changes, the page does not reload). Screenshots:
artifacts/screenshots/dashboards-perception-<role>-<width>.png."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WIDTHS, assert_charts_drawn, assert_page_is_clean
from tests.builders import build_journey_world

pytestmark = pytest.mark.services

PATH = "/t/acme/dashboards/perception-gap/"


@pytest.fixture
def pairs(world):
    """Bob over-estimates, Dana is close: 56 pairs over four stages and touchpoints."""
    return build_journey_world(world.a, staff=[world.membership(world.bob, world.a), world.membership(world.dana, world.a)])


@pytest.mark.parametrize("who", ["alice", "carol", "victor"])
def test_each_reader_sees_everyones_gap(who, world, pairs, browse):
    for viewport in WIDTHS.values():
        page, watch = browse.open(viewport, user=getattr(world, who))
        page.goto(browse.url(PATH))
        assert_charts_drawn(page, 4)
        expect(page.locator("h1")).to_have_text("Perception gap")
        expect(page.locator("[data-verdict]")).to_contain_text("Staff over-estimate clients' scores")
        expect(page.locator("#table-gap-staff")).to_contain_text("Bob")
        expect(page.locator("#table-gap-staff")).to_contain_text("Dana")
        assert_page_is_clean(page, watch, f"dashboards-perception-{who}")
        page.context.close()


@pytest.mark.parametrize("who,other", [("bob", "Dana"), ("dana", "Bob")])
def test_staff_see_only_themselves(who, other, world, pairs, browse):
    for viewport in WIDTHS.values():
        page, watch = browse.open(viewport, user=getattr(world, who))
        page.goto(browse.url(PATH))
        assert_charts_drawn(page, 3)
        expect(page.locator("h1")).to_have_text("My perception gap")
        expect(page.locator("[data-verdict]")).to_contain_text("You ")
        assert page.locator("#id_staff").count() == 0
        assert page.locator("#table-gap-staff").count() == 0
        assert other not in page.content()
        assert_page_is_clean(page, watch, f"dashboards-perception-{who}")
        page.context.close()


@pytest.mark.parametrize("who", ["carol", "bob"])
def test_a_filter_change_updates_the_numbers_without_a_reload(who, world, pairs, browse):
    for width, viewport in WIDTHS.items():
        page, watch = browse.open(viewport, user=getattr(world, who))
        page.goto(browse.url(PATH))
        assert_charts_drawn(page, 4 if who == "carol" else 3)
        page.evaluate("window.__still_here = true")
        n = page.locator("[data-tile=perception_gap] .metric-tile__n")
        expect(n).to_contain_text("n = 56" if who == "carol" else "n = 28")
        page.select_option("#id_stage", index=2)  # the second stage: one answer per client
        page.wait_for_url(f"**stage={pairs.stages[1].uuid}**")
        expect(n).to_contain_text("n = 14" if who == "carol" else "n = 7")
        assert_charts_drawn(page, 4 if who == "carol" else 3)
        assert page.evaluate("window.__still_here === true"), "the page reloaded"
        assert_page_is_clean(page, watch, f"dashboards-perception-filtered-{who}-{width}")
        page.context.close()


@pytest.mark.parametrize("who", ["carol", "bob"])
def test_without_pairs_the_page_says_how_they_appear(who, world, browse):
    page, watch = browse.open(WIDTHS["mobile"], user=getattr(world, who))
    page.goto(browse.url(PATH))
    assert_charts_drawn(page, 0)
    expect(page.locator(".dashboard__body")).to_contain_text("No prediction pairs yet.")
    assert_page_is_clean(page, watch, f"dashboards-perception-empty-{who}")
