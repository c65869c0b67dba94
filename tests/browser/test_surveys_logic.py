"""Survey logic in Chromium (issue 20 item 1): a respondent walks the pages of the web link on a phone and on a
desktop, with JavaScript and without it (the flow is the server's), goes back, and ends on the ending of their
branch; the builder's question form, ending form and editor (the flow: pages, rules, endings) pass axe.
Screenshots: artifacts/screenshots/logic-*.png."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from apps.surveys.models import Answer, Question, Response
from apps.tenancy.context import tenant_context
from tests.browser.conftest import DESKTOP, assert_page_is_clean, axe_violations, horizontal_overflow, screenshot
from tests.builders import logic_survey

pytestmark = [pytest.mark.services, pytest.mark.postgres]

PHONE = {"width": 360, "height": 740}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield


def answers(tenant):
    with tenant_context(tenant):
        return [dict(Answer.objects.filter(response=r).values_list("question__key", "value")) for r in Response.objects.all()]


@pytest.mark.parametrize("size,javascript", [("phone", True), ("desktop", False)])
def test_a_detractor_walks_the_pages_and_back_to_their_ending(browse, world, size, javascript):
    survey = logic_survey(world)
    page, watch = browse.open(PHONE if size == "phone" else DESKTOP, java_script_enabled=javascript)
    page.goto(f"/w/{survey.web_token}/")
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
    page.get_by_role("radio", name="3", exact=True).check()
    page.wait_for_timeout(2100)  # an anonymous form submitted within 2 s of its rendering is a bot's
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    expect(page.get_by_role("group", name="What went wrong?")).to_be_visible()
    page.get_by_role("button", name="Next").click()  # the required question of this page, unanswered
    expect(page.locator(".q__error")).to_be_visible()
    assert not javascript or axe_violations(page) == []  # axe runs in the page: only with JavaScript
    page.get_by_text("Waiting time").click()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 3 of 3")).to_be_visible()
    page.get_by_label("Anything else?").fill("The queue <b>was</b> long")
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    expect(page.get_by_role("radio", name="Waiting time")).to_be_checked()
    if javascript:
        assert horizontal_overflow(page) <= 0
        assert axe_violations(page) == []
    screenshot(page, f"logic-page-2-{size}")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Anything else?")).to_have_value("The queue <b>was</b> long")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Someone from our team will call you within two days.")).to_be_visible()
    screenshot(page, f"logic-ending-{size}")
    assert not javascript or axe_violations(page) == []
    assert answers(world.a) == [{"nps": 3, "topic": "wait", "comment": "The queue <b>was</b> long"}]
    # The page sent back with its error answers 400 (reported twice: the response, and Chromium's console line); nothing else.
    assert [p for p in watch.problems() if "400" not in p] == []


def test_a_promoter_never_sees_the_detractor_page(browse, world):
    survey = logic_survey(world)
    page, watch = browse.open(PHONE)
    page.goto(f"/w/{survey.web_token}/")
    page.get_by_role("radio", name="10", exact=True).check()
    page.wait_for_timeout(2100)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 3 of 3")).to_be_visible()
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Thank", exact=False).first).to_be_visible()
    expect(page.get_by_text("Someone from our team")).to_have_count(0)
    assert answers(world.a) == [{"nps": 10}]
    assert watch.problems() == []


def test_the_builder_shows_and_edits_the_flow(browse, world):
    survey = logic_survey(world, publish=False)
    with tenant_context(world.a):
        topic = Question.objects.get(key="topic")
    page, watch = browse.open(DESKTOP, user=world.carol)
    page.goto(f"/t/acme/surveys/{survey.uuid}/")
    expect(page.get_by_text("Shown only if nps is 0–6")).to_be_visible()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Endings")).to_be_visible()
    assert_page_is_clean(page, watch, "logic-editor")

    page.goto(f"/t/acme/surveys/{survey.uuid}/questions/{topic.uuid}/")
    expect(page.get_by_role("heading", name="Page and logic")).to_be_visible()
    expect(page.get_by_label("Start a new page with this question")).to_be_checked()
    expect(page.get_by_label("Part 1: question")).to_have_value("nps")
    expect(page.get_by_label("Part 1: to score")).to_have_value("6")
    page.get_by_label("Part 1: to score").fill("4")
    assert_page_is_clean(page, watch, "logic-question")
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("Shown only if nps is 0–4")).to_be_visible()

    page.get_by_role("link", name="Add an ending").click()
    page.get_by_label("Key").fill("promoters")
    page.get_by_text("Only if all of these hold").click()
    page.get_by_label("Part 1: question").select_option("nps")
    page.get_by_label("Part 1: condition").select_option("between")
    page.get_by_label("Part 1: from score").fill("9")
    page.get_by_label("Part 1: to score").fill("10")
    page.get_by_label("Thank-you message").fill("Would you leave us a review?")
    assert_page_is_clean(page, watch, "logic-ending-form")
    page.get_by_role("button", name="Save ending").click()
    expect(page.get_by_text("When nps is 9–10: “Would you leave us a review?”")).to_be_visible()
    assert watch.problems() == []
