"""Case pages in Chromium at desktop (1280) and phone (390) width: they render, the console stays
clean, axe finds no WCAG 2.1 A/AA violation, the body never scrolls sideways; a CX lead opens the case
list and a case and resolves it from the keyboard (root cause, action, recovery survey, submit)."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.feedback.models import Case
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Team
from tests import factories as f
from tests.browser.conftest import WIDTHS, assert_page_is_clean
from tests.builders import live_survey

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def patient_expectations():
    """A loaded test machine (many suites at once) is slower than the 5 s default of `expect`."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)


def open_page(browse, width, user):
    page, watch = browse.open(WIDTHS[width], user=user)
    page.set_default_timeout(30_000)
    return page, watch


def populate(world):
    """Acme's case desk: a detractor rule with a recovery survey, root causes, cases overdue, due, in a
    team's queue and resolved, a thread of notes and events."""
    now = timezone.now()
    with tenant_context(world.a):
        support = Team.objects.get(name="Support")
        bob = world.membership(world.bob, world.a)
        bob.team = support
        bob.save(update_fields=["team"])
        carol = world.membership(world.carol, world.a)
        northwind = f.ClientFactory(tenant=world.a, name="Northwind Traders")
        ana = f.ContactFactory(client=northwind, name="Ana Lima", email="ana.lima@northwind.example")
        fabrikam = f.ClientFactory(tenant=world.a, name="Fabrikam")
        survey = live_survey(world.a, name="How did we do this time?")
        touchpoint = f.TouchpointFactory(tenant=world.a, name="Helpdesk chat")
        rule = f.AlertRuleFactory(tenant=world.a, name="Every detractor", assignee=bob, team=support, recovery_survey=survey,
                                  touchpoint=touchpoint)
        f.AlertRuleFactory(tenant=world.a, name="Hard effort", trigger="ces_at_most", threshold=3, assign_to="team", assignee=None,
                           team=support, sla_hours=24)
        slow = f.RootCauseFactory(tenant=world.a, name="Slow response", description="We answered after the promised time.")
        f.RootCauseFactory(tenant=world.a, name="Billing error")
        f.RootCauseFactory(tenant=world.a, name="Old process", is_active=False)
        overdue = f.CaseFactory(tenant=world.a, client=northwind, contact=ana, rule=rule, title="NPS 3 from Ana Lima at Northwind Traders",
                                description="“Nobody called me back about the credit note.”", trigger_metric="nps", trigger_score=3,
                                assignee=bob, team=support, opened_at=now - datetime.timedelta(days=3),
                                due_at=now - datetime.timedelta(days=2, hours=1))
        f.CaseNoteFactory(case=overdue, kind="event", body="Opened by rule “Every detractor”. Assigned to Bob; due in 48 h.")
        f.CaseNoteFactory(case=overdue, author=bob, body="Left a voicemail; will try again tomorrow morning.")
        f.CaseFactory(tenant=world.a, client=fabrikam, title="Invoice dispute", assignee=carol, status="in_progress",
                      opened_at=now, due_at=now + datetime.timedelta(hours=5))
        f.CaseFactory(tenant=world.a, client=northwind, title="Portal login keeps failing", team=support,
                      opened_at=now, due_at=now + datetime.timedelta(days=3))
        f.CaseFactory(tenant=world.a, client=fabrikam, title="Late delivery", assignee=bob, status="resolved", root_cause=slow,
                      action_taken="Expedited the replacement.", resolved_at=now, opened_at=now - datetime.timedelta(days=5),
                      due_at=now - datetime.timedelta(days=3))
    with tenant_context(world.b):
        f.CaseFactory(tenant=world.b, title="NPS 3 from Ana Lima at Northwind Traders")
    return {"overdue": overdue, "rule": rule, "slow": slow}


# name -> (path builder, who, heading)
PAGES = {
    "cases-list": (lambda d: "/t/acme/cases/", "carol", "Cases"),
    "cases-list-staff": (lambda d: "/t/acme/cases/?status=all", "bob", "Cases"),
    "case-detail": (lambda d: f"/t/acme/cases/{d['overdue'].uuid}/", "carol", "NPS 3 from Ana Lima at Northwind Traders"),
    "case-detail-viewer": (lambda d: f"/t/acme/cases/{d['overdue'].uuid}/", "victor", "NPS 3 from Ana Lima at Northwind Traders"),
    "case-create": (lambda d: "/t/acme/cases/new/", "carol", "New case"),
    "alert-rules": (lambda d: "/t/acme/settings/alert-rules/", "alice", "Alert rules"),
    "alert-rule-edit": (lambda d: f"/t/acme/settings/alert-rules/{d['rule'].uuid}/", "alice", "Edit Every detractor"),
    "root-causes": (lambda d: "/t/acme/settings/root-causes/", "alice", "Root causes"),
    "staff-home-cases": (lambda d: "/t/acme/home/", "bob", "My home"),
}


