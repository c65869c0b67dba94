"""The comment-theme pages in Chromium (issue 19 item 8), as a CX lead at 1280×800 and 390×844: the Themes page
(taxonomy, classifier status, suggestions), a response's themes with the correction form (saved by keyboard),
and the overview's "What clients talk about" panel (its chart drawn, a theme row opening exactly its comments).
The console stays clean (strict CSP), axe finds no WCAG 2.1 A/AA violation, the phone never scrolls sideways.
Screenshots: artifacts/screenshots/themes-*.png."""

from __future__ import annotations

import pytest
from django.test import TestCase
from playwright.sync_api import expect

from apps.surveys.models import ResponseTheme, ThemeSuggestion
from apps.surveys.respond.services import response_submit
from apps.surveys.themes import services
from apps.tenancy.context import tenant_context
from tests.browser.conftest import WIDTHS, assert_page_is_clean, reader_widths
from tests.builders import live_survey

pytestmark = [pytest.mark.services, pytest.mark.postgres]

COMMENTS = [(2, "The invoice was wrong and nobody called back."), (3, "Slow answers, invoice late again."),
            (9, "Quick and friendly, thank you!"), (10, "Great advice from a real expert."), (6, "La facture était fausse."),
            (4, "Die Rechnung war falsch und die Antwort kam spät."), (8, "Fine overall.")]


def themed_world(world):
    survey = live_survey(world.a, languages=("en", "fr", "de"))
    with TestCase.captureOnCommitCallbacks(execute=True), tenant_context(world.a):
        services.themes_seed_starter(tenant=world.a)
        responses = [response_submit(tenant=world.a, version=survey.current_version, channel="web", language="en",
                                     answers={"nps": nps, "reason": text})[0] for nps, text in COMMENTS]
        ThemeSuggestion.objects.create(tenant=world.a, label="parking / car park", keywords={"en": ["parking", "car park"]},
                                       comments=14, examples=[responses[-1].pk])
    return responses


@pytest.mark.parametrize("who,role,width", reader_widths(("carol", "cx_lead")))
def test_the_themes_page_renders_cleanly(browse, world, who, role, width):
    themed_world(world)
    page, watch = browse.open(WIDTHS[width], user=world.carol)
    assert page.goto("/t/acme/themes/").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Comment themes")
    expect(page.locator(".themes-table tbody tr")).to_have_count(6)
    expect(page.locator(".suggestion")).to_contain_text("parking / car park")
    assert_page_is_clean(page, watch, f"themes-list-{width}")
    page.context.close()


@pytest.mark.parametrize("who,role,width", reader_widths(("carol", "cx_lead")))
def test_a_lead_corrects_a_comments_themes_by_keyboard(browse, world, who, role, width):
    responses = themed_world(world)
    target = responses[0]
    page, watch = browse.open(WIDTHS[width], user=world.carol)
    page.goto(f"/t/acme/responses/{target.uuid}/")
    expect(page.locator(".response-themes .theme-chip").first).to_be_visible()
    assert_page_is_clean(page, watch, f"themes-response-{width}")
    box = page.get_by_label("Friendliness")
    box.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save themes").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".response-themes")).to_contain_text("Friendliness")
    with tenant_context(world.a):
        assert ResponseTheme.objects.get(response=target, theme__name="Friendliness").source == "person"
    assert watch.problems() == []
    page.context.close()


@pytest.mark.parametrize("who,role,width", reader_widths(("carol", "cx_lead")))
def test_the_overview_themes_panel_opens_the_comments_behind_a_row(browse, world, who, role, width):
    themed_world(world)
    page, watch = browse.open(WIDTHS[width], user=world.carol)
    page.goto("/t/acme/dashboards/")
    panel = page.locator(".themes-panel")
    expect(panel.locator(".js-plotly-plot, svg.main-svg").first).to_be_attached()
    assert_page_is_clean(page, watch, f"themes-overview-{width}")
    panel.locator("summary", has_text="Data").first.click()
    row = panel.locator("tbody tr", has_text="Billing and fees").first
    count = int(row.locator("td").first.inner_text())
    row.locator("a").first.click()
    page.wait_for_url("**/responses/**")
    expect(page.locator("#responses-count")).to_contain_text(f"{count} response")
    assert watch.problems() == []
    page.context.close()
