"""Kiosk mode (issue 5 item 13): device administration (leads), the public page /k/<key>/ with three
smileys, one-tap answers attributed to the device's touchpoint, revocation, per-device rate limit."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.core.cache import cache

from apps.surveys.i18n import UI_TEXT
from apps.surveys.kiosks.services import kiosk_create
from apps.surveys.models import KioskDevice, Response
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests import factories as f
from tests.builders import bilingual_live_survey, count_responses, reload

pytestmark = pytest.mark.postgres

SMILEY_ONLY = [("smiley", "smiley", True, {})]
SMILEY_AND_REASON = [("smiley", "smiley", True, {}), ("reason", "text", False, {})]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def kiosk(tenant, survey, *, touchpoint=None, name="Front desk"):
    with tenant_context(tenant):
        return kiosk_create(tenant=tenant, acting_user=None, survey=survey, name=name, touchpoint=touchpoint)


def stamp_on(page) -> str:
    return re.search(r'name="stamp" value="([^"]+)"', page.content.decode()).group(1)


# --- admin pages ---------------------------------------------------------------------------------

def test_a_lead_creates_a_device_and_sees_its_key_once(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    with tenant_context(world.a):
        touchpoint = f.TouchpointFactory(tenant=world.a, name="Brussels shop")
    client.force_login(world.carol)
    url = f"/t/acme/surveys/{survey.uuid}/kiosks/"
    assert client.get(url).status_code == 200
    page = client.post(url, {"name": "Brussels front desk", "touchpoint": str(touchpoint.uuid)})
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    raw_key = re.search(r"/k/([A-Za-z0-9_-]+)/", html).group(1)
    with tenant_context(world.a):
        device = KioskDevice.objects.get()
        assert (device.name, device.touchpoint_id, device.survey_id) == ("Brussels front desk", touchpoint.pk, survey.pk)
        assert device.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
        assert len(raw_key) >= 43
        assert AuditEvent.objects.filter(action="kiosk.created").count() == 1
    listing = client.get(url).content.decode()
    assert "Brussels front desk" in listing
    assert raw_key not in listing  # never shown again


def test_invalid_device_form_and_foreign_touchpoint_are_400(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    with tenant_context(world.b):
        foreign = f.TouchpointFactory(tenant=world.b)
    client.force_login(world.alice)
    url = f"/t/acme/surveys/{survey.uuid}/kiosks/"
    assert client.post(url, {"name": ""}).status_code == 400
    assert client.post(url, {"name": "Desk", "touchpoint": str(foreign.uuid)}).status_code == 400
    with tenant_context(world.a):
        assert KioskDevice.objects.count() == 0


def test_staff_may_not_manage_kiosks(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    device, _ = kiosk(world.a, survey)
    client.force_login(world.bob)
    assert client.get(f"/t/acme/surveys/{survey.uuid}/kiosks/").status_code == 403
    assert client.post(f"/t/acme/kiosks/{device.uuid}/revoke/").status_code == 403


def test_revoking_a_device_closes_its_page(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    device, raw_key = kiosk(world.a, survey)
    assert client.get(f"/k/{raw_key}/").status_code == 200
    client.force_login(world.carol)
    assert client.post(f"/t/acme/kiosks/{device.uuid}/revoke/").status_code == 302
    assert reload(device).revoked_at is not None
    client.logout()
    assert client.get(f"/k/{raw_key}/").status_code == 404
    assert client.post(f"/k/{raw_key}/", {"q_smiley": "3"}).status_code == 404
    assert count_responses(world.a) == 0


def test_the_device_list_has_constant_queries(world, client, django_assert_max_num_queries):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    client.force_login(world.alice)
    client.get(f"/t/acme/surveys/{survey.uuid}/kiosks/")  # warm up (session, last tenant)
    counts = []
    for total in (3, 30):
        with tenant_context(world.a):
            for i in range(total - KioskDevice.objects.count()):
                kiosk(world.a, survey, touchpoint=f.TouchpointFactory(tenant=world.a), name=f"Desk {total}-{i}")
        with django_assert_max_num_queries(40) as ctx:
            assert client.get(f"/t/acme/surveys/{survey.uuid}/kiosks/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --- the public kiosk page -----------------------------------------------------------------------

def test_one_tap_stores_a_smiley_response_attributed_to_the_device(world, client):
    with tenant_context(world.a):
        survey_touchpoint, device_touchpoint = f.TouchpointFactory(tenant=world.a), f.TouchpointFactory(tenant=world.a)
    survey, version = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY, touchpoint=survey_touchpoint)
    device, raw_key = kiosk(world.a, survey, touchpoint=device_touchpoint)
    plain, plain_key = kiosk(world.a, survey, name="Back office")
    page = client.get(f"/k/{raw_key}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('type="submit"') == 3
    assert 'class="face face--3"' in html
    assert all(label in html for label in ("Unhappy", "Neutral", "Happy"))
    thanks = client.post(f"/k/{raw_key}/", {"q_smiley": "3", "stamp": stamp_on(page), "lang": "en"})
    text = thanks.content.decode()
    assert thanks.status_code == 200
    assert UI_TEXT["en"]["next_person"] in text
    assert f'href="/k/{raw_key}/?lang=en"' in text
    assert "data-kiosk-reset" in text
    assert "kiosk.js" in text
    client.post(f"/k/{plain_key}/", {"q_smiley": "1", "stamp": stamp_on(client.get(f"/k/{plain_key}/"))})
    with tenant_context(world.a):
        rows = {r.kiosk_id: r for r in Response.objects.all()}
        assert (rows[device.pk].smiley, rows[device.pk].channel, rows[device.pk].touchpoint_id) == (3, "kiosk", device_touchpoint.pk)
        assert (rows[plain.pk].smiley, rows[plain.pk].touchpoint_id, rows[plain.pk].version_id) == (1, survey_touchpoint.pk, version.pk)
    assert reload(device).last_seen_at is not None


def test_a_double_tap_lands_once_and_the_page_resets(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    _, raw_key = kiosk(world.a, survey)
    stamp = stamp_on(client.get(f"/k/{raw_key}/"))
    for _ in range(2):
        assert client.post(f"/k/{raw_key}/", {"q_smiley": "2", "stamp": stamp}).status_code == 200
    assert count_responses(world.a) == 1
    fresh = client.get(f"/k/{raw_key}/")  # the next person gets a new form
    assert stamp_on(fresh) != stamp
    client.post(f"/k/{raw_key}/", {"q_smiley": "2", "stamp": stamp_on(fresh)})
    assert count_responses(world.a) == 2


def test_a_second_question_is_shown_with_a_send_button(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_AND_REASON, languages=("fr", "en"))
    _, raw_key = kiosk(world.a, survey)
    page = client.get(f"/k/{raw_key}/")
    html = page.content.decode()
    assert '<html lang="fr">' in html
    assert "<textarea" in html
    assert "Mécontent" in html
    assert 'type="radio"' in html
    missing = client.post(f"/k/{raw_key}/", {"stamp": stamp_on(page), "q_reason": "vite"})
    assert missing.status_code == 400
    assert "Veuillez répondre à cette question." in missing.content.decode()
    assert client.post(f"/k/{raw_key}/", {"stamp": stamp_on(page), "q_smiley": "1", "q_reason": "trop lent"}).status_code == 200
    with tenant_context(world.a):
        response = Response.objects.get()
        assert (response.smiley, response.comment, response.language) == (1, "trop lent", "fr")


def test_unknown_keys_and_bad_input_store_nothing(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    _, raw_key = kiosk(world.a, survey)
    for key in ("x" * 43, raw_key[:-2], raw_key + "A", "short", "../../etc"):
        assert client.post(f"/k/{key}/", {"q_smiley": "3"}).status_code == 404
    page = client.get(f"/k/{raw_key}/")
    assert client.post(f"/k/{raw_key}/", {"q_smiley": "4", "stamp": stamp_on(page)}).status_code == 400
    assert client.post(f"/k/{raw_key}/", {"q_smiley": "3", "stamp": "forged"}).status_code == 400
    assert count_responses(world.a) == 0


def test_kiosk_posts_are_rate_limited_per_device(world, client, settings):
    settings.SURVEY_KIOSK_SUBMITS_PER_MINUTE = 2
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    _, key_one = kiosk(world.a, survey, name="One")
    _, key_two = kiosk(world.a, survey, name="Two")

    def tap(key):
        return client.post(f"/k/{key}/", {"q_smiley": "3", "stamp": stamp_on(client.get(f"/k/{key}/"))}).status_code

    assert [tap(key_one) for _ in range(3)] == [200, 200, 429]
    assert tap(key_two) == 200  # per device
    assert count_responses(world.a) == 3


def test_a_closed_survey_closes_the_kiosk(world, client):
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    _, raw_key = kiosk(world.a, survey)
    with tenant_context(world.a):
        type(survey).objects.filter(pk=survey.pk).update(status="closed")
    assert client.get(f"/k/{raw_key}/").status_code == 410
    assert count_responses(world.a) == 0


def test_a_key_of_tenant_b_answers_into_b_only(world, client):
    survey_a, _ = bilingual_live_survey(world.a, kind="smiley", questions=SMILEY_ONLY)
    survey_b, _ = bilingual_live_survey(world.b, kind="smiley", questions=SMILEY_ONLY)
    kiosk(world.a, survey_a)
    _, key_b = kiosk(world.b, survey_b)
    client.post(f"/k/{key_b}/", {"q_smiley": "3", "stamp": stamp_on(client.get(f"/k/{key_b}/"))})
    assert (count_responses(world.a), count_responses(world.b)) == (0, 1)
