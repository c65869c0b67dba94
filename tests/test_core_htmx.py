"""htmx hardened (issue 15): loaded in one place with a safe config, and on a page only our own htmx
attributes are live — every text a user or respondent wrote sits inside an `hx-disable` element.

- `core/partials/_htmx.html` is the only template that loads htmx, and its config turns off eval,
  script tags from swaps, requests to other origins, nested out-of-band swaps and the history cache —
  each a key the vendored htmx reads (checked in its source);
- pages without htmx of ours have `hx-disable` on <main>;
- on the pages with htmx (a dashboard, the "you said, we did" compose page), parsed: every text node
  holding respondent or user text is inside an hx-disable element (RCDATA — <title>, <textarea> — cannot
  hold elements and is exempt), and none of our own htmx elements is (they must keep working).
The browser side (an injected hx-post does not fire): tests/browser/test_htmx_hardening.py."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import django_htmx
import pytest
from django.core.cache import cache

from apps.clients.models import Client as ClientModel
from apps.feedback.models import Case
from apps.tenancy.context import tenant_context
from tests import factories as fx
from tests.html_injection import answer_web_link, web_link_survey_with_rule

ROOT = Path(__file__).resolve().parent.parent
HTMX_INCLUDE = ROOT / "templates" / "core" / "partials" / "_htmx.html"
HTMX_SOURCE = Path(django_htmx.__file__).parent / "static" / "django_htmx" / "htmx-2.js"
MARK = "Zorblax"  # in every user-written text of the pages below
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
RCDATA = {"title", "textarea", "script", "style"}
HX_REQUESTS = ("hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete")

pytestmark = pytest.mark.postgres


class _Tree(HTMLParser):
    """Where the marked texts and the htmx request elements are: each with whether an ancestor (or the
    element itself) carries hx-disable."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[tuple[str, bool, str]] = []  # (text, disabled, innermost tag)
        self.requests: list[tuple[str, bool]] = []  # (hx-* value, disabled)

    def _disabled(self) -> bool:
        return any(disabled for _, disabled in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        disabled = "hx-disable" in attrs or "data-hx-disable" in attrs
        for name in HX_REQUESTS:
            if name in attrs:
                self.requests.append((attrs[name], disabled or self._disabled()))
        if tag not in VOID:
            self.stack.append((tag, disabled))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if MARK in data:
            self.texts.append((data.strip()[:80], self._disabled(), self.stack[-1][0] if self.stack else ""))


def tree(html: str) -> _Tree:
    parsed = _Tree()
    parsed.feed(html)
    return parsed


def test_htmx_is_loaded_only_by_the_hardened_include():
    loaders = [str(path.relative_to(ROOT)) for path in (ROOT / "templates").rglob("*.html")
               if re.search(r"django_htmx/|htmx(-2)?(\.min)?\.js", path.read_text())]
    assert loaders == ["templates/core/partials/_htmx.html"]


def test_the_htmx_config_turns_off_what_an_injection_could_use():
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', HTMX_INCLUDE.read_text())
    config = json.loads(meta.group(1))
    assert {key: config[key] for key in ("allowEval", "allowScriptTags", "selfRequestsOnly", "allowNestedOobSwaps",
                                         "historyCacheSize")} == {
        "allowEval": False, "allowScriptTags": False, "selfRequestsOnly": True, "allowNestedOobSwaps": False, "historyCacheSize": 0}


def test_the_vendored_htmx_reads_every_key_of_the_config():
    source = HTMX_SOURCE.read_text()
    assert re.search(r"version: '2\.\d+\.\d+'", source)
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', HTMX_INCLUDE.read_text())
    unread = [key for key in json.loads(meta.group(1)) if f"htmx.config.{key}" not in source]
    assert unread == []


@pytest.fixture
def hostile_world(world, django_capture_on_commit_callbacks):
    """A respondent's comment, a contact, a client, a survey, a touchpoint, a segment, a journey and its
stage, and the workspace itself, whose texts carry MARK,
    and the case an alert rule opened from the answer."""
    cache.clear()
    survey = web_link_survey_with_rule(world.a, world.membership(world.carol, world.a))
    with tenant_context(world.a):
        survey.name = f"{MARK} survey"
        survey.save(update_fields=["name"])
        fx.TouchpointFactory(tenant=world.a, name=f"{MARK} desk")
        fx.SegmentFactory(tenant=world.a, name=f"{MARK} segment")
        journey = fx.JourneyFactory(tenant=world.a, name=f"{MARK} journey", status="active")
        fx.StageFactory(journey=journey, order=1, name=f"{MARK} stage")
        type(world.a).objects.filter(pk=world.a.pk).update(name=f"{MARK} Advisory")
    with django_capture_on_commit_callbacks(execute=True):
        assert answer_web_link(world.client_for_marks, score=0, comment=f"{MARK} said it was slow").status_code == 200
    with tenant_context(world.a):
        case = Case.objects.get()
        client = fx.ClientFactory(tenant=world.a, name=f"{MARK} Ltd")
        contact = fx.ContactFactory(client=client, name=f"{MARK} Contact", email="mark@x.example")
        Case.objects.filter(pk=case.pk).update(contact=contact, client=client, title=f"{MARK} case")
    cache.clear()
    return case


@pytest.fixture
def marked(world, client):
    world.client_for_marks = client
    return world


def assert_only_our_htmx_is_live(html: str, *, expect_requests: bool) -> None:
    parsed = tree(html)
    assert parsed.texts, "the page shows none of the marked texts: the test would prove nothing"
    assert [(text, tag) for text, disabled, tag in parsed.texts if not disabled and tag not in RCDATA] == []
    assert [value for value, disabled in parsed.requests if disabled] == []
    assert bool(parsed.requests) is expect_requests


def test_on_the_compose_page_user_text_is_inside_hx_disable_and_our_form_is_not(marked, client, hostile_world):
    client.force_login(marked.alice)
    page = client.get(f"/t/acme/announcements/new/case/{hostile_world.uuid}/")
    assert page.status_code == 200
    assert_only_our_htmx_is_live(page.content.decode(), expect_requests=True)


@pytest.mark.parametrize("path", ["", "journeys/", "churn/", "perception-gap/", "recovery/", "executive/", "health/"])
def test_on_the_dashboards_user_text_is_inside_hx_disable_and_our_htmx_is_not(path, marked, client, hostile_world):
    client.force_login(marked.alice)
    page = client.get(f"/t/acme/dashboards/{path}")
    assert page.status_code == 200
    assert_only_our_htmx_is_live(page.content.decode(), expect_requests=True)


@pytest.mark.parametrize("path", ["clients/", "cases/", "responses/"])
def test_pages_without_htmx_of_ours_disable_it_on_main(path, marked, client, hostile_world):
    client.force_login(marked.alice)
    page = client.get(f"/t/acme/{path}")
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<main id="main" class="page" tabindex="-1" hx-disable>', html)
    assert_only_our_htmx_is_live(html, expect_requests=False)


def test_on_the_staff_home_user_text_is_inside_hx_disable_and_our_htmx_is_not(marked, client, hostile_world):
    bob = marked.membership(marked.bob, marked.a)
    with tenant_context(marked.a):
        Case.objects.filter(pk=hostile_world.pk).update(assignee=bob)
        ClientModel.objects.filter(name=f"{MARK} Ltd").update(owner=bob)
    client.force_login(marked.bob)
    page = client.get("/t/acme/home/")
    assert page.status_code == 200
    assert_only_our_htmx_is_live(page.content.decode(), expect_requests=True)


def test_on_a_drafts_page_user_text_is_inside_hx_disable_and_our_form_is_not(marked, client, hostile_world):
    client.force_login(marked.carol)
    saved = client.post(f"/t/acme/announcements/new/case/{hostile_world.uuid}/",
                        {"action": "save", "subject": f"{MARK} subject", "you_said": f"{MARK} said", "we_did": f"{MARK} did"})
    assert saved.status_code == 302
    page = client.get(saved["Location"])
    assert page.status_code == 200
    assert_only_our_htmx_is_live(page.content.decode(), expect_requests=True)
