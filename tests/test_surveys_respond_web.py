"""The public web link /w/<web_token>/ and its embeddable mode (issue 5 item 12): anonymous answers,
rate-limited per IP, a honeypot and a too-fast submit flag bots (stored apart, never counted), a
signed form stamp makes a double submit land once."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.core.cache import cache

from apps.surveys.i18n import UI_TEXT
from apps.surveys.models import Response, Survey
from apps.surveys.respond.forms import STAMP_SALT, stamp_make
from apps.surveys.respond.selectors import responses_counted
from apps.surveys.respond.views import reset_rate_limit
from apps.tenancy.context import tenant_context
from tests.builders import bilingual_live_survey, count_responses

pytestmark = pytest.mark.postgres

WEB_TOKEN = "webTOKENacme1234"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the test settings' cache is this process's own memory
    yield
    cache.clear()


def web_survey(tenant, token=WEB_TOKEN, **kwargs):
    survey, version = bilingual_live_survey(tenant, web_token=token, web_link_enabled=True, **kwargs)
    return survey, version


def aged_stamp(seconds=10):
    return stamp_make(now=time.time() - seconds)


def stamp_on(page) -> str:
    return re.search(r'name="stamp" value="([^"]+)"', page.content.decode()).group(1)


def test_it_renders_the_form_with_a_stamp_and_a_hidden_honeypot(world, client):
    web_survey(world.a)
    page = client.get(f"/w/{WEB_TOKEN}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="website"' in html
    assert 'class="hp"' in html
    assert signing.loads(stamp_on(page), salt=STAMP_SALT)["k"]
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_an_anonymous_answer_is_stored_once_per_rendered_form(world, client):
    web_survey(world.a)
    stamp = aged_stamp()
    for _ in range(3):  # double click, back button, retry: one stamp, one response
        page = client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "8", "stamp": stamp})
        assert page.status_code == 200
    assert UI_TEXT["en"]["already_recorded_title"] in page.content.decode()
    with tenant_context(world.a):
        response = Response.objects.get()
        assert (response.channel, response.nps, response.is_bot, response.invitation_id) == ("web", 8, False, None)
    client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "6", "stamp": aged_stamp()})  # a second visit is a second response
    assert count_responses(world.a) == 2


def test_the_honeypot_and_a_too_fast_submit_flag_a_bot(world, client):
    web_survey(world.a)
    assert client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "10", "stamp": aged_stamp(), "website": "http://spam.example"}).status_code == 200
    assert client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "0", "stamp": stamp_make()}).status_code == 200  # rendered just now
    assert client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "7", "stamp": aged_stamp()}).status_code == 200
    with tenant_context(world.a):
        assert sorted(Response.objects.filter(is_bot=True).values_list("bot_reason", flat=True)) == ["honeypot", "submitted too fast"]
        assert list(responses_counted().values_list("nps", flat=True)) == [7]


def test_a_missing_or_forged_stamp_is_refused(world, client):
    web_survey(world.a)
    for stamp in ("", "forged", signing.dumps({"k": "x", "t": 0}, salt="another")):
        page = client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "8", "stamp": stamp})
        assert page.status_code == 400
        assert UI_TEXT["en"]["form_stale"] in page.content.decode()
        assert signing.loads(stamp_on(page), salt=STAMP_SALT)  # a fresh stamp to try again with
    assert count_responses(world.a) == 0


def test_posts_are_rate_limited_per_ip(world, client, settings):
    settings.SURVEY_WEB_SUBMITS_PER_MINUTE = 3
    web_survey(world.a)
    statuses = [client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "5", "stamp": aged_stamp()}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    page = client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "5", "stamp": aged_stamp()})
    assert UI_TEXT["en"]["rate_limited_title"] in page.content.decode()
    assert 0 < int(page["Retry-After"]) <= 60
    assert count_responses(world.a) == 3
    # Another address is not affected; GETs are never counted.
    assert client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "5", "stamp": aged_stamp()}, REMOTE_ADDR="10.0.0.9").status_code == 200
    assert client.get(f"/w/{WEB_TOKEN}/").status_code == 200
    reset_rate_limit("web", "127.0.0.1")
    assert client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "5", "stamp": aged_stamp()}).status_code == 200


def test_the_embed_mode_may_be_framed_and_is_stored_as_embed(world, client):
    web_survey(world.a)
    page = client.get(f"/w/{WEB_TOKEN}/?embed=1")
    html = page.content.decode()
    assert page.status_code == 200
    assert "respond--embed" in html
    assert 'class="top"' not in html
    assert 'name="embed" value="1"' in html
    assert 'action="/w/webTOKENacme1234/?embed=1"' in html
    assert "X-Frame-Options" not in page
    assert "frame-ancestors *" in page["Content-Security-Policy"]
    done = client.post(f"/w/{WEB_TOKEN}/?embed=1", {"q_nps": "9", "stamp": aged_stamp(), "embed": "1"})
    assert done.status_code == 200
    assert "X-Frame-Options" not in done
    with tenant_context(world.a):
        assert Response.objects.get().channel == "embed"


def test_disabled_unknown_and_closed_web_links(world, client):
    survey, _ = web_survey(world.a)
    web_survey(world.b, token="webTOKENglobex12")
    assert client.get("/w/nope-nope-nope/").status_code == 404
    assert client.get("/w/bad$token/").status_code == 404
    assert client.get("/w/webTOKENglobex12/").status_code == 200  # B's link answers into B only
    client.post("/w/webTOKENglobex12/", {"q_nps": "3", "stamp": aged_stamp()})
    assert count_responses(world.b) == 1
    assert count_responses(world.a) == 0
    with tenant_context(world.a):
        Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.PAUSED)
    assert client.get(f"/w/{WEB_TOKEN}/").status_code == 410
    with tenant_context(world.a):
        Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.LIVE, web_link_enabled=False)
    assert client.get(f"/w/{WEB_TOKEN}/").status_code == 404
    assert client.post(f"/w/{WEB_TOKEN}/", {"q_nps": "3", "stamp": aged_stamp()}).status_code == 404
    assert count_responses(world.a) == 0
