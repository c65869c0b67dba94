"""Passkeys and two-factor sign-in in Chromium (issue 21 item 1), through Chromium's virtual authenticator
(DevTools `WebAuthn.addVirtualAuthenticator`: a platform authenticator with resident keys and user
verification, answering as Touch ID or Windows Hello would): a member signs in with a password, confirms it,
adds a passkey, signs out, then signs in with the passkey alone; signing in with the password now asks for the
second step, which the passkey answers; a passkey's answer to a stale challenge is refused. Axe clean; screenshots
of the pages at 1280 and 390 wide."""

import re

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, MOBILE, assert_page_is_clean
from tests.factories import PASSWORD

pytestmark = pytest.mark.services


# Run in the sign-in page (DevTools evaluation, which the page's CSP does not govern), with allauth's own helpers.
OPTIONS = """async () => {
  const response = await fetch('/accounts/2fa/webauthn/login/', {headers: {Accept: 'application/json'}});
  return (await response.json()).request_options;
}"""
SIGN_AND_SUBMIT = """async (options) => {
  const credential = await webauthnJSON.get(options);
  document.getElementById('mfa_credential').value = JSON.stringify(credential);
  document.getElementById('mfa_login').submit();
}"""


def _virtual_authenticator(page) -> tuple:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def _sign_in_with_password(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_member_adds_a_passkey_and_signs_in_with_it(browse, world):
    assert re.match(r"http://localhost:\d+$", browse.live_server.url), "passkeys need a domain name: the live server is on localhost"
    page, watch = browse.open(DESKTOP)
    cdp, authenticator_id = _virtual_authenticator(page)
    _sign_in_with_password(page, world.carol.email)
    expect(page).to_have_url(re.compile(r"/t/acme/"))

    page.goto("/accounts/2fa/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    assert_page_is_clean(page, watch, "mfa-index")
    page.get_by_role("link", name="Add a passkey").click()
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))  # a security change: the password again
    assert_page_is_clean(page, watch, "mfa-reauthenticate")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/webauthn/add/"))
    assert_page_is_clean(page, watch, "mfa-add-passkey")
    page.get_by_label("Name").fill("Work laptop")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/"))  # the first factor brings recovery codes
    assert_page_is_clean(page, watch, "mfa-recovery-codes")
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert len(credentials) == 1
    assert credentials[0]["isResidentCredential"] is True
    passkey = Authenticator.objects.get(user=world.carol, type=Authenticator.Type.WEBAUTHN)
    assert passkey.wrap().name == "Work laptop"

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    assert_page_is_clean(page, watch, "login")

    # A stale challenge: the passkey signs the challenge of an earlier request, after a newer one replaced it in the
    # session (what a relayed or replayed assertion looks like). Refused, nobody signed in.
    stale = page.evaluate(OPTIONS)
    page.evaluate(OPTIONS)
    page.evaluate(SIGN_AND_SUBMIT, stale)
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("status")).to_contain_text("Incorrect code.")  # allauth's one word for a refused factor
    expect(page.get_by_role("banner")).not_to_contain_text("carol@example.com")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(re.compile(r"/t/acme/"))  # no password typed
    expect(page.get_by_role("banner")).to_contain_text("carol@example.com")

    # With a passkey added, the password alone no longer signs carol in: the passkey answers the second step.
    page.get_by_role("button", name="Sign out").click()
    _sign_in_with_password(page, world.carol.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    assert_page_is_clean(page, watch, "mfa-authenticate")
    page.get_by_role("button", name=re.compile("Use a security key|passkey", re.I)).click()
    expect(page).to_have_url(re.compile(r"/t/acme/"))
    assert watch.problems() == []


def test_the_two_factor_pages_fit_a_phone(browse, world):
    page, watch = browse.open(MOBILE)
    _sign_in_with_password(page, world.bob.email)
    expect(page).to_have_url(re.compile(r"/t/acme/"))
    page.goto("/accounts/2fa/")
    assert_page_is_clean(page, watch, "mfa-index-phone")
    page.get_by_role("link", name="Set up an authenticator app").click()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    expect(page.get_by_role("img")).to_have_count(1)  # the QR code, its secret spelled out below
    assert_page_is_clean(page, watch, "mfa-totp-phone")
