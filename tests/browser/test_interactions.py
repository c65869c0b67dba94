"""Front-line pages in Chromium: bob logs an interaction with the keyboard only (Tab, typing, arrow
keys, Enter), sees it in My day and closes its follow-up by keyboard; axe finds no WCAG 2.1 AA
violation on the log form or My day; screenshots at 1280 and 390 wide."""

import datetime

import pytest
from playwright.sync_api import expect

from apps.core.dates import local_today
from apps.tenancy.context import tenant_context
from apps.touchpoints.models import Interaction
from tests import factories as f
from tests.browser.conftest import DESKTOP, MOBILE, WIDTHS, assert_page_is_clean, axe_violations, screenshot

pytestmark = pytest.mark.services

ACTIVE = "document.activeElement"


@pytest.fixture
def desk(world):
    segment = f.SegmentFactory(tenant=world.a, name="Clinics")
    cedar = f.ClientFactory(tenant=world.a, name="Cedar Dental", segment=segment)
    f.ContactFactory(client=cedar, name="Jordan Lee", email="jordan@cedar.example", role="Practice manager")
    f.ContactFactory(client=cedar, name="Sam Park", email="sam@cedar.example")
    f.ClientFactory(tenant=world.a, name="Cedar Ridge Farms")
    f.ClientFactory(tenant=world.a, name="Birch Law")
    f.TouchpointFactory(tenant=world.a, name="Helpdesk call", channel="phone")
    f.TouchpointFactory(tenant=world.a, name="Site visit", channel="in_person")
    f.ClientFactory(tenant=world.b, name="Cedar Dental")  # Globex's namesake: never offered in Acme
    return {"cedar": cedar}


def tab_to(page, locator, limit=40):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate(f"el => el === {ACTIVE}"):
            return
    raise AssertionError(f"{locator} is not reachable with Tab")


