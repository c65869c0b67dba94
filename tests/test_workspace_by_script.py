"""A workspace set up without a browser, and a survey's ways in besides e-mail (issue 20 item 7): `create_tenant
--api-key`, the settings API, the public web link with its embed snippet and QR code on the send page, in the survey
API and as a download, and the kiosk address's QR code."""

from __future__ import annotations

import io
import re
import secrets
from io import StringIO

import pytest
import segno
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.surveys.models import Survey
from apps.tenancy.context import tenant_context
from apps.tenancy.models import ApiKey, AuditEvent, Role, Tenant
from tests.builders import bilingual_live_survey
from tests.conftest import make_api_key

pytestmark = pytest.mark.django_db


def bearer(raw_key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}


def test_a_script_creates_a_workspace_with_an_admin_key_and_configures_it(db):
    out = StringIO()
    call_command("create_tenant", name="Umbrella Care", slug="umbrella", api_key="Provisioning", stdout=out)
    raw_key = re.search(r"(cxm_\S+)", out.getvalue()).group(1)
    tenant = Tenant.objects.get(slug="umbrella")
    with tenant_context(tenant):
        assert ApiKey.objects.get().role == Role.ADMIN
    api = APIClient()
    got = api.get("/api/v1/t/umbrella/settings/", **bearer(raw_key))
    assert got.status_code == 200
    assert got.json()["time_zone"] == "UTC"
    changed = api.patch("/api/v1/t/umbrella/settings/", {"time_zone": "Europe/Brussels", "survey_fatigue_days": 10,
                                                        "sender_name": "Umbrella CX"}, format="json", **bearer(raw_key))
    assert changed.status_code == 200, changed.content
    tenant.refresh_from_db()
    assert (tenant.time_zone, tenant.survey_fatigue_days, tenant.sender_name) == ("Europe/Brussels", 10, "Umbrella CX")
    with tenant_context(tenant):
        assert AuditEvent.objects.filter(action="tenant.updated").count() == 1


def test_create_tenant_needs_a_first_admin_and_stores_nothing_when_refused(db):
    with pytest.raises(CommandError, match="first admin"):
        call_command("create_tenant", name="Nobody", slug="nobody", stdout=StringIO())
    with pytest.raises(CommandError, match="name"):
        call_command("create_tenant", name="Keyed", slug="keyed", api_key="x" * 200, stdout=StringIO())
    assert not Tenant.objects.filter(slug__in=["nobody", "keyed"]).exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"survey_fatigue_days": -3}, "survey_fatigue_days"),
    ({"sender_email": "not an address"}, "sender_email"),
    ({"slug": "stolen"}, "slug"),
    ({"is_active": False}, "is_active"),
])
def test_bad_settings_are_refused_in_words_and_change_nothing(world, payload, field):
    _, raw_key = make_api_key(world.a)
    before = Tenant.objects.get(pk=world.a.pk)
    answer = APIClient().patch(f"/api/v1/t/{world.a.slug}/settings/", payload, format="json", **bearer(raw_key))
    assert answer.status_code == 400
    assert field in answer.content.decode()
    after = Tenant.objects.get(pk=world.a.pk)
    assert (after.slug, after.time_zone, after.survey_fatigue_days, after.sender_email, after.is_active) == (
        before.slug, before.time_zone, before.survey_fatigue_days, before.sender_email, before.is_active)


def test_only_admins_read_or_change_the_settings(world):
    for role in (Role.CX_LEAD, Role.STAFF, Role.VIEWER):
        _, raw_key = make_api_key(world.a, role=role, name=f"{role} key")
        assert APIClient().get(f"/api/v1/t/{world.a.slug}/settings/", **bearer(raw_key)).status_code == 403
    _, other_key = make_api_key(world.b)
    assert APIClient().get(f"/api/v1/t/{world.a.slug}/settings/", **bearer(other_key)).status_code in (401, 403, 404)


def web_survey(tenant) -> Survey:
    survey, _ = bilingual_live_survey(tenant)
    with tenant_context(tenant):
        Survey.objects.filter(pk=survey.pk).update(web_link_enabled=True, web_token=secrets.token_urlsafe(16))  # as survey_create
        return Survey.objects.get(pk=survey.pk)


def test_the_send_page_shows_the_web_link_its_qr_code_and_the_embed_snippet(world, client):
    survey = web_survey(world.a)
    client.force_login(world.alice)
    page = client.get(f"/t/{world.a.slug}/surveys/{survey.uuid}/send/").content.decode()
    url = f"http://127.0.0.1:8000/w/{survey.web_token}/"
    assert f'value="{url}"' in page
    assert 'role="img" aria-label="QR code of the web link above"><svg' in page
    assert "&lt;iframe src=&quot;" + url + "?embed=1&quot;" in page  # the snippet, escaped in its textarea
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).status_code == 200  # the link answers
    download = client.get(f"/t/{world.a.slug}/surveys/{survey.uuid}/web-link-qr.svg")
    assert download["Content-Type"] == "image/svg+xml"
    assert download["Content-Disposition"].startswith("attachment")
    assert download.content.startswith(b"<?xml")
    assert download.content == _expected_qr_file(url)


