"""Single sign-on with OpenID Connect (issue 21 item 2) against a real provider: django-oauth-toolkit with its OIDC
support, started by these tests on loopback in its own process (tests/oidc_provider/). The person's trip through the
provider's sign-in page is made with `requests`, as a browser would (cookies, CSRF, redirects); the product's side
through the Django test client. tests/browser/test_sso.py makes the same trip in Chromium."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.exceptions import ValidationError

from apps.accounts.models import SsoConnection, User
from apps.accounts.sso import oidc
from apps.accounts.sso.services import sso_connection_save
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent, Membership, Role
from tests.factories import PASSWORD
from tests.oidc_provider.server import IDP_PASSWORD

pytestmark = pytest.mark.postgres

CALLBACK = "http://testserver/accounts/sso/callback/"
SECRET = "acme-client-secret-123"


@pytest.fixture(scope="module")
def idp(oidc_provider):
    oidc_provider.add_client(client_id="cxm-acme", secret=SECRET, redirect_uris=[CALLBACK])
    oidc_provider.add_client(client_id="another-app", secret="another-secret", redirect_uris=["http://127.0.0.1:9/cb/"])
    return oidc_provider


def _configure(world, idp, **overrides) -> SsoConnection:
    data = {"issuer": idp.issuer, "client_id": "cxm-acme", "email_domain": "example.com", "default_role": Role.STAFF,
            "require_sso": False, "is_enabled": True, **overrides}
    with tenant_context(world.a):
        return sso_connection_save(tenant=world.a, acting_user=world.alice, data=data, client_secret=SECRET, proven=True)


def _provider_signs_in(authorize_url: str, username: str) -> str:
    """The person at the provider: its sign-in page, their password, back to us. Returns our callback's URL."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    login_url = requests.compat.urljoin(authorize_url, response.headers["Location"])
    page = browser.get(login_url, timeout=10)
    token = browser.cookies["idp_csrftoken"]
    nxt = parse_qs(urlsplit(login_url).query)["next"][0]
    response = browser.post(login_url, data={"username": username, "password": IDP_PASSWORD, "csrfmiddlewaretoken": token, "next": nxt},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, page.text[:300]
    response = browser.get(requests.compat.urljoin(login_url, response.headers["Location"]), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    return response.headers["Location"]


def _forwarded_to(response) -> str:
    """The provider URL the start page forwards the browser to (its meta refresh and its link agree)."""
    assert response.status_code == 200, response.content.decode()[:500]
    html = response.content.decode()
    refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', html).group(1)
    assert f'href="{refresh}"' in html
    return refresh.replace("&amp;", "&")


def _sso(client, email, username=None, *, tamper=None):
    callback = _provider_signs_in(_forwarded_to(client.post("/accounts/sso/", {"email": email})), username or email.split("@")[0])
    assert callback.startswith(CALLBACK)
    if tamper:
        callback = tamper(callback)
    return client.get(callback.removeprefix("http://testserver"))


def test_a_new_person_of_the_domain_joins_with_the_default_role_and_a_member_is_matched(world, client, idp):
    _configure(world, idp, default_role=Role.VIEWER)
    response = _sso(client, "nina@example.com")
    assert response.status_code == 302
    assert response.url == "/t/acme/", "signed in, into the workspace whose sign-on it was"
    nina = User.objects.get(email="nina@example.com")
    assert nina.full_name == "Nina Example"
    assert not nina.has_usable_password(), "joined through the provider: no password of ours"
    with tenant_context(world.a):
        assert Membership.objects.get(user=nina).role == Role.VIEWER
        assert AuditEvent.objects.filter(action="member.joined_by_sso", target_label="nina@example.com").count() == 1
    assert client.get("/t/acme/", follow=True).status_code == 200

    carol = client.__class__()
    assert _sso(carol, "carol@example.com").status_code == 302
    with tenant_context(world.a):
        assert Membership.objects.get(user=world.carol).role == Role.CX_LEAD, "an existing member keeps their role"
        assert AuditEvent.objects.filter(action="member.joined_by_sso", target_label="carol@example.com").count() == 0
        assert AuditEvent.objects.filter(action="login.sso", target_label="carol@example.com").count() == 1
    assert User.objects.filter(email="carol@example.com").count() == 1


def test_a_bad_state_or_nonce_or_an_ended_membership_is_refused_and_nobody_is_signed_in(world, client, idp):
    _configure(world, idp)
    bad_state = _sso(client, "carol@example.com", tamper=lambda url: re.sub(r"state=[^&]+", "state=forged", url))
    assert bad_state.status_code == 400
    assert "not started in this browser" in bad_state.content.decode()
    assert "_auth_user_id" not in client.session

    def wrong_nonce(url):
        session = client.session
        for pending in session["sso_pending"].values():
            pending["nonce"] = "not-the-nonce-we-sent"
        session.save()
        return url

    replayed = _sso(client, "carol@example.com", tamper=wrong_nonce)
    assert replayed.status_code == 400
    assert "nonce" in replayed.content.decode()
    assert "_auth_user_id" not in client.session

    # The same callback twice (a replay of the provider's answer) finds no attempt the second time.
    callback = _provider_signs_in(_forwarded_to(client.post("/accounts/sso/", {"email": "carol@example.com"})), "carol")
    callback = callback.removeprefix("http://testserver")
    assert client.get(callback).status_code == 302
    client.post("/accounts/logout/")
    assert client.get(callback).status_code == 400

    with tenant_context(world.a):
        Membership.objects.filter(user=world.victor).update(is_active=False)
    ended = _sso(client.__class__(), "victor@example.com")
    assert ended.status_code == 400
    assert "was ended by its admins" in ended.content.decode()


def test_an_id_token_for_another_audience_is_refused(world, idp):
    """A real token the provider issued to another application, checked as this workspace's would be."""
    import base64
    import hashlib
    import secrets

    document = oidc.discovery(idp.issuer, fresh=True)
    browser = requests.Session()
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": "another-app", "redirect_uri": "http://127.0.0.1:9/cb/", "scope": "openid email",
              "state": "s", "nonce": "n-123", "code_challenge": challenge, "code_challenge_method": "S256"}
    authorize = requests.Request("GET", document["authorization_endpoint"], params=params).prepare().url
    back = _provider_signs_in(authorize, "carol")
    code = parse_qs(urlsplit(back).query)["code"][0]
    tokens = browser.post(document["token_endpoint"], data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                                             "redirect_uri": "http://127.0.0.1:9/cb/"},
                          auth=("another-app", "another-secret"), timeout=10).json()
    check = {"issuer": idp.issuer, "nonce": "n-123", "jwks_uri": document["jwks_uri"]}
    assert oidc.validate_id_token(tokens["id_token"], client_id="another-app", **check)["email"] == "carol@example.com"
    with pytest.raises(oidc.SsoError, match="another application"):
        oidc.validate_id_token(tokens["id_token"], client_id="cxm-acme", **check)
    with pytest.raises(oidc.SsoError, match="nonce"):
        oidc.validate_id_token(tokens["id_token"], client_id="another-app", **{**check, "nonce": "other"})
    with pytest.raises(oidc.SsoError, match="another provider"):
        oidc.validate_id_token(tokens["id_token"], client_id="another-app", **{**check, "issuer": "http://127.0.0.1:1/o"})
    forged = tokens["id_token"].rsplit(".", 1)[0] + "." + base64.urlsafe_b64encode(b"x" * 256).rstrip(b"=").decode()
    with pytest.raises(oidc.SsoError, match="signature"):
        oidc.validate_id_token(forged, client_id="another-app", **check)