def test_bob_logs_an_interaction_with_the_keyboard_and_closes_its_follow_up_in_my_day(browse, world, desk):
    page, watch = browse.open(MOBILE, user=world.bob)
    page.goto("/t/acme/interactions/new/")

    # The client box has the focus: type, the type-ahead lists matches, the first is highlighted.
    combobox = page.get_by_role("combobox", name="Client")
    expect(combobox).to_be_focused()
    page.keyboard.type("ceda")
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_count(2)
    expect(combobox).to_have_attribute("aria-expanded", "true")
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")  # back to Cedar Dental
    page.keyboard.press("Enter")
    expect(combobox).to_have_value("Cedar Dental")
    expect(combobox).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#client-chosen")).to_contain_text("Cedar Dental · Clinics")

    # Contact: only Cedar Dental's people; a native select moves with arrow keys.
    page.keyboard.press("Tab")
    contact = page.get_by_label("Contact")
    expect(contact).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(contact.locator("option:checked")).to_have_text("Jordan Lee (Practice manager)")

    # Touchpoint: the first active one is preselected; pick the other with an arrow key.
    page.keyboard.press("Tab")
    expect(page.get_by_label("Touchpoint")).to_be_focused()
    page.keyboard.press("ArrowDown")

    # Outcome: a radio group; Tab lands on the checked one, arrows move the choice.
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name="Resolved", exact=True)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="Unresolved", exact=True)).to_be_checked()

    page.keyboard.press("Tab")
    summary = page.get_by_label("One-line summary")
    expect(summary).to_be_focused()
    page.keyboard.type("Invoice address still wrong; promised a fix by tomorrow")

    page.keyboard.press("Tab")  # sentiment: "Not rated" → "Very positive" → "Positive" … "Negative"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="Negative", exact=True)).to_be_checked()

    page.keyboard.press("Tab")  # predicted score: digits choose directly
    page.keyboard.press("6")
    expect(page.get_by_role("radio", name="6", exact=True)).to_be_checked()

    page.keyboard.press("Tab")
    follow_up = page.get_by_label("I need to follow up")
    expect(follow_up).to_be_focused()
    page.keyboard.press("Space")
    tomorrow = local_today(world.a.time_zone) + datetime.timedelta(days=1)  # the form's quick dates are the workspace's
    expect(page.get_by_label("Follow-up due")).to_have_value(tomorrow.isoformat())

    # Back to the summary: Enter saves.
    for _ in range(20):
        if summary.evaluate(f"el => el === {ACTIVE}"):
            break
        page.keyboard.press("Shift+Tab")
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text="Logged: Cedar Dental — unresolved.")).to_be_visible()
    expect(page.get_by_label("Touchpoint").locator("option:checked")).to_have_text("Site visit")  # remembered
    expect(combobox).to_have_value("")
    with tenant_context(world.a):
        interaction = Interaction.objects.select_related("contact", "touchpoint").get()
    assert (interaction.outcome, interaction.staff_sentiment, interaction.predicted_score) == ("unresolved", -1, 6)
    assert interaction.contact.name == "Jordan Lee"
    assert interaction.touchpoint.name == "Site visit"
    assert interaction.follow_up
    assert interaction.follow_up_due is not None

    # My day, from the success message's link, by keyboard.
    tab_to(page, page.get_by_role("link", name="See My day"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    follow_ups = page.locator(".follow-ups")
    expect(follow_ups).to_contain_text("Invoice address still wrong")
    expect(follow_ups).to_contain_text("Due tomorrow")
    done = page.get_by_role("button", name="Done with the follow-up for Cedar Dental")
    tab_to(page, done)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Follow-up with Cedar Dental marked done.")
    expect(page.locator(".follow-ups")).to_have_count(0)
    expect(page.locator(".recent")).to_contain_text("Invoice address still wrong")
    assert watch.problems() == []


def test_double_submit_logs_once(browse, world, desk):
    page, _ = browse.open(DESKTOP, user=world.bob)
    page.goto(f"/t/acme/interactions/new/?client={desk['cedar'].uuid}")
    page.get_by_label("One-line summary").fill("Quick check-in")
    page.evaluate("() => { const b = document.querySelector('[data-submit]'); b.click(); b.click(); }")
    expect(page.get_by_role("status").filter(has_text="Logged: Cedar Dental")).to_be_visible()
    with tenant_context(world.a):
        assert Interaction.objects.count() == 1


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_the_log_form_and_my_day_are_accessible_at_both_widths(browse, world, desk, width):
    bob = world.membership(world.bob, world.a)
    today = local_today(world.a.time_zone)  # My day counts overdue days in the workspace's zone
    for days, summary in [(-3, "Send the revised quote"), (0, "Call back about the audit"), (5, "Check the new portal works")]:
        f.InteractionFactory(staff=bob, client=desk["cedar"], summary=summary, follow_up=True, follow_up_due=today + datetime.timedelta(days=days),
                             predicted_score=7, staff_sentiment=1, text_sentiment=0.42)
    f.InteractionFactory(staff=bob, client=desk["cedar"], summary="Escalated a billing dispute", outcome="escalated")
    page, watch = browse.open(WIDTHS[width], user=world.bob)

    page.goto("/t/acme/interactions/new/")
    page.get_by_role("combobox", name="Client").type("ced")
    expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
    assert_page_is_clean(page, watch, "interaction-log-open")
    page.keyboard.press("Enter")
    assert_page_is_clean(page, watch, "interaction-log")

    page.goto("/t/acme/interactions/new/?q=ced")  # the search step without JavaScript's help
    assert_page_is_clean(page, watch, "interaction-log-search")

    response = page.goto("/t/acme/my-day/")
    assert response.status == 200
    expect(page.locator(".follow-up--overdue")).to_contain_text("Overdue by 3 days")
    assert_page_is_clean(page, watch, "my-day")


def test_the_log_form_reports_errors_accessibly(browse, world, desk):
    page, watch = browse.open(MOBILE, user=world.bob)
    page.goto("/t/acme/interactions/new/")
    page.get_by_label("One-line summary").press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#client-search-error")).to_contain_text("Choose a client")
    screenshot(page, "interaction-log-errors")
    assert not axe_violations(page)
    with tenant_context(world.a):
        assert Interaction.objects.count() == 0
    assert [p for p in watch.problems() if "400" not in p] == []