def _expected_qr_file(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=4, dark="#000", light="#fff", xmldecl=True)
    return out.getvalue()


def test_with_the_web_link_off_the_page_says_where_to_turn_it_on_and_the_qr_is_gone(world, client):
    survey, _ = bilingual_live_survey(world.a)
    with tenant_context(world.a):
        assert not Survey.objects.get(pk=survey.pk).web_link_enabled
    client.force_login(world.alice)
    page = client.get(f"/t/{world.a.slug}/surveys/{survey.uuid}/send/").content.decode()
    assert "public web link is off" in page
    assert f"/w/{survey.web_token}/" not in page
    assert client.get(f"/t/{world.a.slug}/surveys/{survey.uuid}/web-link-qr.svg").status_code == 404


def test_the_survey_api_returns_the_web_link_with_its_snippet_and_qr_code(world):
    survey = web_survey(world.a)
    _, raw_key = make_api_key(world.a, role=Role.CX_LEAD)
    body = APIClient().get(f"/api/v1/t/{world.a.slug}/surveys/{survey.uuid}/", **bearer(raw_key)).json()
    url = f"http://127.0.0.1:8000/w/{survey.web_token}/"
    assert body["web_link"]["url"] == url
    assert f'src="{url}?embed=1"' in body["web_link"]["embed_html"]
    assert body["web_link"]["qr_svg"].encode() == _expected_qr_file(url)
    with tenant_context(world.a):
        Survey.objects.filter(pk=survey.pk).update(web_link_enabled=False)
    assert APIClient().get(f"/api/v1/t/{world.a.slug}/surveys/{survey.uuid}/", **bearer(raw_key)).json()["web_link"] is None


def test_a_new_kiosk_shows_its_address_and_qr_code_once(world, client):
    survey, _ = bilingual_live_survey(world.a)
    client.force_login(world.alice)
    page = client.post(f"/t/{world.a.slug}/surveys/{survey.uuid}/kiosks/", {"name": "Front desk"})
    html = page.content.decode()
    address = re.search(r'id="kiosk-url" type="text" readonly value="([^"]+)"', html).group(1)
    assert address.startswith("http://127.0.0.1:8000/k/")
    assert 'aria-label="QR code of this device\'s address"><svg' in html
    assert page["Cache-Control"] == "no-store"


def test_kiosks_over_the_api_address_and_qr_once_then_revoked(world, client):
    survey, _ = bilingual_live_survey(world.a)
    _, raw_key = make_api_key(world.a, role=Role.CX_LEAD)
    api = APIClient()
    base = f"/api/v1/t/{world.a.slug}/surveys/{survey.uuid}/kiosks/"
    made = api.post(base, {"name": "Front desk"}, format="json", **bearer(raw_key))
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["url"].startswith("http://127.0.0.1:8000/k/")
    assert body["qr_svg"].encode() == _expected_qr_file(body["url"])
    assert made["Cache-Control"] == "no-store"
    kiosk_path = body["url"].removeprefix("http://127.0.0.1:8000")
    assert client.get(kiosk_path).status_code == 200  # the address works on the device
    listed = api.get(base, **bearer(raw_key)).json()
    assert [row["name"] for row in listed["results"]] == ["Front desk"]
    assert "url" not in listed["results"][0]  # the key is never shown again
    revoked = api.post(f"{base}{body['id']}/revoke/", **bearer(raw_key))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"]
    assert client.get(kiosk_path).status_code == 404
    assert api.post(f"{base}{body['id']}/revoke/", **bearer(raw_key)).status_code == 400  # already revoked, said in words


def test_kiosk_api_refuses_bad_input_other_roles_and_other_workspaces(world):
    survey, _ = bilingual_live_survey(world.a)
    _, lead = make_api_key(world.a, role=Role.CX_LEAD)
    _, staff = make_api_key(world.a, role=Role.STAFF, name="staff key")
    _, other = make_api_key(world.b, role=Role.ADMIN, name="other key")
    api = APIClient()
    base = f"/api/v1/t/{world.a.slug}/surveys/{survey.uuid}/kiosks/"
    assert api.post(base, {"name": ""}, format="json", **bearer(lead)).status_code == 400
    assert api.post(base, {"name": "x" * 81}, format="json", **bearer(lead)).status_code == 400
    assert api.post(base, {"name": "Desk"}, format="json", **bearer(staff)).status_code == 403
    assert api.get(base, **bearer(other)).status_code in (401, 403, 404)
    other_survey, _ = bilingual_live_survey(world.b)
    assert api.get(f"/api/v1/t/{world.a.slug}/surveys/{other_survey.uuid}/kiosks/", **bearer(lead)).status_code == 404
    with tenant_context(world.a):
        assert not survey.kiosks.exists()
