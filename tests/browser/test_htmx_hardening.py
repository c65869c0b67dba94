"""htmx hardened (issue 15): in Chromium, an htmx element that reached a page's user text — as if escaping
had failed — does nothing, while the same element placed where our own htmx lives would act.

The page is the admin's "you said, we did" compose page of a case opened by a respondent's web-link
answer (the probe's F1 path). Into the preview of the respondent's comment (a container of user text:
`hx-disable`) the test inserts the probe's element — `hx-post` to the members page, `hx-trigger="load"`,
the CSRF token included — and has htmx process it: no request leaves, no invitation is written. The
control puts the same element into the compose form (ours, htmx on): the browser posts the invitation,
so the first half can fail. Also: the page's htmx config as the browser reads it."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from apps.accounts.models import MembershipInvitation
from apps.feedback.models import Case
from apps.tenancy.context import tenant_context
from apps.tenancy.models import AuditEvent
from tests.browser.conftest import DESKTOP
from tests.html_injection import HX_PAYLOAD, answer_web_link, web_link_survey_with_rule

pytestmark = pytest.mark.services

ATTACKER = "attacker@evil.example"
INJECT = """([selector, html]) => {
  const holder = document.createElement("div");
  holder.innerHTML = html;
  const element = holder.firstElementChild;
  element.id = "injected";
  document.querySelector(selector).appendChild(element);
  htmx.process(element);
}"""


def invitations(tenant) -> int:
    with tenant_context(tenant):
        return (MembershipInvitation.objects.filter(email=ATTACKER).count()
                + AuditEvent.objects.filter(action="member.invited", target_label=ATTACKER).count())


@pytest.fixture
def compose_page(world, browse):
    web_link_survey_with_rule(world.a, world.membership(world.carol, world.a))
    assert answer_web_link(Client(), score=0, comment="The line was busy all day.").status_code == 200
    with tenant_context(world.a):
        case = Case.objects.get()
    page, watch = browse.open(DESKTOP, user=world.alice)
    page.goto(browse.url(f"/t/acme/announcements/new/case/{case.uuid}/"))
    expect(page.locator(".announcement-mail__said")).to_contain_text("The line was busy all day.")
    yield page, watch
    page.context.close()


def posts_to_members(watch) -> list[str]:
    return [url for url in watch.requests if url.endswith("/t/acme/settings/members/")]


def test_it_reads_the_hardened_htmx_config(world, compose_page):
    page, _ = compose_page
    config = page.evaluate("() => [htmx.version, htmx.config.allowEval, htmx.config.allowScriptTags, htmx.config.selfRequestsOnly,"
                           " htmx.config.historyCacheSize, htmx.config.allowNestedOobSwaps]")
    assert config[0].startswith("2.")
    assert config[1:] == [False, False, True, 0, False]


def test_an_injected_hx_post_in_user_text_does_not_fire_but_would_elsewhere(world, compose_page):
    page, watch = compose_page
    page.evaluate(INJECT, [".announcement-mail__said", HX_PAYLOAD])
    expect(page.locator("#injected")).to_have_text("Bad service")
    page.wait_for_timeout(2000)  # a "load" trigger fires at once; give a request every chance to leave
    assert posts_to_members(watch) == []
    assert invitations(world.a) == 0

    # Control: the same element where our own htmx lives (the compose form) is posted by the browser.
    page.evaluate("() => document.getElementById('injected').remove()")
    with page.expect_response(lambda response: response.url.endswith("/t/acme/settings/members/")) as answered:
        page.evaluate(INJECT, [".announcement-form", HX_PAYLOAD])
    assert answered.value.request.method == "POST"
    # The redirect's members page is swapped where the form's hx-target points: wait for it (no request in flight at teardown).
    expect(page.locator("#announcement-preview")).to_have_count(0, timeout=10_000)
    assert posts_to_members(watch) != []
    assert invitations(world.a) == 2  # the invitation and its audit row