def test_a_domain_signs_in_to_one_workspace_and_bad_settings_are_refused_before_anything_is_saved(world, idp):
    _configure(world, idp)
    with tenant_context(world.b), pytest.raises(ValidationError) as refused:
        sso_connection_save(tenant=world.b, acting_user=world.charlie, client_secret="x", proven=False,
                            data={"issuer": idp.issuer, "client_id": "c", "email_domain": "EXAMPLE.com", "default_role": Role.STAFF})
    assert "Another workspace already signs in @example.com" in str(refused.value)
    with tenant_context(world.b), pytest.raises(ValidationError) as unreachable:
        sso_connection_save(tenant=world.b, acting_user=world.charlie, client_secret="x", proven=False,
                            data={"issuer": "http://127.0.0.1:9/nothing", "client_id": "c", "email_domain": "globex.example"})
    assert "could not be reached" in str(unreachable.value)
    with tenant_context(world.b), pytest.raises(ValidationError) as bad_domain:
        sso_connection_save(tenant=world.b, acting_user=world.charlie, client_secret="x", proven=False,
                            data={"issuer": idp.issuer, "client_id": "c", "email_domain": "not a domain"})
    assert "Enter a domain" in str(bad_domain.value)
    with tenant_context(world.b):
        assert not SsoConnection.objects.exists()


def test_the_secret_is_kept_encrypted_and_revealing_it_is_audited(world, client, idp):
    row = _configure(world, idp)
    assert SECRET not in row.client_secret_encrypted
    client.force_login(world.alice)
    page = client.get("/t/acme/settings/sso/").content.decode()
    assert SECRET not in page
    assert "Reveal the secret" in page
    shown = client.post("/t/acme/settings/sso/reveal/")
    assert SECRET in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    with tenant_context(world.a):
        assert AuditEvent.objects.filter(action="sso.secret_revealed").count() == 1
        configured = AuditEvent.objects.get(action="sso.configured")
    assert configured.changes["client_secret"] == [None, "set"]
    assert SECRET not in str(configured.changes)
    client.force_login(world.carol)
    assert client.post("/t/acme/settings/sso/reveal/").status_code == 403, "admins only"


