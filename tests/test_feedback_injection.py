"""Issue 15, F1: respondent text never reaches a "you said, we did" page as HTML.

The probe: an anonymous respondent answers the web link with a comment holding an htmx element
(`hx-post` to the members page, `hx-trigger="load"`, the CSRF token included); an alert rule opens a
case; the admin opens the case's compose page, whose e-mail preview printed the text e-mail — a
SafeString rendered under `{% autoescape off %}` — as live HTML, so their browser invited the
attacker. Here the same journey over HTTP: every page and fragment that previews the e-mail shows the
comment escaped, and holds no element carrying an htmx attribute other than our own form's."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.feedback.models import ActionPlanCase, Announcement, Case
from apps.tenancy.context import tenant_context
from tests import factories as fx
from tests.html_injection import HX_PAYLOAD, HX_PAYLOAD_ESCAPED, answer_web_link, live_element_with, web_link_survey_with_rule

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hostile_case(world, client, django_capture_on_commit_callbacks):
    """The case the alert rule opened from the respondent's hostile comment (answered over HTTP)."""
    web_link_survey_with_rule(world.a, world.membership(world.carol, world.a))
    with django_capture_on_commit_callbacks(execute=True):
        answered = answer_web_link(client, score=0, comment=HX_PAYLOAD)
    assert answered.status_code == 200
    with tenant_context(world.a):
        case = Case.objects.select_related("response").get()
    assert case.response.comment == HX_PAYLOAD
    return case


def foreign_htmx(html: str, own_path: str) -> list:
    """Elements carrying an htmx request attribute that is not our own form's (which posts to `own_path`)."""
    found = []
    for attribute in ("hx-post", "hx-get", "hx-put", "hx-patch", "hx-delete", "hx-trigger", "hx-vals", "hx-include"):
        found += [(tag, attrs) for tag, attrs in live_element_with(html, attribute) if attrs.get("hx-post") != own_path]
    return found


def assert_escaped(html: str, own_path: str) -> None:
    assert foreign_htmx(html, own_path) == []
    assert HX_PAYLOAD not in html
    assert HX_PAYLOAD_ESCAPED in html


def test_it_shows_a_respondents_hostile_comment_escaped_on_the_compose_page(world, client, hostile_case):
    client.force_login(world.alice)
    path = f"/t/acme/announcements/new/case/{hostile_case.uuid}/"
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert_escaped(html, path)
    assert 'class="announcement-preview__text"><summary>Plain-text version</summary><pre>Hello,' in html
    assert html.count(HX_PAYLOAD_ESCAPED) == 3  # the form's textarea, the preview and its plain-text version


def test_it_shows_a_hostile_text_escaped_in_the_live_preview_fragment(world, client, hostile_case):
    client.force_login(world.carol)
    path = f"/t/acme/announcements/new/case/{hostile_case.uuid}/"
    fragment = client.post(path, {"action": "preview", "subject": "Hi", "you_said": HX_PAYLOAD, "we_did": HX_PAYLOAD},
                           headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert_escaped(html, path)
    assert live_element_with(html, "hx-post") == []


def test_it_shows_a_hostile_text_escaped_on_a_drafts_page_and_its_preview(world, client, hostile_case):
    client.force_login(world.carol)
    saved = client.post(f"/t/acme/announcements/new/case/{hostile_case.uuid}/",
                        {"action": "save", "subject": HX_PAYLOAD, "you_said": HX_PAYLOAD, "we_did": HX_PAYLOAD})
    assert saved.status_code == 302
    with tenant_context(world.a):
        draft = Announcement.objects.get()
    path = f"/t/acme/announcements/{draft.uuid}/"
    html = client.get(path).content.decode()
    assert_escaped(html, path)
    fragment = client.post(path, {"action": "preview", "subject": "Hi", "you_said": HX_PAYLOAD, "we_did": "Fixed"},
                           headers={"HX-Request": "true"}).content.decode()
    assert_escaped(fragment, path)


def test_it_shows_the_cases_hostile_action_taken_escaped_when_composing_from_a_plan(world, client, hostile_case):
    with tenant_context(world.a):
        Case.objects.filter(pk=hostile_case.pk).update(action_taken=HX_PAYLOAD)
        plan = fx.ActionPlanFactory(tenant=world.a, title="Call back faster")
        ActionPlanCase.objects.create(tenant=world.a, plan=plan, case=hostile_case)
    client.force_login(world.alice)
    path = f"/t/acme/announcements/new/plan/{plan.uuid}/"
    page = client.get(path)
    assert page.status_code == 200
    assert_escaped(page.content.decode(), path)
