"""The journey view in Chromium, for each reader at 1280 and 390 px: it renders the stages with their
scores, every chart draws (its SVG exists), the console stays clean, axe finds no WCAG 2.1 AA
violation, a phone never scrolls sideways, and a filter change swaps the numbers in with htmx (the URL
changes, the page does not reload). Screenshots: artifacts/screenshots/dashboards-journeys-<role>-<width>.png."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WIDTHS, assert_charts_drawn, assert_page_is_clean
from tests.builders import STAGES, build_journey_world

pytestmark = pytest.mark.services

PATH = "/t/acme/dashboards/journeys/"


@pytest.fixture
def journey(world):
    wa = build_journey_world(world.a, staff=[world.membership(world.bob, world.a), world.membership(world.dana, world.a)])
    with_stage_text(wa)
    return wa


def with_stage_text(wa):
    """Goals and expected emotions, as a lead would write them, so the page reads like the journey map."""
    from apps.tenancy.context import tenant_context

    emotions = {"Discover": "neutral", "Sign": "anxious", "Onboard": "positive", "Deliver": "delighted"}
    with tenant_context(wa.tenant):
        for stage in wa.stages:
            stage.expected_emotion = emotions[stage.name]
            stage.save(update_fields=["expected_emotion"])


@pytest.mark.parametrize("who", ["alice", "carol", "victor"])
def test_each_reader_sees_the_journey_with_its_scores(who, world, journey, browse):
    for viewport in WIDTHS.values():
        page, watch = browse.open(viewport, user=getattr(world, who))
        page.goto(browse.url(PATH))
        assert_charts_drawn(page)
        stages = page.locator(".jv-stage")
        assert stages.count() == len(STAGES)
        for i, name in enumerate(STAGES):
            assert stages.nth(i).locator("h3").inner_text() == name
        assert page.locator("[data-drop]").inner_text().startswith("▼ Where scores drop most. NPS drops most from Discover to Sign")
        assert page.locator(".jv-stage--mot").count() == 2
        assert page.locator(".jv-next--drop").count() == 1
        assert_page_is_clean(page, watch, f"dashboards-journeys-{who}")
        page.context.close()


def test_a_filter_change_updates_the_numbers_without_a_reload(world, journey, browse):
    for width, viewport in WIDTHS.items():
        page, watch = browse.open(viewport, user=world.carol)
        page.goto(browse.url(PATH))
        assert_charts_drawn(page)
        page.evaluate("window.__still_here = true")
        first_nps = page.locator(".jv-stage").first.locator("[data-metric=nps] .jv-score__meta")
        expect(first_nps).to_contain_text("n = 14")
        page.select_option("#id_segment", index=1)  # half of the clients
        page.wait_for_url(f"**segment={journey.segment.uuid}**")
        expect(first_nps).to_contain_text("n = 7")
        assert_charts_drawn(page)
        page.select_option("#id_metric", "ces")
        page.wait_for_url("**metric=ces**")
        expect(page.locator(".jv-score--chosen dt").first).to_have_text("CES")
        expect(page.locator("#chart-stage-scores-title")).to_have_text("CES along the journey")
        assert_charts_drawn(page)
        page.select_option("#id_period", "7d")  # nothing answered in the last week: empty charts, no error
        page.wait_for_url("**period=7d**")
        expect(first_nps).to_have_text("n = 0")
        assert_charts_drawn(page, 0)
        assert page.evaluate("window.__still_here === true"), "the page reloaded"
        page.go_back()  # the back button restores the previous filters
        page.wait_for_url("**metric=ces**")
        expect(first_nps).to_contain_text("n = 7")
        page.go_forward()
        expect(first_nps).to_have_text("n = 0")
        page.go_back()
        expect(first_nps).to_contain_text("n = 7")
        assert_charts_drawn(page)
        assert_page_is_clean(page, watch, f"dashboards-journeys-filtered-{width}")
        page.context.close()


def test_an_empty_workspace_renders_a_helpful_page(world, browse):
    page, watch = browse.open(WIDTHS["mobile"], user=world.carol)
    page.goto(browse.url(PATH))
    assert_charts_drawn(page, 0)
    assert "No journeys yet." in page.locator(".dashboard__body").inner_text()
    assert_page_is_clean(page, watch, "dashboards-journeys-empty")


def test_a_stage_named_like_a_link_is_drawn_as_text_not_as_a_link(world, journey, browse):
    """Issue 15, F7: plotly draws its HTML dialect, so an unescaped `<a href>` in a stage name became a live
    link in the chart's SVG. The name shows as typed, in the charts and on the page; no link anywhere."""
    from apps.tenancy.context import tenant_context

    evil = '<a href="https://evil.example/5">Sign</a>'
    with tenant_context(world.a):
        journey.stages[1].name = evil
        journey.stages[1].save(update_fields=["name"])
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto(browse.url(PATH))
    assert_charts_drawn(page)
    expect(page.locator('a[href*="evil.example"], svg a')).to_have_count(0)
    ticks = page.locator("[data-chart] svg .xtick text, [data-chart] svg .ytick text").all_text_contents()
    assert any(evil in tick for tick in ticks), ticks
    assert page.locator(".jv-stage h3").nth(1).inner_text() == evil
    assert_page_is_clean(page, watch, "dashboards-journeys-hostile-stage")
    page.context.close()


def test_an_injected_htmx_element_in_the_stages_does_not_fire(world, journey, browse):
    """Issue 15, htmx hardened: the stages (names, touchpoints: user text) sit in the page's body, which
    carries hx-disable; an hx-get inserted there and processed by htmx sends nothing, while the same
    element put next to the filter bar (ours, htmx on) does."""
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto(browse.url(PATH))
    assert_charts_drawn(page)
    inject = """([selector, marker]) => {
      const element = document.createElement("div");
      element.setAttribute("hx-get", "/t/acme/dashboards/journeys/?injected=" + marker);
      element.setAttribute("hx-trigger", "load");
      element.textContent = "injected";
      document.querySelector(selector).appendChild(element);
      htmx.process(element);
    }"""
    page.evaluate(inject, [".jv-stage__name", "stage"])
    page.wait_for_timeout(2000)
    assert [url for url in watch.requests if "injected=" in url] == []
    with page.expect_response(lambda response: "injected=control" in response.url):
        page.evaluate(inject, ["#dashboard", "control"])
    expect(page.locator("[hx-get$='injected=control']")).not_to_have_text("injected")  # swapped: nothing left in flight
    assert [url for url in watch.requests if "injected=stage" in url] == []
    page.context.close()
