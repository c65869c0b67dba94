"""Two-factor sign-in on django-allauth (issue 21 item 1), through the real HTTP paths, with real TOTP codes
(pyotp computes them from the secret the activation page shows): setting up an authenticator app, signing in
with it and with a recovery code, a wrong or replayed code refused, every change audited in each of the user's
workspaces, and a workspace that requires two-factor sign-in (pages and API). Passkeys: tests/browser/test_mfa.py."""

import re

import pyotp
from allauth.mfa.models import Authenticator
from django.core.cache import cache

from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests.conftest import make_api_key
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
TWO_FACTOR = "/accounts/2fa/authenticate/"


def _sign_in(client, email, password=PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def _activate_totp(client, on_commit) -> pyotp.TOTP:
    """Set up an authenticator app as a person would; `on_commit`: django_capture_on_commit_callbacks (allauth
    signals the change, and we audit it, once the transaction commits)."""
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked.status_code == 302
    assert asked.url.startswith("/accounts/reauthenticate/"), "a security change asks for the password again"
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert secret in page.content.decode(), "the secret is shown for apps that cannot scan the QR code"
    totp = pyotp.TOTP(secret)
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": str((int(totp.now()) + 1) % 1_000_000).zfill(6)})
    assert wrong.status_code == 200
    assert b"Incorrect code" in wrong.content
    assert not Authenticator.objects.filter(type=Authenticator.Type.TOTP).exists()
    with on_commit(execute=True):
        done = client.post("/accounts/2fa/totp/activate/", {"code": totp.now()})
    assert done.status_code == 302
    return totp


def _audit_actions(tenant, user) -> list[str]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(target_label=user.email, action__startswith="mfa.").order_by("id").values_list("action", flat=True))


def test_an_authenticator_app_is_set_up_with_a_real_code_and_then_asked_for_at_sign_in(world, client, django_capture_on_commit_callbacks):
    assert _sign_in(client, world.dana.email).status_code == 302
    totp = _activate_totp(client, django_capture_on_commit_callbacks)
    assert Authenticator.objects.filter(user=world.dana, type=Authenticator.Type.TOTP).count() == 1
    assert Authenticator.objects.filter(user=world.dana, type=Authenticator.Type.RECOVERY_CODES).count() == 1
    # Audited in each of dana's two workspaces (the app, and the recovery codes made with it), without the secret.
    for tenant in (world.a, world.b):
        assert _audit_actions(tenant, world.dana) == ["mfa.added", "mfa.added"]
    with tenant_context(world.a):
        events = list(AuditEvent.objects.filter(action="mfa.added").order_by("id"))
    assert [e.changes for e in events] == [{"authenticator": [None, "authenticator app"]}, {"authenticator": [None, "recovery codes"]}]
    assert {e.actor_id for e in events} == {world.dana.pk}

    client.post("/accounts/logout/")
    response = _sign_in(client, world.dana.email)
    assert response.status_code == 302
    assert response.url == TWO_FACTOR, "the password alone no longer signs dana in"
    assert client.get("/t/acme/home/").status_code == 302, "not signed in before the second step"

    wrong = client.post(TWO_FACTOR, {"code": "000000" if totp.now() != "000000" else "111111"})
    assert wrong.status_code == 200
    assert b"Incorrect code" in wrong.content
    code = totp.now()
    assert client.post(TWO_FACTOR, {"code": code}).status_code == 302
    assert client.get("/t/acme/home/").status_code == 200

    # The same code, replayed by someone who watched it typed, is refused even within its 30 seconds.
    other = client.__class__()
    assert _sign_in(other, world.dana.email).url == TWO_FACTOR
    replay = other.post(TWO_FACTOR, {"code": code})
    assert replay.status_code == 200
    assert b"Incorrect code" in replay.content
    assert other.get("/t/acme/home/").status_code == 302


