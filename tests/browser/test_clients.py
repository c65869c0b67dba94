"""Client pages in Chromium at desktop (1280) and phone (390) width: they render, the console stays
clean, axe finds no WCAG 2.1 A/AA violation, the body never scrolls sideways; a lead creates a
client and adds a contact from the keyboard-reachable forms."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.clients.models import Client
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.browser.conftest import WIDTHS, assert_page_is_clean

pytestmark = pytest.mark.services


def populate(world):
    """A small, realistic client book in Acme: segments, clients in each status, contacts, interactions."""
    bob = world.membership(world.bob, world.a)
    carol = world.membership(world.carol, world.a)
    with tenant_context(world.a):
        enterprise = f.SegmentFactory(tenant=world.a, name="Enterprise", description="More than 1,000 employees")
        smb = f.SegmentFactory(tenant=world.a, name="Small business")
        phone = f.TouchpointFactory(tenant=world.a, name="Account review call", channel="phone")
        desk = f.TouchpointFactory(tenant=world.a, name="Helpdesk chat", channel="chat")
        northwind = f.ClientFactory(tenant=world.a, name="Northwind Traders", segment=enterprise, tier=Client.Tier.STRATEGIC,
                                    industry="Retail", owner=bob, annual_value=Decimal("1250000"),
                                    active_from=datetime.date(2021, 3, 1))
        f.ContactFactory(client=northwind, name="Ana Lima", email="ana.lima@northwind.example", role="CFO", phone="+32 2 555 01 23")
        f.ContactFactory(client=northwind, name="Otto Becker", email="otto@northwind.example", role="Procurement", opted_out=True,
                         locale="de")
        f.ClientFactory(tenant=world.a, name="Fabrikam", segment=smb, owner=carol, annual_value=Decimal("18000"),
                        active_from=datetime.date(2024, 9, 15), status=Client.Status.PROSPECT)
        f.ClientFactory(tenant=world.a, name="Contoso Pharmaceuticals International", segment=enterprise, tier=Client.Tier.KEY,
                        active_from=datetime.date(2019, 1, 1), churned_on=datetime.date(2025, 2, 28), status=Client.Status.CHURNED)
    now = datetime.datetime.now(datetime.UTC)
    for days, touchpoint, outcome, kwargs in [
        (1, phone, "resolved", {"predicted_score": 9, "staff_sentiment": 2, "summary": "Quarterly review: renewal agreed for 2 years"}),
        (8, desk, "escalated", {"follow_up": True, "follow_up_due": datetime.date(2020, 1, 1), "staff_sentiment": -1,
                                "summary": "Invoice dispute escalated to finance; client frustrated about late credit note"}),
        (30, desk, "unresolved", {"follow_up": True, "follow_up_due": datetime.date(2099, 1, 1), "summary": "Login issue on portal"}),
    ]:
        f.InteractionFactory(staff=bob, client=northwind, touchpoint=touchpoint, outcome=outcome,
                             occurred_at=now - datetime.timedelta(days=days), **kwargs)
    # The same name in Globex, never shown in Acme.
    with tenant_context(world.b):
        f.ClientFactory(tenant=world.b, name="Northwind Traders")
    return northwind


# name -> (path builder, who, heading)
PAGES = {
    "clients-list": (lambda c: "/t/acme/clients/", "carol", "Clients"),
    "clients-list-viewer": (lambda c: "/t/acme/clients/?status=active&sort=-annual_value", "victor", "Clients"),
    "client-detail": (lambda c: f"/t/acme/clients/{c.uuid}/", "carol", "Northwind Traders"),
    "client-create": (lambda c: "/t/acme/clients/new/", "carol", "New client"),
    "client-edit": (lambda c: f"/t/acme/clients/{c.uuid}/edit/", "carol", "Edit Northwind Traders"),
    "contact-create": (lambda c: f"/t/acme/clients/{c.uuid}/contacts/new/", "carol", "New contact at Northwind Traders"),
    "segments": (lambda c: "/t/acme/segments/", "carol", "Segments"),
}


@pytest.mark.parametrize("width", WIDTHS.keys())
@pytest.mark.parametrize("name", PAGES.keys())
def test_it_renders_the_client_pages_cleanly(browse, world, name, width):
    northwind = populate(world)
    path, who, heading = PAGES[name]
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who))

    response = page.goto(path(northwind))

    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text().strip() == heading
    if path(northwind).startswith("/t/acme/clients/"):
        expect(page.locator(".subnav [aria-current]")).to_have_text("Clients")
    assert_page_is_clean(page, watch, name)


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_a_bad_filter_shows_its_error(browse, world, width):
    populate(world)
    page, watch = browse.open(WIDTHS[width], user=world.carol)
    response = page.goto("/t/acme/clients/?segment=6f1c2a9e-4c1b-4e8a-9a55-0d7d3f5b2c11")
    assert response.status == 400
    expect(page.get_by_label("Segment")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Some filters are not valid")
    watch.console_errors = [e for e in watch.console_errors if "status of 400" not in e]
    watch.failed_responses = [r for r in watch.failed_responses if not r.startswith("400 ")]
    assert_page_is_clean(page, watch, "clients-list-bad-filter")


def test_a_lead_creates_a_client_and_adds_a_contact(browse, world):
    populate(world)
    page, watch = browse.open(WIDTHS["desktop"], user=world.carol)
    page.goto("/t/acme/clients/")
    page.get_by_role("link", name="New client").click()

    page.get_by_label("Name").fill("Tailspin Toys")
    page.get_by_label("Segment").select_option(label="Small business")
    page.get_by_label("Owner").select_option(label="Bob (bob@example.com)")
    page.get_by_label("Annual value").fill("42000")
    page.get_by_label("Active since").fill("2025-01-15")
    page.get_by_label("Status").select_option("churned")
    page.get_by_role("button", name="Create client").click()

    # Churned without a date: refused, with the reason next to the field.
    expect(page.get_by_label("Churned on")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Churned on")).to_have_accessible_description(re.compile("Give the date this client churned"))
    page.get_by_label("Status").select_option("active")
    page.get_by_role("button", name="Create client").press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Tailspin Toys")
    expect(page.get_by_role("status")).to_contain_text("Client “Tailspin Toys” created.")
    page.get_by_role("link", name="Add contact").click()
    page.get_by_label("Name").fill("Mia Chen")
    page.get_by_label("E-mail").fill("Mia.Chen@tailspin.example")
    page.get_by_label("Opted out").check()
    page.get_by_role("button", name="Add contact").click()

    row = page.get_by_role("row", name="Mia Chen")
    expect(row).to_contain_text("mia.chen@tailspin.example")
    expect(row).to_contain_text("Opted out")
    watch.console_errors = [e for e in watch.console_errors if "status of 400" not in e]
    watch.failed_responses = [r for r in watch.failed_responses if not r.startswith("400 ")]
    assert_page_is_clean(page, watch, "client-created")
