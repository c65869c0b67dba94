"""Single sign-on in Chromium (issue 21 item 2) against a real OpenID Connect provider on loopback
(django-oauth-toolkit, tests/oidc_provider/): an admin configures the workspace's sign-on on its settings page,
then a colleague signs in from the sign-in page through the provider's own sign-in page and lands in the workspace;
the password refusal when it is required: tests/test_accounts_sso.py. Axe clean; screenshots at 1280 and 390 wide."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, MOBILE, assert_page_is_clean
from tests.oidc_provider.server import IDP_PASSWORD

pytestmark = pytest.mark.services


def test_an_admin_configures_sso_and_a_member_signs_in_through_the_provider(browse, world, oidc_provider):
    callback = browse.url("/accounts/sso/callback/")
    oidc_provider.add_client(client_id="cxm-browser", secret="browser-secret-1", redirect_uris=[callback])

    admin, admin_watch = browse.open(DESKTOP, user=world.alice)
    admin.goto("/t/acme/settings/")
    admin.get_by_role("navigation", name="Administration").get_by_role("link", name="Single sign-on").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Single sign-on")
    expect(admin.get_by_label("Redirect URI")).to_have_value(callback)
    admin.get_by_label("Issuer URL").fill(oidc_provider.issuer)
    admin.get_by_label("Client id").fill("cxm-browser")
    admin.get_by_label("Client secret").fill("browser-secret-1")
    admin.get_by_label("E-mail domain").fill("example.com")
    expect(admin.get_by_label("Require single sign-on")).not_to_be_checked()  # only once an admin came through it
    admin.get_by_role("button", name="Save single sign-on").click()
    expect(admin.get_by_text("Single sign-on saved.")).to_be_visible()
    assert_page_is_clean(admin, admin_watch, "sso-settings")

    page, watch = browse.open(MOBILE)
    page.goto("/accounts/sso/callback/?state=forged&code=x")  # a return this browser never started
    expect(page.get_by_role("alert")).to_contain_text("was not started in this browser")
    watch.failed_responses.clear()  # its 400 is the point (and the console reports it)
    watch.console_errors.clear()
    assert_page_is_clean(page, watch, "sso-refused")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    assert_page_is_clean(page, watch, "sso-start")
    page.get_by_label("Work e-mail").fill("carol@example.com")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Northwind identity")).to_be_visible()  # the provider's own page
    assert page.url.startswith(oidc_provider.issuer.rsplit("/o", 1)[0])
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(IDP_PASSWORD)
    page.get_by_role("button", name="Sign in to Northwind").click()
    expect(page).to_have_url(re.compile(r"/t/acme/"))
    expect(page.get_by_role("banner")).to_contain_text(re.compile("carol@example.com|Account"))
    page.goto("/t/acme/dashboards/")
    expect(page).to_have_url(re.compile(r"/t/acme/dashboards/"))  # the session came through the workspace's sign-on
    assert watch.problems() == []
