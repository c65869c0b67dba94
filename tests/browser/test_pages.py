"""Every page at desktop (1280×800) and phone (390×844) width: it renders, the console stays clean
(no CSP violation, no script error, no failed request), axe finds no WCAG 2.1 A/AA violation, and the
body never scrolls sideways on a phone (wide tables scroll inside their .table-wrap)."""

import re

import pytest
from playwright.sync_api import expect

from apps.accounts.services import member_invite
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create, api_key_revoke, tenant_update
from tests.browser.conftest import WIDTHS, assert_page_is_clean

pytestmark = pytest.mark.services


def populate(world):
    """Give the admin pages something to show: keys (one revoked), a pending invitation, audit events."""
    with tenant_context(world.a):
        key, _ = api_key_create(tenant=world.a, acting_user=world.alice, name="CRM sync", role=Role.STAFF)
        old, _ = api_key_create(tenant=world.a, acting_user=world.alice, name="Old export job", role=Role.VIEWER)
        api_key_revoke(tenant=world.a, acting_user=world.alice, api_key=old)
        member_invite(tenant=world.a, acting_user=world.alice, email="new.hire@example.com", role=Role.STAFF)
        tenant_update(tenant=world.a, acting_user=world.alice,
                      data={"sender_name": "Acme Customer Care", "survey_fatigue_days": 45})
    invitation_token = None
    with tenant_context(world.a):
        _, invitation_token = member_invite(tenant=world.a, acting_user=world.alice,
                                            email="someone.else@example.com", role=Role.VIEWER)
    return invitation_token


# name -> (path, who is signed in: a World attribute or None, the heading the page must show)
PAGES = {
    "login": ("/accounts/login/", None, "Sign in"),
    "password-reset": ("/accounts/password-reset/", None, "Reset your password"),
    "workspaces": ("/workspaces/", "dana", "Your workspaces"),
    "tenant-home": ("/t/acme/", "alice", "Overview"),  # the home opens the role's dashboard
    "tenant-home-staff": ("/t/acme/", "bob", "My home"),
    "settings": ("/t/acme/settings/", "alice", "Workspace settings"),
    "members": ("/t/acme/settings/members/", "alice", "Members"),
    "member-edit": (None, "alice", "Bob"),
    "api-keys": ("/t/acme/settings/api-keys/", "alice", "API keys"),
    "audit": ("/t/acme/settings/audit/", "alice", "Audit log"),
    "invitation": (None, None, "Join Acme Advisory"),
    "not-found": ("/t/acme/no-such-page/", "alice", "Not found"),
}


@pytest.mark.parametrize("width", WIDTHS.keys())
@pytest.mark.parametrize("name", PAGES.keys())
def test_it_renders_the_page_cleanly(browse, world, name, width):
    invitation_token = populate(world)
    path, who, heading = PAGES[name]
    if name == "member-edit":
        path = f"/t/acme/settings/members/{world.membership(world.bob, world.a).uuid}/"
    if name == "invitation":
        path = f"/invite/{invitation_token}/"
    page, watch = browse.open(WIDTHS[width], user=getattr(world, who) if who else None)

    response = page.goto(path)

    expected_status = 404 if name == "not-found" else 200
    assert response.status == expected_status
    assert page.get_by_role("heading", level=1).inner_text().strip() == heading
    current_tab = page.locator(".subnav [aria-current]")
    if current_tab.count():
        expect(current_tab).to_be_in_viewport(ratio=1)
    if name == "not-found":
        watch.console_errors = [e for e in watch.console_errors if "404" not in e]
        watch.failed_responses = [r for r in watch.failed_responses if not r.startswith("404 ") or path not in r]
    assert_page_is_clean(page, watch, name)


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_it_shows_a_new_api_key_once_with_a_working_copy_button(browse, world, width):
    populate(world)
    page, watch = browse.open(WIDTHS[width], user=world.alice)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=browse.live_server.url)
    page.goto("/t/acme/settings/api-keys/")

    page.get_by_label("Name").fill("Zapier bridge")
    page.get_by_label("Role").select_option(Role.VIEWER)
    page.get_by_role("button", name="Create key").click()

    new_key = page.get_by_label("New key")
    key = new_key.input_value()
    assert key.startswith("cxm_")
    assert len(key) > 40
    assert page.get_by_role("row", name="Zapier bridge").count() == 1
    assert_page_is_clean(page, watch, "api-keys-new-key")

    copy = page.get_by_role("button", name="Copy")
    copy.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key

    page.goto("/t/acme/settings/api-keys/")
    assert page.get_by_label("New key").count() == 0, "the secret must be shown once only"
    assert key not in page.content()
    assert page.get_by_role("row", name="Zapier bridge").count() == 1


@pytest.mark.parametrize("width", WIDTHS.keys())
def test_it_ties_field_errors_to_their_inputs(browse, world, width):
    page, watch = browse.open(WIDTHS[width], user=world.alice)
    page.goto("/t/acme/settings/api-keys/")

    page.get_by_role("button", name="Create key").click()

    name = page.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile(r"^(?=.*This field is required\.)(?=.*What uses this key)"))
    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below")
    # The form answers 400, which Chromium reports on the console; nothing else may.
    watch.console_errors = [e for e in watch.console_errors if "status of 400" not in e]
    watch.failed_responses = [r for r in watch.failed_responses if not r.startswith("400 ")]
    assert_page_is_clean(page, watch, "api-keys-error")