def test_requiring_sso_takes_an_admin_who_came_through_it(world, client, idp):
    _configure(world, idp)
    client.force_login(world.alice)
    form = {"issuer": idp.issuer, "client_id": "cxm-acme", "email_domain": "example.com", "default_role": Role.STAFF,
            "require_sso": "on", "is_enabled": "on"}
    refused = client.post("/t/acme/settings/sso/", form)
    assert refused.status_code == 400
    assert "Sign in through single sign-on yourself first" in refused.content.decode()
    world.a.refresh_from_db()
    assert not world.a.require_sso, "nothing saved"
    assert _sso(client, "carol@example.com").status_code == 302  # carol is no admin: her settings page is a 403
    assert client.post("/t/acme/settings/sso/", form).status_code == 403
    with tenant_context(world.a):
        Membership.objects.filter(user=world.carol).update(role=Role.ADMIN)
    saved = client.post("/t/acme/settings/sso/", form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    world.a.refresh_from_db()
    assert world.a.require_sso


def test_a_workspace_that_requires_sso_refuses_passwords_and_sends_sessions_through_it(world, client, idp):
    _configure(world, idp, require_sso=True)
    world.a.refresh_from_db()
    assert world.a.require_sso
    refused = client.post("/accounts/login/", {"login": "carol@example.com", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Acme Advisory signs you in through single sign-on" in refused.content.decode()
    assert "_auth_user_id" not in client.session

    client.force_login(world.carol)  # a session from before the requirement, or a passkey's
    sent = client.get("/t/acme/home/")
    assert sent.status_code == 302
    assert sent.url.startswith("/accounts/sso/?email=carol%40example.com&next=")
    assert _sso(client, "carol@example.com").status_code == 302
    assert client.get("/t/acme/home/").status_code == 200


def test_the_api_sets_reads_reveals_and_removes_the_sign_on(world, api_client, idp):
    from tests.conftest import make_api_key

    _, key = make_api_key(world.a)
    body = {"issuer": idp.issuer, "client_id": "cxm-acme", "client_secret": SECRET, "email_domain": "example.com",
            "default_role": "viewer", "require_sso": True}
    api_client.force_authenticate(world.alice)
    refused = api_client.put("/api/v1/t/acme/sso/", body, format="json")
    assert refused.status_code == 400, "a session that did not come through it may not require it"
    assert "require_sso" in refused.json()["error"]["fields"]
    api_client.force_authenticate(None)
    created = api_client.put("/api/v1/t/acme/sso/", body, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert created.status_code == 201, created.content
    assert created.json()["client_secret_set"] is True
    assert "client_secret" not in created.json()
    read = api_client.get("/api/v1/t/acme/sso/", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert (read["email_domain"], read["default_role"], read["require_sso"]) == ("example.com", "viewer", True)
    changed = api_client.put("/api/v1/t/acme/sso/", {"default_role": "staff"}, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert changed.status_code == 200
    assert changed.json()["default_role"] == "staff"
    revealed = api_client.post("/api/v1/t/acme/sso/reveal-secret/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert revealed.json() == {"client_secret": SECRET}
    with tenant_context(world.a):
        assert list(AuditEvent.objects.filter(action__startswith="sso.").order_by("id").values_list("action", flat=True)) == [
            "sso.configured", "sso.changed", "sso.secret_revealed"]
    assert api_client.delete("/api/v1/t/acme/sso/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 204
    assert api_client.get("/api/v1/t/acme/sso/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 404
    world.a.refresh_from_db()
    assert not world.a.require_sso
    _, viewer_key = make_api_key(world.a, role=Role.VIEWER, name="viewer")
    assert api_client.get("/api/v1/t/acme/sso/", HTTP_AUTHORIZATION=f"Bearer {viewer_key}").status_code == 403


def test_secrets_survive_a_key_rotation_and_a_lost_key_is_said_plainly(world, client, idp, settings):
    from cryptography.fernet import Fernet

    from apps.core.crypto import decrypt, encrypt

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = encrypt("s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # the new key encrypts, the old one still decrypts
    assert decrypt(token) == "s3cret"
    assert decrypt(encrypt("again")) == "again"

    _configure(world, idp)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the key the secret was stored with is gone
    client.force_login(world.alice)
    page = client.post("/t/acme/settings/sso/reveal/", follow=True).content.decode()
    assert "cannot be read with this deployment&#x27;s keys: enter it again" in page
    refused = _sso(client.__class__(), "carol@example.com")
    assert refused.status_code == 400
    assert "an admin must enter it again" in refused.content.decode()
