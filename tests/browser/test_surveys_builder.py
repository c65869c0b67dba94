"""The survey builder in Chromium: a CX lead creates an NPS survey in English and French, edits a
question, previews it in French (the respondent page itself), publishes it; every page is axe-clean
(WCAG 2.1 AA) with a clean console at 1280 and 390 px (screenshots kept)."""

import pytest
from playwright.sync_api import expect

from apps.surveys.models import Survey
from apps.tenancy.context import tenant_context
from tests.browser.conftest import DESKTOP, WIDTHS, assert_page_is_clean
from tests.factories import JourneyFactory, StageFactory, TouchpointFactory

pytestmark = pytest.mark.services


def links(world):
    TouchpointFactory(tenant=world.a, name="Front desk", channel="in_person")
    StageFactory(journey=JourneyFactory(tenant=world.a, name="Client onboarding"), name="Onboard", order=1)
    TouchpointFactory(tenant=world.b, name="Globex desk")


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_a_lead_creates_edits_previews_and_publishes_an_nps_survey(browse, world, width):
    links(world)
    page, watch = browse.open(WIDTHS[width], user=world.carol)

    page.goto("/t/acme/surveys/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Surveys")
    assert_page_is_clean(page, watch, "surveys-list-empty")
    page.get_by_role("link", name="New survey").click()

    # Create: NPS, English + French, at the front desk.
    expect(page.get_by_role("heading", level=1)).to_have_text("New survey")
    assert_page_is_clean(page, watch, "survey-create")
    page.get_by_label("Name").fill("Front desk NPS")
    page.get_by_role("radio", name="Net Promoter Score (0–10)").check()
    page.get_by_role("checkbox", name="English (en)").check()
    page.get_by_role("checkbox", name="Français (fr)").check()
    page.get_by_label("Default language").select_option("en")
    page.get_by_label("Touchpoint").select_option(label="Front desk")
    assert "Globex desk" not in page.get_by_label("Touchpoint").inner_text()
    page.get_by_role("button", name="Create survey").click()

    # The editor: draft v1 from the template, worded for Acme in both languages.
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit “Front desk NPS”")
    expect(page.get_by_role("heading", name="Draft version 1")).to_be_visible()
    expect(page.get_by_role("heading", level=3).first).to_contain_text(
        "How likely is it that you would recommend Acme Advisory to a friend or colleague?")
    assert_page_is_clean(page, watch, "survey-editor")

    # Edit the follow-up question's French wording.
    page.get_by_role("link", name="Edit question reason").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit question “reason”")
    french = page.locator("fieldset[lang=fr]").get_by_label("Question")
    expect(french).to_have_value("Quelle est la principale raison de votre note ?")
    assert_page_is_clean(page, watch, "survey-question-edit")
    french.fill("Qu'est-ce qui explique surtout votre note ?")
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_role("status").or_(page.locator(".message--success")).first).to_contain_text("Question “reason” saved")
    expect(page.locator(f"#{page.evaluate('document.activeElement.id')}")).to_be_visible()

    # Preview in French: the respondent page itself.
    page.get_by_role("link", name="Preview", exact=True).first.click()
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # waits for the navigation to land
    nps_fr = "Quelle est la probabilité que vous recommandiez Acme Advisory à un ami ou à un collègue ?"
    expect(page.get_by_role("group", name=nps_fr)).to_be_visible()
    expect(page.get_by_label("Qu'est-ce qui explique surtout votre note ?", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Envoyer")).to_be_visible()
    expect(page.get_by_role("button", name="Send a test e-mail to me")).to_be_visible()
    assert_page_is_clean(page, watch, "survey-preview-fr")
    page.get_by_role("link", name="← Front desk NPS").click()

    # Publish: what v1 asks, then live.
    page.get_by_role("link", name="Review and publish v1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish “Front desk NPS”")
    expect(page.get_by_role("heading", name="What v1 asks")).to_be_visible()
    assert_page_is_clean(page, watch, "survey-publish")
    page.get_by_role("button", name="Publish v1").click()
    expect(page.locator(".message--success").first).to_contain_text("Version 1 is published")
    expect(page.get_by_role("heading", name="Live version 1")).to_be_visible()
    with tenant_context(world.a):
        survey = Survey.objects.get(name="Front desk NPS")
        assert survey.status == "live"
        assert survey.current_version.number == 1
        assert survey.current_version.questions.get(key="reason").text["fr"] == "Qu'est-ce qui explique surtout votre note ?"

    page.get_by_role("link", name="Versions", exact=True).click()
    expect(page.get_by_role("row", name="v1")).to_contain_text("Live")
    assert_page_is_clean(page, watch, "survey-versions")
    page.goto("/t/acme/surveys/")
    expect(page.get_by_role("row", name="Front desk NPS")).to_contain_text("v1")
    assert_page_is_clean(page, watch, "surveys-list")


def test_the_question_form_shows_only_the_options_of_the_chosen_type(browse, world):
    links(world)
    page, watch = browse.open(DESKTOP, user=world.alice)
    page.goto("/t/acme/surveys/new/")
    page.get_by_label("Name").fill("Topics")
    page.get_by_role("radio", name="Custom", exact=True).check()
    page.get_by_role("checkbox", name="Français (fr)").check()
    page.get_by_role("button", name="Create survey").click()
    page.get_by_label("Add a question of type").select_option("single_choice")
    page.get_by_role("button", name="Add question").click()
    english = page.locator("fieldset[lang=en]")
    expect(english.get_by_label("Choices")).to_be_visible()
    expect(english.get_by_label("Label of the lowest point")).to_be_hidden()
    page.get_by_role("combobox", name="Question type").select_option("rating")
    expect(english.get_by_label("Choices")).to_be_hidden()
    expect(english.get_by_label("Label of the lowest point")).to_be_visible()
    expect(page.get_by_label("Highest rating")).to_be_visible()
    assert_page_is_clean(page, watch, "survey-question-new")
