"""Distribution pages in Chromium at desktop (1280) and phone (390) width — send, send log, outbox,
the opt-out pages — render cleanly with axe at 0 WCAG 2.1 A/AA violations; a CX lead sends a survey
from the form and reads the result in the send log."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from apps.messaging.services import outbox_deliver
from apps.surveys.distribution import services as dist
from apps.surveys.models import Invitation
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import WIDTHS, assert_page_is_clean
from tests.builders import LINK, live_survey, send

pytestmark = pytest.mark.services


def populate(world):
    """A live NPS survey in Acme with a send log showing every kind of row, and a delivered e-mail."""
    survey = live_survey(world.a, name="Relationship NPS 2025", languages=("en", "fr"))
    segment = f.SegmentFactory(tenant=world.a, name="Enterprise")
    northwind = f.ClientFactory(tenant=world.a, name="Northwind Traders", segment=segment)
    people = {
        "ana": f.ContactFactory(client=northwind, name="Ana Lima", email="ana.lima@northwind.example"),
        "otto": f.ContactFactory(client=northwind, name="Otto Becker", email="otto@northwind.example", opted_out=True),
        "nomail": f.ContactFactory(client=northwind, name="Pat Noemail", email=""),
        "luc": f.ContactFactory(client=f.ClientFactory(tenant=world.a, name="Contoso Pharmaceuticals International"),
                                name="Luc Martin", email="luc.martin@contoso.example", locale="fr"),
    }
    result = send(world, survey, list(people.values()))
    with tenant_context(world.a):
        dist.invitations_dispatch_due(tenant=world.a)
    outbox_deliver(tenant=world.a)
    with tenant_context(world.a):
        luc = Invitation.objects.get(contact=people["luc"])
        Invitation.objects.filter(pk=luc.pk).update(status="responded", sent_at=timezone.now() - timedelta(hours=3),
                                                    opened_at=timezone.now() - timedelta(hours=2),
                                                    responded_at=timezone.now() - timedelta(hours=1), reminders_sent=1)
    return survey, result, people


PAGES = {
    "distribution-send": (lambda s: f"/t/acme/surveys/{s.uuid}/send/", "carol", "Send “Relationship NPS 2025”"),
    "distribution-log": (lambda s: f"/t/acme/surveys/{s.uuid}/log/", "carol", "Send log: Relationship NPS 2025"),
    "distribution-log-filtered": (lambda s: f"/t/acme/surveys/{s.uuid}/log/?status=skipped", "carol", "Send log: Relationship NPS 2025"),
    "distribution-outbox": (lambda s: "/t/acme/surveys/outbox/", "alice", "Survey outbox"),
}


@pytest.mark.parametrize("width", WIDTHS.keys())
@pytest.mark.parametrize("name", PAGES.keys())
def test_it_renders_the_distribution_pages_cleanly(browse, world, name, width):
    survey, _, _ = populate(world)
    path, who, heading = PAGES[name]
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who))
    response = page.goto(path(survey))
    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text().strip() == heading
    assert_page_is_clean(page, watch, name)


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_the_opt_out_pages_are_clean_in_the_contacts_language(browse, world, width):
    survey, _, people = populate(world)
    message = next(m for m in mail.outbox if m.to == [people["ana"].email])
    token = LINK.search(message.body).group(1)
    page, watch = browse.open(WIDTHS[width])
    assert page.goto(f"/s/{token}/opt-out/").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Stop receiving surveys")
    assert_page_is_clean(page, watch, "optout-confirm")
    page.get_by_role("button", name="Stop sending me surveys").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("You will not receive surveys any more")
    assert_page_is_clean(page, watch, "optout-done")
    with tenant_context(world.a):
        people["ana"].refresh_from_db()
    assert people["ana"].opted_out


def test_a_lead_sends_from_the_form_and_reads_the_send_log(browse, world):
    survey, _, people = populate(world)
    fresh = f.ContactFactory(client=f.ClientFactory(tenant=world.a, name="Fabrikam"), name="Zoe Fresh", email="zoe@fabrikam.example")
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto(f"/t/acme/surveys/{survey.uuid}/send/")
    # The picker: search, tick, then review who will be invited before the confirm button sends.
    page.get_by_label("Find contacts").fill("fabrikam")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_label(f"Zoe Fresh — Fabrikam ({fresh.email})").check()
    page.get_by_role("button", name="Review who will be invited").click()
    expect(page.get_by_role("heading", name="1 of 1 contact will be invited")).to_be_visible()
    assert_page_is_clean(page, watch, "distribution-send-review")
    page.get_by_role("button", name="Send 1 invitation now").press("Enter")
    # The send runs in the background; its page follows it (tasks run in-process here, so it is done at once).
    expect(page.get_by_role("heading", level=1)).to_have_text("Sent “Relationship NPS 2025”")
    expect(page.get_by_role("status")).to_contain_text("1 invitation queued")
    assert_page_is_clean(page, watch, "distribution-send-done")
    page.get_by_role("link", name="This send's invitations in the send log").click()
    expect(page.get_by_role("row", name="Zoe Fresh")).to_be_visible()
    expect(page.get_by_role("row", name="Otto Becker")).to_have_count(0)
    page.get_by_role("link", name="Clear").click()
    expect(page.get_by_role("row", name="Otto Becker")).to_contain_text("Contact opted out")
    expect(page.get_by_role("row", name="Pat Noemail")).to_contain_text("No e-mail address")
    expect(page.get_by_role("row", name="Luc Martin")).to_contain_text("Responded")
    expect(page.get_by_role("row", name="Zoe Fresh")).to_be_visible()
    page.get_by_label("Why not sent").select_option("opted_out")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("row", name="Otto Becker")).to_be_visible()
    expect(page.get_by_role("row", name="Ana Lima")).to_have_count(0)
    assert_page_is_clean(page, watch, "distribution-log-after-send")