def test_a_recovery_code_signs_in_once(world, client, django_capture_on_commit_callbacks):
    _sign_in(client, world.alice.email)
    _activate_totp(client, django_capture_on_commit_callbacks)
    codes = Authenticator.objects.get(user=world.alice, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    assert len(codes) == 10
    client.post("/accounts/logout/")
    _sign_in(client, world.alice.email)
    assert client.post(TWO_FACTOR, {"code": codes[0]}).status_code == 302
    assert client.get("/t/acme/home/").status_code == 200
    client.post("/accounts/logout/")
    _sign_in(client, world.alice.email)
    again = client.post(TWO_FACTOR, {"code": codes[0]})
    assert again.status_code == 200, "a recovery code works once"
    assert b"Incorrect code" in again.content
    assert len(Authenticator.objects.get(user=world.alice, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()) == 9


def test_turning_the_app_off_asks_for_a_code_and_is_audited(world, client, django_capture_on_commit_callbacks):
    _sign_in(client, world.carl.email)
    totp = _activate_totp(client, django_capture_on_commit_callbacks)
    cache.clear()  # the activation code is marked used; the deactivation below asks for a fresh one
    page = client.get("/accounts/2fa/totp/deactivate/")
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/deactivate/", {})
    assert response.status_code in (200, 302)
    assert not Authenticator.objects.filter(user=world.carl, type=Authenticator.Type.TOTP).exists()
    assert _audit_actions(world.c, world.carl) == ["mfa.added", "mfa.added", "mfa.removed", "mfa.removed"]
    assert totp  # turning it off within minutes of re-entering the password needs no code (allauth asks again later)


def test_a_workspace_that_requires_two_factor_sends_members_without_it_to_set_it_up(world, client, api_client, django_capture_on_commit_callbacks):
    world.a.require_two_factor = True
    world.a.save(update_fields=["require_two_factor"])
    _sign_in(client, world.dana.email)

    page = client.get("/t/acme/home/")
    assert page.status_code == 302
    assert page.url == "/accounts/2fa/?next=/t/acme/home/"
    shown = client.get(page.url)
    assert "Acme Advisory requires two-factor sign-in" in shown.content.decode()
    assert client.get("/t/globex/home/").status_code == 200, "dana's other workspace does not require it"

    api_client.force_authenticate(world.dana)
    refused = api_client.get("/api/v1/t/acme/touchpoints/")
    assert refused.status_code == 403
    assert "requires two-factor sign-in" in refused.json()["error"]["message"]
    _, key = make_api_key(world.a)
    assert api_client.__class__().get("/api/v1/t/acme/touchpoints/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200

    _activate_totp(client, django_capture_on_commit_callbacks)
    back = client.get("/accounts/2fa/?next=/t/acme/home/").content.decode()
    assert '<a class="button" href="/t/acme/home/">Continue to your workspace</a>' in back
    assert "Continue to your workspace" not in client.get("/accounts/2fa/?next=//evil.example/").content.decode()
    assert client.get("/t/acme/home/").status_code == 200, "set up: the workspace opens"
    api_client.force_authenticate(world.dana)
    assert api_client.get("/api/v1/t/acme/touchpoints/").status_code == 200


def test_the_requirement_is_a_workspace_setting_admins_change_and_the_audit_log_shows(world, client, api_client):
    client.force_login(world.alice)
    assert 'name="require_two_factor"' in client.get("/t/acme/settings/").content.decode(), "on the settings page"
    api_client.force_authenticate(world.alice)
    response = api_client.patch("/api/v1/t/acme/settings/", {"require_two_factor": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["require_two_factor"] is True
    world.a.refresh_from_db()
    assert world.a.require_two_factor is True
    with tenant_context(world.a):
        event = AuditEvent.objects.filter(changes__has_key="require_two_factor").get()
    assert event.changes["require_two_factor"] == [False, True]
    # The admin who turned it on without a second factor is sent to set one up, like everybody else.
    assert client.get("/t/acme/home/").url.startswith("/accounts/2fa/")


def test_the_sign_in_page_offers_a_passkey_and_no_sign_up(client, db):
    page = client.get(LOGIN).content.decode()
    assert "Sign in with a passkey" in page
    assert re.search(r'action="/accounts/2fa/webauthn/login/', page)
    assert "sign up" not in page.lower()
    closed = client.get("/accounts/signup/")
    assert closed.status_code == 200
    assert "Sign Up Closed" in closed.content.decode() or "closed" in closed.content.decode().lower()
