"""The respondent's pages in Chromium (issue 5): /s/<token>/ at 360×740 and 1280×800 (screenshots
kept), answered with the keyboard only and with JavaScript off; the kiosk flow with its reset; axe
finds 0 WCAG 2.1 AA violations on the form, error, thank-you, unavailable and kiosk pages."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from apps.surveys.kiosks.services import kiosk_create
from apps.surveys.models import Response
from apps.tenancy.context import tenant_context
from tests.browser.conftest import DESKTOP, axe_violations, horizontal_overflow, screenshot
from tests.builders import bilingual_live_survey, invitation_with_token

pytestmark = pytest.mark.services

PHONE = {"width": 360, "height": 740}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
ACTIVE = "document.activeElement"
CHOICES = [("why", "single_choice", False, [{"value": "people", "label": {"en": "The people", "fr": "Les personnes"}},
                                             {"value": "speed", "label": {"en": "The speed", "fr": "La rapidité"}}])]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield


def full_survey(world):
    return bilingual_live_survey(world.a, questions=[("nps", "nps", True, {}), *CHOICES, ("reason", "text", False, {})])


def responses(tenant, *fields: str):
    with tenant_context(tenant):
        return list(Response.objects.values_list(*(fields or ("nps", "comment", "channel"))))


@pytest.mark.parametrize("size", SIZES.keys())
def test_the_respondent_page_is_calm_and_accessible_at_both_sizes(browse, world, size):
    survey, _ = full_survey(world)
    _, token = invitation_with_token(survey)
    page, watch = browse.open(SIZES[size])
    page.goto(f"/s/{token}/?score=9")
    expect(page.get_by_role("heading", level=1)).to_have_text("How did we do?")
    expect(page.get_by_role("radio", name="9")).to_be_checked()
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []
    screenshot(page, "respond-form")
    # Every score box is a comfortable target, on a phone too.
    boxes = page.locator(".scale__box").evaluate_all("els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
    assert len(boxes) == 11
    assert min(w for w, _ in boxes) >= 44
    assert min(h for _, h in boxes) >= 44

    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("button", name="Envoyer")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "fr"
    screenshot(page, "respond-form-fr")
    assert watch.problems() == []
    assert watch.foreign_requests(browse.netloc) == []


@pytest.mark.parametrize("size", SIZES.keys())
def test_errors_are_summarised_and_next_to_the_field(browse, world, size):
    survey, _ = full_survey(world)
    _, token = invitation_with_token(survey)
    page, _ = browse.open(SIZES[size])
    page.goto(f"/s/{token}/")
    page.get_by_role("button", name="Submit").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()  # read out first
    expect(summary).to_contain_text("Please answer this question.")
    expect(page.locator(".q--error .q__error")).to_have_text("! Please answer this question.".removeprefix("! "))
    assert axe_violations(page) == []
    screenshot(page, "respond-errors")
    summary.get_by_role("link").first.click()
    assert page.evaluate(f"{ACTIVE}.name") == "q_nps"
    assert responses(world.a) == []


def test_it_can_be_answered_with_the_keyboard_only(browse, world):
    survey, _ = full_survey(world)
    _, token = invitation_with_token(survey)
    page, watch = browse.open(PHONE)
    page.goto(f"/s/{token}/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(f"{ACTIVE}.name") == "q_nps":
            break
    assert page.evaluate(f"{ACTIVE}.value") == "0"
    # The focused option is visibly outlined.
    style = page.evaluate(f"getComputedStyle({ACTIVE}.nextElementSibling).outlineStyle")
    assert style == "solid"
    page.keyboard.press("Space")
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    assert page.evaluate(f"{ACTIVE}.value") == "8"
    assert page.evaluate(f"{ACTIVE}.checked")
    page.keyboard.press("Tab")  # the choice group
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the text box
    page.keyboard.type("Friendly and quick.")
    page.keyboard.press("Tab")  # submit
    assert page.evaluate(f"{ACTIVE}.textContent.trim()") == "Submit"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    assert axe_violations(page) == []
    screenshot(page, "respond-thanks")
    assert responses(world.a) == [(8, "Friendly and quick.", "email")]
    assert watch.problems() == []


def test_it_works_without_javascript(browse, world):
    survey, _ = full_survey(world)
    _, token = invitation_with_token(survey)
    page, _ = browse.open(PHONE, java_script_enabled=False)
    other_tab = page.context.new_page()
    other_tab.goto(f"/s/{token}/?lang=fr")  # the same link, open in a second tab
    page.goto(f"/s/{token}/?lang=fr")
    page.locator("label[for='id_q_nps_3']").click()
    page.get_by_label("La rapidité").check()
    page.get_by_label("Quelle est la raison principale de votre note ?").fill("Trop d'attente")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Merci !")
    page.go_back()  # no-store: the browser asks again, and the link now says it is answered
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre réponse est déjà enregistrée")
    other_tab.locator("label[for='id_q_nps_10']").click()
    other_tab.get_by_role("button", name="Envoyer").click()
    expect(other_tab.get_by_role("heading", level=1)).to_have_text("Votre réponse est déjà enregistrée")
    assert responses(world.a) == [(3, "Trop d'attente", "email")]


def test_the_generic_unavailable_page_is_accessible(browse, world):
    page, _ = browse.open(PHONE)
    response = page.goto("/s/not-a-real-token-at-all-000000000/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This survey link is not available")
    assert axe_violations(page) == []
    screenshot(page, "respond-unavailable")


def test_the_embedded_web_form(browse, world):
    bilingual_live_survey(world.a, web_token="embedTOKEN123456", web_link_enabled=True)
    page, watch = browse.open({"width": 480, "height": 700})
    page.goto("/w/embedTOKEN123456/?embed=1")
    expect(page.locator(".top")).to_have_count(0)
    assert axe_violations(page) == []
    assert horizontal_overflow(page) == 0
    screenshot(page, "respond-embed")
    assert watch.problems() == []


@pytest.mark.parametrize("size", [{"width": 1024, "height": 768}, PHONE], ids=["tablet", "phone"])
def test_the_kiosk_flow(browse, world, size):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=[("smiley", "smiley", True, {})])
    with tenant_context(world.a):
        _, key = kiosk_create(tenant=world.a, acting_user=None, survey=survey, name="Front desk")
    page, watch = browse.open(size)
    page.goto(f"/k/{key}/")
    faces = page.locator(".kiosk-face")
    expect(faces).to_have_count(3)
    for box in faces.evaluate_all("els => els.map(e => e.getBoundingClientRect())"):
        assert box["width"] >= 64
        assert box["height"] >= 64
    assert axe_violations(page) == []
    assert horizontal_overflow(page) == 0
    screenshot(page, "kiosk")
    page.get_by_role("button", name="Happy", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    assert axe_violations(page) == []
    screenshot(page, "kiosk-thanks")
    # It starts again by itself, ready for the next person.
    expect(page.get_by_role("button", name="Unhappy", exact=True)).to_be_visible(timeout=9_000)
    page.get_by_role("button", name="Unhappy", exact=True).click()
    expect(page.get_by_role("link", name="Next person")).to_be_visible()
    page.get_by_role("link", name="Next person").click()
    expect(faces).to_have_count(3)
    with tenant_context(world.a):
        assert sorted(Response.objects.values_list("smiley", "channel")) == [(1, "kiosk"), (3, "kiosk")]
    assert watch.problems() == []


def test_the_kiosk_admin_pages(browse, world):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=[("smiley", "smiley", True, {})])
    page, watch = browse.open(DESKTOP, user=world.carol)
    page.goto(f"/t/acme/surveys/{survey.uuid}/kiosks/")
    assert axe_violations(page) == []
    page.get_by_label("Name").fill("Brussels front desk")
    page.get_by_role("button", name="Create device and show its link").click()
    url = page.get_by_label("Kiosk address").input_value()
    assert "/k/" in url
    assert axe_violations(page) == []
    screenshot(page, "kiosk-created")
    page.get_by_role("link", name="Done: back to the devices").click()
    page.get_by_role("button", name="Revoke Brussels front desk").click()
    expect(page.get_by_text("Revoked", exact=False).first).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "kiosk-list")
    assert watch.problems() == []



@pytest.mark.parametrize("size", SIZES.keys())
def test_the_score_clicked_in_the_email_is_recorded_as_the_page_opens(browse, world, size):
    """Issue 20 item 5: no further click; then the rest of the form completes the same response."""
    survey, _ = full_survey(world)
    _, token = invitation_with_token(survey)
    page, watch = browse.open(SIZES[size])
    page.goto(f"/s/{token}/?score=4")
    status = page.locator("[data-record-status]")
    expect(status).to_have_text("Thank you: your score of 4 is recorded. You may change it or tell us more below, then press Submit.")
    expect(page.get_by_role("button", name="Record my score")).to_be_hidden()
    assert responses(world.a, "nps", "comment", "score_only") == [(4, "", True)]
    expect(page.get_by_role("radio", name="4")).to_be_checked()
    assert axe_violations(page) == []
    assert horizontal_overflow(page) == 0
    screenshot(page, "respond-score-recorded")
    page.get_by_label("What is the main reason for your score?").fill("The invoice was late.")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    assert responses(world.a, "nps", "comment", "score_only") == [(4, "The invoice was late.", False)]
    assert watch.problems() == []


def test_without_javascript_one_button_records_the_clicked_score(browse, world):
    survey, _ = full_survey(world)
    _, token = invitation_with_token(survey)
    page, _ = browse.open(PHONE, java_script_enabled=False)
    page.goto(f"/s/{token}/?score=10")
    expect(page.locator("[data-record-status]")).to_contain_text("Your score: 10.")
    assert responses(world.a, "nps", "comment", "score_only") == []  # opening the link records nothing
    page.get_by_role("button", name="Record my score").click()
    expect(page.get_by_role("status")).to_contain_text("your score of 10 is recorded")
    assert responses(world.a, "nps", "comment", "score_only") == [(10, "", True)]
    expect(page.get_by_role("radio", name="10")).to_be_checked()