@pytest.mark.parametrize("width", WIDTHS.keys())
@pytest.mark.parametrize("name", PAGES.keys())
def test_it_renders_the_case_pages_cleanly(browse, world, name, width):
    desk = populate(world)
    path, who, heading = PAGES[name]
    page, watch = open_page(browse, width, getattr(world, who))

    response = page.goto(path(desk))

    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text().strip() == heading
    if name == "staff-home-cases":
        from tests.browser.conftest import wait_for_charts

        wait_for_charts(page, "all" if page.locator("[data-chart]").count() else "none")
        expect(page.locator("[data-section=my-cases]")).to_contain_text("Overdue · overdue by 2 d")
    assert_page_is_clean(page, watch, name)


def test_a_lead_resolves_a_case_with_the_keyboard(browse, world):
    desk = populate(world)
    page, watch = open_page(browse, "desktop", world.carol)
    page.goto("/t/acme/cases/")
    first = page.locator("tbody tr").first
    expect(first).to_contain_text("Overdue · overdue by 2 d")  # overdue first, said in words
    first.get_by_role("link", name="NPS 3 from Ana Lima at Northwind Traders").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("NPS 3 from Ana Lima at Northwind Traders")
    expect(page.get_by_text("Left a voicemail; will try again tomorrow morning.")).to_be_visible()

    # Without a root cause: refused with the reason, the case stays open.
    page.get_by_label("Action taken").focus()
    page.keyboard.type("Called Ana and credited the invoice.")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Send the recovery survey")).to_be_focused()
    expect(page.get_by_label("Send the recovery survey")).to_be_checked()  # the rule has one; Ana can be written to
    page.keyboard.press("Space")  # no survey this time (the survey tests cover sending it)
    expect(page.get_by_label("Send the recovery survey")).not_to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Resolve case")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Root cause")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Root cause")).to_have_accessible_description("Choose the root cause: a case is resolved only with one.")
    with tenant_context(world.a):
        assert Case.objects.get(pk=desk["overdue"].pk).status == "open"

    page.get_by_label("Root cause").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # "Billing error", then "Slow response" (alphabetical; archived ones are not offered)
    expect(page.get_by_label("Root cause")).to_have_value(str(desk["slow"].uuid))
    page.keyboard.press("Tab")
    expect(page.get_by_label("Action taken")).to_have_value("Called Ana and credited the invoice.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Resolve case")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Case resolved.")
    expect(page.locator(".case-facts")).to_contain_text("Resolved")
    expect(page.locator("#resolution-h")).to_be_visible()
    expect(page.get_by_text("Called Ana and credited the invoice.").first).to_be_visible()
    with tenant_context(world.a):
        case = Case.objects.get(pk=desk["overdue"].pk)
        assert (case.status, case.root_cause_id) == ("resolved", desk["slow"].pk)
    watch.console_errors = [e for e in watch.console_errors if "status of 400" not in e]
    watch.failed_responses = [r for r in watch.failed_responses if not r.startswith("400 ")]
    assert_page_is_clean(page, watch, "case-resolved")


def test_the_rule_form_shows_the_threshold_of_the_chosen_trigger(browse, world):
    desk = populate(world)
    page, watch = open_page(browse, "desktop", world.alice)
    page.goto(f"/t/acme/settings/alert-rules/{desk['rule'].uuid}/")
    expect(page.get_by_label("Threshold")).to_have_value("6")
    expect(page.locator("[data-trigger=nps_at_most]")).to_be_visible()
    expect(page.locator("[data-trigger=csat_at_most]")).to_be_hidden()
    page.get_by_label("Trigger").select_option("csat_at_most")
    expect(page.locator("[data-trigger=csat_at_most]")).to_be_visible()
    page.get_by_label("Threshold").fill("9")
    page.get_by_role("button", name="Save rule").click()
    # The help of the chosen trigger only (the others are hidden), then the error.
    expect(page.get_by_label("Threshold")).to_have_accessible_description(
        "CSAT: the highest answer that opens a case, 1–5 (2 = dissatisfied). Choose a threshold from 1 to 5.")
    page.get_by_label("Trigger").select_option("interaction_follow_up")
    expect(page.get_by_label("Threshold")).to_be_hidden()  # an interaction flagged for follow-up has no threshold
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_contain_text("Alert rule saved.")
    watch.console_errors = [e for e in watch.console_errors if "status of 400" not in e]
    watch.failed_responses = [r for r in watch.failed_responses if not r.startswith("400 ")]
    assert_page_is_clean(page, watch, "alert-rules-saved")
